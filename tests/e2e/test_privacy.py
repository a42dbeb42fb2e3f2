"""Privacy through the real stack: deleting an analysis (also while its job runs), retention of
original videos, the user's data export, and account deletion removing expert references."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import time
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.e2e.test_jobs_and_plans import make_plan
from tests.support.stack import BIN, ROOT, Client, Stack, wait_until


def rows(stack: Stack, statement: str, **params) -> list[dict]:
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(statement), params)]
    finally:
        engine.dispose()


def keypoints_body(shared_data: Path, name: str = "correct2.json") -> dict:
    frames = json.loads((shared_data / "pushfit_sample" / name).read_text())
    return {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}


def analyze_keypoints(client: Client, shared_data: Path) -> dict:
    response = client.post("/api/v1/analyses", json=keypoints_body(shared_data))
    assert response.status_code == 202, response.text
    job = client.wait_job(response.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded", job
    return {"id": response.json()["id"], "job_id": job["id"]}


def upload_video(client: Client, path: Path, wait: bool = True, **form) -> dict:
    response = client.post("/api/v1/videos", files={"file": (path.name, path.read_bytes())},
                           data=form)
    assert response.status_code == 202, response.text
    body = response.json()
    if wait:
        job = client.wait_job(body["job_id"], timeout=240)
        assert job["status"] == "succeeded", job
        client.wait_replay(body["id"])  # the replay is drawn after the job succeeded
    return body


def folder(stack: Stack, client: Client, analysis_id: str) -> Path:
    user_id = client.get("/api/v1/me").json()["id"]
    return stack.base_dir / "storage" / "users" / user_id / "analyses" / analysis_id


def test_delete_analysis_removes_results_and_files(stack: Stack, anon: Client, patient: Client,
                                                   shared_data):
    done = analyze_keypoints(patient, shared_data)
    stored = folder(stack, patient, done["id"])
    assert (stored / "keypoints.npz").is_file()
    assert rows(stack, "SELECT id FROM analysis_results WHERE analysis_id = :a", a=done["id"])

    stranger = anon.register()
    assert stranger.delete(f"/api/v1/analyses/{done['id']}").status_code == 404
    assert stranger.delete(f"/api/v1/videos/{done['id']}").status_code == 404
    assert stored.is_dir() and patient.get(f"/api/v1/analyses/{done['id']}").status_code == 200

    response = patient.delete(f"/api/v1/analyses/{done['id']}")
    assert response.status_code == 204, response.text
    assert patient.get(f"/api/v1/analyses/{done['id']}").status_code == 404
    assert patient.delete(f"/api/v1/analyses/{done['id']}").status_code == 404
    assert not stored.exists()
    assert not rows(stack, "SELECT id FROM analyses WHERE id = :a", a=done["id"])
    assert not rows(stack, "SELECT id FROM analysis_results WHERE analysis_id = :a", a=done["id"])
    # The job's copy of the result and the events announcing it went too.
    job = patient.get(f"/api/v1/jobs/{done['job_id']}").json()
    assert job["result"] is None
    assert not [e for e in rows(stack, "SELECT data FROM events")
                if done["id"] in str(e["data"])]


def test_delete_running_video_cancels_its_job(stack: Stack, patient: Client, shared_data):
    accepted = upload_video(patient, shared_data / "pushfit_sample" / "correct1.mp4", wait=False)
    job_id, analysis_id = accepted["job_id"], accepted["id"]
    stored = folder(stack, patient, analysis_id)

    # Delete while a pose task is working on it.
    wait_until(lambda: patient.get(f"/api/v1/jobs/{job_id}").json().get("stage") == "pose", 120,
               interval=0.05, message="pose started")
    assert patient.delete(f"/api/v1/videos/{analysis_id}").status_code == 204
    job = patient.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "canceled" and job["error"]["code"] == "analysis_deleted", job
    assert not stored.exists()

    # The pose task that was running finishes, sees the deletion and removes what it wrote; the
    # tasks after it stop at their next step (logged as skipped).
    wait_until(lambda: any(job_id in line and "skipping" in line
                           for line in stack.logs("worker1").splitlines()), 120,
               message="the pipeline stopped")
    time.sleep(1.0)
    assert not stored.exists(), sorted(str(p) for p in stored.rglob("*"))
    assert patient.get(f"/api/v1/jobs/{job_id}").json()["status"] == "canceled"


def test_retention_removes_originals_keeps_keypoints_and_results(stack: Stack, patient: Client,
                                                                 shared_data):
    old = upload_video(patient, shared_data / "pushfit_sample" / "correct1.mp4")
    young = upload_video(patient, shared_data / "pushfit_sample" / "correct2.mp4")
    before = patient.get(f"/api/v1/videos/{old['id']}").json()
    assert before["original_available"] is True and before["original_deleted_at"] is None
    assert patient.get(f"/api/v1/videos/{old['id']}/annotated.mp4").status_code == 200
    old_dir, young_dir = folder(stack, patient, old["id"]), folder(stack, patient, young["id"])
    assert {p.name for p in old_dir.iterdir()} >= {"original.mp4", "annotated.mp4",
                                                   "keypoints.npz"}

    # Age the first upload past the retention period (30 days by default), then run the task
    # beat would run.
    aged = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).replace(tzinfo=None)
    stack.execute_sql("UPDATE analyses SET created_at = :t WHERE id = :id",
                      {"t": aged.strftime("%Y-%m-%d %H:%M:%S.%f"), "id": old["id"]})
    stack.send_task("maintenance.apply_retention", queue="maintenance")
    wait_until(lambda: not (old_dir / "original.mp4").exists(), 60, message="original removed")

    assert not (old_dir / "annotated.mp4").exists()
    assert (old_dir / "keypoints.npz").is_file()
    after = patient.get(f"/api/v1/videos/{old['id']}").json()
    assert after["result"] == before["result"] and after["status"] == "succeeded"
    assert after["original_available"] is False and after["original_deleted_at"]
    assert after["annotated_url"] is None
    gone = patient.get(f"/api/v1/videos/{old['id']}/annotated.mp4")
    assert gone.status_code == 410 and gone.json()["code"] == "original_deleted", gone.text
    # The young upload is untouched.
    assert (young_dir / "original.mp4").is_file() and (young_dir / "annotated.mp4").is_file()
    assert patient.get(f"/api/v1/videos/{young['id']}").json()["original_available"] is True
    assert patient.get(f"/api/v1/videos/{young['id']}/annotated.mp4").status_code == 200


def _zip_text(archive: zipfile.ZipFile) -> str:
    return "\n".join(archive.read(name).decode("utf-8", "replace")
                     for name in archive.namelist())


def test_export_holds_the_users_rows_and_files_and_nothing_else(stack: Stack, anon: Client,
                                                                 shared_data):
    me, other = anon.register(), anon.register()
    my_id = me.get("/api/v1/me").json()["id"]
    other_id = other.get("/api/v1/me").json()["id"]
    plan = make_plan(me)
    feedback = me.post(f"/api/v1/plans/{plan['id']}/feedback", json={"rating": "doable",
                                                                    "note": "knee felt fine"})
    assert feedback.status_code == 202
    assert me.wait_job(feedback.json()["job_id"])["status"] == "succeeded"
    assert me.post("/api/v1/readiness", json={"sleep_hours": 7.5, "resting_hr": 58,
                                              "hrv_ms": 61}).status_code == 201
    hook = me.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook",
                                             "events": ["plan.generated"]}).json()
    video = upload_video(me, shared_data / "pushfit_sample" / "correct3.mp4")
    points = analyze_keypoints(me, shared_data)
    other_plan = make_plan(other)
    other_points = analyze_keypoints(other, shared_data)

    response = me.get("/api/v1/me/export")
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/api/v1/jobs/{response.json()['job_id']}"
    job = me.wait_job(response.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded" and job["kind"] == "account.export", job
    url = job["result"]["download_url"]
    assert url == f"/api/v1/me/export/{job['id']}.zip"

    # Only the owner downloads it.
    assert other.get(url).status_code == 404
    assert anon.get(url).status_code == 401
    download = me.get(url)
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = set(archive.namelist())
    data = {name.removeprefix("data/").removesuffix(".json"): json.loads(archive.read(name))
            for name in names if name.startswith("data/")}

    assert [u["email"] for u in data["users"]] == [me.email]
    assert "password_hash" not in data["users"][0] and "token_version" not in data["users"][0]
    assert data["profiles"][0]["user_id"] == my_id
    assert {p["id"] for p in data["plans"]} >= {plan["id"]}
    assert [f["note"] for f in data["plan_feedback"]] == ["knee felt fine"]
    assert len(data["readiness"]) == 1
    assert {a["id"] for a in data["analyses"]} == {video["id"], points["id"]}
    assert {r["analysis_id"] for r in data["analysis_results"]} == {video["id"], points["id"]}
    assert {j["kind"] for j in data["jobs"]} >= {"plan.generate", "feedback.process",
                                                 "video.analyze", "keypoints.analyze"}
    endpoint = data["webhook_endpoints"][0]
    assert endpoint["url"] == "http://127.0.0.1:9/hook"
    assert not [k for k in endpoint if "secret" in k]
    for folder_name in (f"files/analyses/{video['id']}/", f"files/analyses/{points['id']}/"):
        assert f"{folder_name}keypoints.npz" in names, sorted(names)
    assert f"files/analyses/{video['id']}/original.mp4" in names
    assert f"files/analyses/{video['id']}/annotated.mp4" in names
    assert archive.read(f"files/analyses/{video['id']}/original.mp4") == (
        shared_data / "pushfit_sample" / "correct3.mp4").read_bytes()
    assert "manifest.json" in names

    everything = _zip_text(archive)
    for foreign in (other.email, other_id, other_plan["id"], other_points["id"]):
        assert foreign not in everything, foreign
    assert hook["secret"] not in everything
    assert hook["secret"].removeprefix("whsec_") not in everything


def test_export_in_progress_is_not_started_twice(stack: Stack, patient: Client):
    first = patient.get("/api/v1/me/export")
    second = patient.get("/api/v1/me/export")
    assert first.status_code == second.status_code == 202
    if patient.get(f"/api/v1/jobs/{first.json()['job_id']}").json()["status"] in ("queued",
                                                                                  "running"):
        assert second.json()["job_id"] == first.json()["job_id"]
    assert patient.wait_job(second.json()["job_id"])["status"] == "succeeded"


def test_account_deletion_removes_references_built_from_uploads(stack: Stack, anon: Client,
                                                                shared_data):
    email = f"clin-{uuid.uuid4().hex[:10]}@example.com"
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
                    "--password", "clinician-pass-1", "--role", "clinician"], cwd=ROOT,
                   env=stack.env, check=True, capture_output=True)
    clinician = anon.login(email, "clinician-pass-1")
    assert clinician.post("/api/v1/clinics", json={"name": "Privacy Clinic"}).status_code == 201
    upload = upload_video(clinician, shared_data / "pushfit_sample" / "correct4.mp4",
                          exercise="pushup", reference="true")
    assert rows(stack, 'SELECT id FROM "references" WHERE id = :id', id=upload["id"])
    assert upload["id"] in {r["id"] for r in clinician.get("/api/v1/references").json()}
    user_id = clinician.get("/api/v1/me").json()["id"]

    assert clinician.delete("/api/v1/me").status_code == 204
    assert not rows(stack, 'SELECT id FROM "references" WHERE id = :id', id=upload["id"])
    assert not rows(stack, "SELECT id FROM analyses WHERE user_id = :u", u=user_id)
    assert not (stack.base_dir / "storage" / "users" / user_id).exists()
