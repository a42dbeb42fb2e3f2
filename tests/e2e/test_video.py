"""Video, photo and keypoint analysis through real workers (real ffmpeg, YOLO pose weights,
the trained classifier), over HTTP; and bad uploads refused or failed cleanly."""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest

from tests.support.stack import Client


def analyze(client: Client, path_or_bytes, filename: str, timeout: float = 300, **form) -> dict:
    data = path_or_bytes.read_bytes() if hasattr(path_or_bytes, "read_bytes") else path_or_bytes
    response = client.post("/api/v1/videos", files={"file": (filename, data)}, data=form)
    assert response.status_code == 202, response.text
    job = client.wait_job(response.json()["job_id"], timeout=timeout)
    video = client.get(f"/api/v1/videos/{response.json()['id']}").json()
    return {"job": job, "video": video, "id": response.json()["id"]}


def test_real_pushup_video(patient: Client, shared_data, tmp_path):
    run = analyze(patient, shared_data / "pushfit_sample" / "correct1.mp4", "correct1.mp4")
    assert run["job"]["status"] == "succeeded", run["job"]
    result = run["video"]["result"]
    assert result["exercise"]["label"] == "pushup"
    assert result["rep_count"] >= 1 and result["person_detected"] is True
    rep = result["reps"][0]
    assert rep["end_s"] > rep["start_s"] and rep["angles"]
    assert result["feedback"] and all(isinstance(s, str) and s for s in result["feedback"])
    assert result["models"]["pose"].startswith("yolo11n-pose")
    assert result["models"]["classifier"] and result["models"]["form"]
    # a correct push-up (PushFit's own label): judged good, no issue, encouragement only
    form = result["form"]
    assert form["verdict"] == "good" and form["score"] >= 0.5 and form["findings"] == []
    assert form["view"] == "side"
    assert not any(r["issues"] for r in result["reps"])
    assert result["feedback"][0].startswith("Good form")

    # The replay is drawn after the result is out; it appears in the analysis when stored.
    patient.wait_replay(run["id"])
    mp4 = patient.get(f"/api/v1/videos/{run['id']}/annotated.mp4")
    assert mp4.status_code == 200 and mp4.headers["Content-Type"] == "video/mp4"
    out = tmp_path / "annotated.mp4"
    out.write_bytes(mp4.content)
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(out)],
        capture_output=True, check=True).stdout)
    assert probe["streams"][0]["codec_name"] == "h264"


def test_photo_astronaut(patient: Client):
    from PIL import Image
    from skimage import data

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")
    run = analyze(patient, buffer.getvalue(), "astronaut.png")
    assert run["job"]["status"] == "succeeded", run["job"]
    result = run["video"]["result"]
    assert run["video"]["source"] == "image"
    assert result["person_detected"] is True and result["rep_count"] == 0


