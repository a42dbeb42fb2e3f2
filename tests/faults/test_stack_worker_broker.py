"""Workers killed mid-job and Redis restarted under load, on a stack of real processes.

The database is the record of truth: whatever dies, every accepted job must end, exactly once.
"""

from __future__ import annotations

import math
import os
import signal
import time

import pytest
import requests

from tests.e2e.test_jobs_and_plans import ACL_BEGINNER
from tests.faults.conftest import (
    assert_error_shape,
    query,
    register,
    running_stack,
    wait_status,
)
from tests.support.stack import RedisServer, wait_until

pytestmark = pytest.mark.faults

TERMINAL = ("succeeded", "failed", "canceled")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {
        # Short pose chunks: a heartbeat every few seconds, and several tasks per video.
        "POSE_CHUNK_S": "4",
        # The sweeper acts in seconds rather than minutes.
        "SWEEP_INTERVAL_S": "3",
        "REQUEUE_AFTER_S": "15",
        "STALL_AFTER_S": "20",
    }
    with running_stack(tmp_path_factory.mktemp("faults-proc"), beat=True,
                       extra_env=env) as running:
        yield running


def upload(client, path, name="clip.mp4") -> dict:
    response = client.post("/api/v1/videos", files={"file": (name, path.read_bytes())})
    assert response.status_code == 202, response.text
    return response.json()


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except FileNotFoundError:
        return []


def job_row(stack, job_id: str) -> dict:
    return query(stack, "SELECT * FROM jobs WHERE id = :id", {"id": job_id})[0]


def result_rows(stack, analysis_id: str) -> list[dict]:
    return query(stack, "SELECT id, job_id FROM analysis_results WHERE analysis_id = :id",
                 {"id": analysis_id})


def describe(stack, client, job_id) -> str:
    body = client.get(f"/api/v1/jobs/{job_id}").json()
    row = job_row(stack, job_id)
    return (f"job={body} attempts={row['attempts']} heartbeat_at={row['heartbeat_at']}\n"
            f"--- beat ---\n{stack.logs('beat')[-1500:]}")


def assert_analysed_once(stack, client, accepted: dict, job: dict) -> None:
    assert job["status"] == "succeeded", describe(stack, client, accepted["job_id"])
    video = client.get(f"/api/v1/videos/{accepted['id']}").json()
    assert video["status"] == "succeeded" and video["result"]["rep_count"] >= 1
    assert len(video["history"]) == 1, video["history"]
    assert len(result_rows(stack, accepted["id"])) == 1
    # One job, one analysis: nothing was duplicated by the redelivery.
    jobs = query(stack, "SELECT id FROM jobs WHERE subject_id = :id", {"id": accepted["id"]})
    assert [j["id"] for j in jobs] == [accepted["job_id"]]


def test_pool_process_sigkill_mid_pose_is_redelivered(stack, long_clip):
    """The pool child dies (OOM killer); the worker survives: reject_on_worker_lost requeues."""
    client = register(stack)
    accepted = upload(client, long_clip)
    wait_status(client, accepted["job_id"], ("running",), 90, stage="pose")
    main = stack.processes["worker1"].pid
    pool = children(main)
    assert pool, "the video worker has no pool process"
    for pid in pool:
        os.kill(pid, signal.SIGKILL)
    job = client.wait_job(accepted["job_id"], timeout=150)
    assert_analysed_once(stack, client, accepted, job)
    assert stack.processes["worker1"].poll() is None
    # `attempts` counts task starts: video.start, one per chunk, assemble, analyze, render;
    # the chunk redelivered after the kill adds one.
    duration = client.get(f"/api/v1/videos/{accepted['id']}").json()["media"]["duration_s"]
    steps = 4 + math.ceil(duration / 4)
    attempts = job_row(stack, accepted["job_id"])["attempts"]
    assert steps <= attempts <= steps + 2, (attempts, steps)


def test_worker_sigkill_mid_job_then_new_worker_finishes_it_once(stack, long_clip):
    """The whole video worker (main process and pool) is SIGKILLed while it poses a video.

    Its unacknowledged message sits in Redis' unacked set until the visibility timeout; the
    job must still end `succeeded`, once, when a new worker comes up (the beat sweeper runs).
    """
    client = register(stack)
    accepted = upload(client, long_clip)
    wait_status(client, accepted["job_id"], ("running",), 90, stage="pose")
    stack.stop_process("worker1", signal.SIGKILL)
    stack.start_worker("worker1", "video,pose")
    job = wait_all_ended(stack, client, [accepted["job_id"]], timeout=150)[accepted["job_id"]]
    assert_analysed_once(stack, client, accepted, job)


