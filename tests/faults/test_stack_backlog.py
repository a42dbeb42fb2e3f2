"""A real backlog: more work than the workers clear within the sweeper's (shortened) windows.

One video/pose worker process faces several videos and keypoint analyses at once, so jobs wait
in the broker many times longer than REQUEUE_AFTER_S and STALL_AFTER_S (a busy hour, a large
reprocessing batch). A waiting job is not a lost one: every job must end `succeeded`, having run
its pipeline once: never re-sent, no task run twice, one result, one event.
"""

from __future__ import annotations

import json
import math
import time

import pytest

from tests.faults.conftest import create_user, query, register, running_stack
from tests.support.stack import wait_until

pytestmark = pytest.mark.faults

REQUEUE_AFTER_S = 2
STALL_AFTER_S = 3
MAX_RESENDS = 2
CHUNK_S = 1


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {
        "SWEEP_INTERVAL_S": "1",
        "REQUEUE_AFTER_S": str(REQUEUE_AFTER_S),
        "STALL_AFTER_S": str(STALL_AFTER_S),
        "MAX_RESENDS": str(MAX_RESENDS),
        # Several pose tasks per short video: a video's chunks wait behind other work while
        # its heartbeat goes silent.
        "POSE_CHUNK_S": str(CHUNK_S),
    }
    with running_stack(tmp_path_factory.mktemp("faults-backlog"), beat=True, extra_env=env,
                       worker_queues=("plans,feedback,webhooks,maintenance", "video,pose"),
                       preload_models=True) as running:
        yield running


def keypoints_body(shared_data, name: str) -> dict:
    frames = json.loads((shared_data / "pushfit_sample" / f"{name}.json").read_text())
    return {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}


def jobs_by_id(stack, job_ids) -> dict[str, dict]:
    rows = query(stack, "SELECT * FROM jobs")
    return {row["id"]: row for row in rows if row["id"] in set(job_ids)}


def seconds(value) -> float:
    from datetime import datetime

    return datetime.fromisoformat(str(value)).timestamp()


def test_backlog_longer_than_the_stall_window_runs_every_job_once(stack, shared_data):
    client = register(stack)
    accepted: dict[str, dict] = {}  # job id -> {"analysis": id, "kind": ...}
    # Enough work that the last job waits well past the windows on a fast machine too (two
    # videos and eight analyses ended in 11 s on one, 1 s short of the check below).
    for name in ("correct2", "correct3", "correct4", "correct5"):
        path = shared_data / "pushfit_sample" / f"{name}.mp4"
        response = client.post("/api/v1/videos", files={"file": (f"{name}.mp4",
                                                                  path.read_bytes())})
        assert response.status_code == 202, response.text
        accepted[response.json()["job_id"]] = {"analysis": response.json()["id"],
                                               "kind": "video"}
    for index in range(16):
        name = f"correct{1 + index % 6}"
        response = client.post("/api/v1/analyses", json=keypoints_body(shared_data, name))
        assert response.status_code == 202, response.text
        accepted[response.json()["job_id"]] = {"analysis": response.json()["id"],
                                               "kind": "keypoints"}
    submitted = time.time()

    def all_ended():
        rows = jobs_by_id(stack, accepted)
        return rows if all(r["status"] in ("succeeded", "failed", "canceled")
                           for r in rows.values()) else None

    rows = wait_until(all_ended, 180, interval=1, message="every job ended")
    elapsed = time.time() - submitted
    failed = {j: (r["status"], r["error_code"]) for j, r in rows.items()
              if r["status"] != "succeeded"}
    assert not failed, (f"jobs failed although they only waited ({elapsed:.0f}s of work): "
                        f"{failed}\n--- beat ---\n{stack.logs('beat')[-2000:]}")

    # The backlog was real: work waited far longer than the old sweeper let a job wait
    # (REQUEUE_AFTER_S per re-send, MAX_RESENDS re-sends, then job_stalled).
    waits = sorted(seconds(r["finished_at"]) - seconds(r["created_at"]) for r in rows.values())
    assert waits[-1] > (MAX_RESENDS + 2) * max(REQUEUE_AFTER_S, STALL_AFTER_S), waits

    events = query(stack, "SELECT type, data FROM events WHERE type LIKE 'video.analysis.%'")
    announced: dict[str, int] = {}
    for event in events:
        data = event["data"] if isinstance(event["data"], dict) else json.loads(event["data"])
        announced[data["job_id"]] = announced.get(data["job_id"], 0) + 1
    for job_id, job in accepted.items():
        row = rows[job_id]
        # Never re-sent: a job waiting for a worker is not a lost job.
        assert row["resends"] == 0, (job_id, row)
        # Each task of the pipeline started once (`attempts` counts task starts):
        # video.start, [pose chunk × N, assemble,] classify (the replay after the job is
        # not a task of the job).
        expected = 2
        if job["kind"] == "video":
            video = client.get(f"/api/v1/videos/{job['analysis']}").json()
            expected += 1 + math.ceil(video["media"]["duration_s"] / CHUNK_S)
        assert row["attempts"] == expected, (job_id, job["kind"], row["attempts"], expected)
        assert row["pipeline_round"] == 0
        results = query(stack, "SELECT job_id FROM analysis_results WHERE analysis_id = :id",
                        {"id": job["analysis"]})
        assert [r["job_id"] for r in results] == [job_id]
        assert announced.get(job_id) == 1, (job_id, announced.get(job_id))


def test_reprocessing_a_clinic_reference_video(stack, shared_data):
    """A clinician's reference video, re-run by an ops batch: no collision on the reference's
    key, the child and the batch end succeeded, the one reference now comes from the re-run."""
    clinician = create_user(stack, "clinician")
    assert clinician.post("/api/v1/clinics", json={"name": "Ref clinic"}).status_code == 201
    path = shared_data / "pushfit_sample" / "correct2.mp4"
    accepted = clinician.post("/api/v1/videos", data={"reference": "true", "exercise": "pushup"},
                              files={"file": ("ref.mp4", path.read_bytes())})
    assert accepted.status_code == 202, accepted.text
    first = accepted.json()
    assert clinician.wait_job(first["job_id"], timeout=120)["status"] == "succeeded"

    def references() -> list[dict]:
        return query(stack, "SELECT id, exercise, meta, clinic_id FROM \"references\" "
                            "WHERE id = :id", {"id": first["id"]})

    [before] = references()
    assert before["exercise"] == "pushup"
    # As if the analysis had been made by older models: the batch must redo it.
    stack.execute_sql("DELETE FROM analysis_results WHERE analysis_id = :id", {"id": first["id"]})
    ops = create_user(stack, "ops")
    batch = ops.post("/api/v1/ops/reprocess", json={"user_id": clinician.user_id})
    assert batch.status_code == 202, batch.text
    job = ops.wait_job(batch.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded" and job["result"]["reprocessed"] == 1, job
    [child] = query(stack, "SELECT id, status, priority FROM jobs WHERE parent_id = :b",
                    {"b": batch.json()["job_id"]})
    assert child["status"] == "succeeded" and child["priority"] == 8
    [after] = references()
    meta = after["meta"] if isinstance(after["meta"], dict) else json.loads(after["meta"])
    assert after["exercise"] == "pushup" and after["clinic_id"] == before["clinic_id"]
    assert meta["job_id"] == child["id"]  # updated from the re-run, in place
    listed = clinician.get("/api/v1/references", params={"exercise": "pushup"}).json()
    assert [r for r in listed if r.get("id") == first["id"]], listed
    assert clinician.get(f"/api/v1/videos/{first['id']}").json()["status"] == "succeeded"