def test_keypoints_from_device(patient: Client, shared_data):
    frames = json.loads((shared_data / "pushfit_sample" / "correct2.json").read_text())
    body = {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}
    response = patient.post("/api/v1/analyses", json=body)
    assert response.status_code == 202, response.text
    job = patient.wait_job(response.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded", job
    result = patient.get(f"/api/v1/analyses/{response.json()['id']}").json()["result"]
    assert result["exercise"]["label"] == "pushup" and result["rep_count"] >= 1
    assert result["models"]["pose"] is None


@pytest.mark.parametrize("exercise,reps", [("squat", 4), ("jumping_jacks", 5)])
def test_synthetic_keypoints_known_label_and_count(patient: Client, exercise, reps):
    from domain.video.synthetic import generate

    sample = generate(exercise, n_reps=reps, fps=30, width=640, height=480, view="front_left",
                      seed=7)
    frames = np.nan_to_num(sample.keypoints, nan=0.0).round(2).tolist()
    response = patient.post("/api/v1/analyses", json={
        "fps": 30, "width": 640, "height": 480, "layout": "coco17", "frames": frames})
    assert response.status_code == 202, response.text
    job = patient.wait_job(response.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded", job
    result = patient.get(f"/api/v1/analyses/{response.json()['id']}").json()["result"]
    assert result["exercise"]["label"] == exercise
    assert result["rep_count"] == reps


def test_bad_keypoints_refused(patient: Client):
    response = patient.post("/api/v1/analyses", json={
        "fps": 30, "width": 640, "height": 480, "layout": "coco17", "frames": [[[1, 2]]]})
    assert response.status_code == 422 and "frames" in response.json()["errors"]


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def test_bad_uploads_refused_or_failed_cleanly(patient: Client, tmp_path, shared_data):
    text = patient.post("/api/v1/videos", files={"file": ("notes.mp4", b"hello, not a video")})
    assert text.status_code == 415 and text.json()["code"] == "unsupported_media"

    empty = patient.post("/api/v1/videos", files={"file": ("empty.mp4", b"")})
    assert empty.status_code in (415, 422)

    missing = patient.post("/api/v1/videos", data={"exercise": "squat"})
    assert missing.status_code == 422 and "file" in missing.json()["errors"]

    wav = tmp_path / "tone.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(wav))
    audio = patient.post("/api/v1/videos", files={"file": ("tone.wav", wav.read_bytes())})
    assert audio.status_code == 422 and audio.json()["code"] == "no_video_stream"

    real = (shared_data / "pushfit_sample" / "correct1.mp4").read_bytes()
    truncated = patient.post("/api/v1/videos", files={"file": ("cut.mp4", real[: len(real) // 3])})
    assert truncated.status_code in (202, 415, 422)
    if truncated.status_code == 202:
        job = patient.wait_job(truncated.json()["job_id"], timeout=120)
        assert job["status"] in ("succeeded", "failed")
        if job["status"] == "failed":
            assert job["error"]["code"]

    hint = patient.post("/api/v1/videos", files={"file": ("a.mp4", real)},
                        data={"exercise": "yoga"})
    assert hint.status_code == 422 and "exercise" in hint.json()["errors"]

    # Nothing refused left a file behind.
    assert patient.get("/api/v1/videos").json() == [] or all(
        v["status"] in ("queued", "running", "succeeded", "failed")
        for v in patient.get("/api/v1/videos").json())


def test_too_large_upload_is_413(stack, patient: Client):
    limit = int(stack.env["MAX_UPLOAD_BYTES"])
    response = patient.post("/api/v1/videos", files={"file": ("big.mp4", b"\0" * (limit + 1024))})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert list((stack.base_dir / "storage" / "incoming").glob("*")) == []


def test_video_with_nobody(patient: Client, tmp_path):
    clip = tmp_path / "bars.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=2", "-pix_fmt",
            "yuv420p", str(clip))
    run = analyze(patient, clip, "bars.mp4")
    assert run["job"]["status"] == "succeeded", run["job"]
    result = run["video"]["result"]
    assert result["person_detected"] is False
    assert result["exercise"]["label"] == "unknown" and result["rep_count"] == 0


def test_clinician_reference_upload(stack, anon: Client, shared_data):
    import subprocess as sp
    import time

    from tests.support.stack import BIN, ROOT

    email = f"ref-clin-{time.time_ns()}@example.com"
    sp.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
            "--password", "clinician-pass-1", "--role", "clinician"], cwd=ROOT, env=stack.env,
           check=True, capture_output=True)
    clinician = anon.login(email, "clinician-pass-1")
    clinic = clinician.post("/api/v1/clinics", json={"name": "Ref Clinic"}).json()
    patient = anon.register()
    patient.post("/api/v1/clinic/join", json={"invite_code": clinic["invite_code"]})
    outsider = anon.register()

    refused = patient.post("/api/v1/videos", data={"reference": "true"}, files={
        "file": ("c.mp4", (shared_data / "pushfit_sample" / "correct4.mp4").read_bytes())})
    assert refused.status_code == 403

    run = analyze(clinician, shared_data / "pushfit_sample" / "correct4.mp4", "correct4.mp4",
                  exercise="pushup", reference="true")
    assert run["job"]["status"] == "succeeded", run["job"]
    mine = [r for r in patient.get("/api/v1/references", params={"exercise": "pushup"}).json()
            if r["clinic_id"] == clinic["id"]]
    assert [r["id"] for r in mine] == [run["id"]]
    assert all(r["clinic_id"] is None for r in outsider.get("/api/v1/references").json())


def test_deleting_account_removes_files_and_rows(stack, anon: Client, shared_data):
    user = anon.register()
    user_id = user.get("/api/v1/me").json()["id"]
    run = analyze(user, shared_data / "pushfit_sample" / "wrong1.mp4", "wrong1.mp4")
    assert run["job"]["status"] == "succeeded"
    user_dir = stack.base_dir / "storage" / "users" / user_id
    assert any(user_dir.rglob("*.mp4"))
    assert user.delete("/api/v1/me").status_code == 204
    assert not user_dir.exists()
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.env["DATABASE_URL"])
    with engine.connect() as conn:
        for table in ("analyses", "jobs", "users", "events"):
            column = "id" if table == "users" else "user_id"
            count = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE {column} = :u"),
                                 {"u": user_id}).scalar()
            assert count == 0, table
    engine.dispose()


def test_train_classifier_cli_writes_a_versioned_artifact(stack, tmp_path):
    """A short trial run of `flask ml train-classifier` (the committed model took 30 epochs)."""
    from tests.support.stack import BIN, ROOT

    env = dict(stack.env, ARTIFACTS_DIR=str(tmp_path))
    run = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "ml", "train-classifier",
                          "--epochs", "1", "--synthetic-per-class", "4", "--max-penn", "60"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    artifact = tmp_path / "classifier" / "classifier-v1"
    for name in ("model.keras", "labels.json", "metrics.json", "confusion_matrix.png",
                 "training_curves.png"):
        assert (artifact / name).stat().st_size > 0, name
    metrics = json.loads((artifact / "metrics.json").read_text())
    assert "per_class" in metrics["real_validation"]