def wait_all_ended(stack, client, job_ids: list[str], timeout: float) -> dict[str, dict]:
    """Wait for the jobs to end (the sweeper re-sends those whose messages were lost)."""
    ended: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(ended) < len(job_ids):
        for job_id in job_ids:
            if job_id not in ended:
                body = client.get(f"/api/v1/jobs/{job_id}").json()
                if body["status"] in TERMINAL:
                    ended[job_id] = body
        time.sleep(0.5)
    pending = [j for j in job_ids if j not in ended]
    assert not pending, "jobs never ended:\n" + "\n".join(
        describe(stack, client, j) for j in pending)
    return ended


def test_redis_restart_with_jobs_queued_and_running(stack, long_clip, shared_data):
    client = register(stack)
    assert client.put("/api/v1/profile", json=ACL_BEGINNER).status_code == 200
    accepted: list[str] = []
    video = upload(client, long_clip)
    accepted.append(video["job_id"])
    short = upload(client, shared_data / "pushfit_sample" / "correct2.mp4", "correct2.mp4")
    accepted.append(short["job_id"])
    for _ in range(3):
        response = client.post("/api/v1/plans")
        assert response.status_code == 202, response.text
        accepted.append(response.json()["job_id"])
    wait_status(client, video["job_id"], ("running",), 90, stage="pose")

    redis_dir, port = stack.redis.directory, stack.redis.port
    stack.redis.stop()
    during = []
    try:
        assert requests.get(stack.url + "/readyz", timeout=10).status_code == 503
        for _ in range(2):
            response = client.post("/api/v1/plans")
            if response.status_code == 202:
                during.append(response.json()["job_id"])
            else:
                assert_error_shape(response, (503,))
        time.sleep(2)
    finally:
        stack.redis = RedisServer(redis_dir, port=port).start()
    # Accepted while the broker was down: the message never reached Redis; the sweeper sends
    # queued jobs again after REQUEUE_AFTER_S.
    accepted += during

    stack.wait_ready(60)
    ended = wait_all_ended(stack, client, accepted, timeout=180)
    # A Redis restart (a routine deploy) makes no job fail: all of them end succeeded.
    failed = {j: (b["kind"], b["stage"], b["error"]) for j, b in ended.items()
              if b["status"] != "succeeded"}
    assert not failed, f"jobs failed only because Redis restarted: {failed}"
    # No plan was generated twice.
    plans = client.get("/api/v1/plans").json()
    made = [b for b in ended.values() if b["kind"] == "plan.generate"
            and b["status"] == "succeeded"]
    assert len(plans) == len(made), (len(plans), len(made))
    for accepted_video in (video, short):
        if ended[accepted_video["job_id"]]["status"] == "succeeded":
            assert len(result_rows(stack, accepted_video["id"])) == 1
    # The system recovered: a new job runs end to end.
    after = client.post("/api/v1/plans")
    assert after.status_code == 202
    assert client.wait_job(after.json()["job_id"], timeout=60)["status"] == "succeeded"


def test_cancel_a_batch_while_its_children_wait(stack, shared_data):
    """Ops cancel a reprocessing batch whose children are still queued (the video worker is
    down): the batch and its children end canceled, the analyses keep their earlier results,
    and nothing runs for them when the worker is back."""
    import json

    from tests.faults.conftest import create_user

    client = register(stack)
    frames = json.loads((shared_data / "pushfit_sample" / "correct5.json").read_text())
    body = {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}
    analyses = []
    for _ in range(3):
        accepted = client.post("/api/v1/analyses", json=body).json()
        assert client.wait_job(accepted["job_id"], timeout=90)["status"] == "succeeded"
        analyses.append(accepted["id"])
    user_id = client.get("/api/v1/me").json()["id"]
    stack.execute_sql("DELETE FROM analysis_results WHERE analysis_id IN "
                      "(SELECT id FROM analyses WHERE user_id = :u)", {"u": user_id})

    ops = create_user(stack, "ops")
    stack.stop_process("worker1", signal.SIGTERM)
    try:
        batch = ops.post("/api/v1/ops/reprocess", json={"user_id": user_id}).json()
        wait_until(lambda: len(query(stack, "SELECT id FROM jobs WHERE parent_id = :b",
                                     {"b": batch["job_id"]})) == 3, 30, message="children")
        canceled = ops.post(f"/api/v1/jobs/{batch['job_id']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        again = ops.post(f"/api/v1/jobs/{batch['job_id']}/cancel")
        assert again.status_code == 409
    finally:
        stack.start_worker("worker1", "video,pose")
    time.sleep(5)  # the worker drains the children's messages: they find their jobs ended
    statuses = [r["status"] for r in query(stack, "SELECT status FROM jobs WHERE parent_id = :b",
                                           {"b": batch["job_id"]})]
    assert statuses == ["canceled"] * 3
    for analysis_id in analyses:
        video = client.get(f"/api/v1/analyses/{analysis_id}").json()
        assert video["status"] == "succeeded" and video["result"]["rep_count"] >= 1
        assert result_rows(stack, analysis_id) == []  # nothing was re-run
    assert ops.get(f"/api/v1/jobs/{batch['job_id']}").json()["status"] == "canceled"
