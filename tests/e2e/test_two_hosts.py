"""The deployment on several machines, on one: a web process and two hosts of workers that share
no folder, only Redis, PostgreSQL and an S3 server (moto's, a real process speaking S3).

Each "host" is its own set of real Celery workers (the Procfile roles: light, video, pose) with
its own working directory, VAR_DIR, STORAGE_DIR and SCRATCH_DIR; the web process has its own
too. Nothing reaches another host's disk: a file a step needs comes from the bucket.

Checked over HTTP: real push-up videos analysed (their pose chunks posed on both hosts), the
annotated video served by a redirect to a presigned URL and fetched from the store, a keypoints
analysis, an ops batch re-running both, a data export downloaded by redirect, the orphan sweeps
(a deleted user's files, an analysis folder with no row) and account deletion emptying the
user's prefix in the bucket. Skipped when no PostgreSQL answers at 127.0.0.1:5432.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import time
import uuid
import zipfile

import pytest
import requests

from tests.support.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from tests.support.stack import BIN, ROOT, Client, RedisServer, Stack, wait_until

PG = "postgresql://postgres@127.0.0.1:5432"
#: the Procfile's worker roles, one process each
ROLES = ("plans,feedback,webhooks,maintenance", "video", "pose")


def _admin():
    import psycopg

    return psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3)


def _postgres_reason() -> str | None:
    try:
        _admin().close()
        return None
    except Exception as exc:
        return f"no PostgreSQL at 127.0.0.1:5432 (trust auth) to share between hosts: {exc}"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    reason = _postgres_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("two-hosts")
    database = f"twohosts_{uuid.uuid4().hex[:10]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    bucket = f"rehab-{uuid.uuid4().hex[:8]}"
    moto = MotoServer(base / "moto").start()
    moto.create_bucket(bucket)
    redis = RedisServer(base / "redis").start()
    shared = {"database_url": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}",
              "redis": redis}
    s3 = {**moto.env(bucket, "deploy"), "POSE_CHUNK_S": "1"}
    web = Stack(base / "web", worker_queues=(), workdir=base / "web" / "cwd", extra_env=s3,
                **shared)
    # The orphan sweeps of this test run right after the files are made: a short grace.
    hosts = [Stack(base / name, worker_queues=ROLES, workdir=base / name / "cwd",
                   migrate=False, run_web=False, secret_key=web.secret_key,
                   extra_env={**s3, "ORPHAN_GRACE_S": "1"}, **shared)
             for name in ("host-a", "host-b")]
    stacks = [web, *hosts]
    try:
        web.prepare()
        for host in hosts:
            host.start()
        web.start_web()
        web.wait_ready(180)
        # Every worker of both hosts listens before the first upload (not just one of them).
        from celery import Celery

        import celery_config

        control = Celery(broker=redis.url)
        # the workers' transport options (the key separator), or they cannot reply
        control.conf.broker_transport_options = dict(celery_config.broker_transport_options)
        wait_until(lambda: len(control.control.ping(timeout=1.0)) == 2 * len(ROLES), 120,
                   interval=1, message="all six workers answer")
        control.close()
        yield {"web": web, "hosts": hosts, "moto": moto, "bucket": bucket, "prefix": "deploy/",
               "database": database}
    except Exception:
        for stack in stacks:
            for name in list(stack.processes):
                print(f"---- {stack.base_dir.name}/{name} ----\n{stack.logs(name)[-3000:]}")
        raise
    finally:
        for stack in stacks:  # all asked to stop at once, then each waited for
            for process in stack.processes.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for stack in stacks:
            stack.stop(redis=False)
        redis.stop()
        moto.stop()
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _s3(deployment):
    import boto3

    return boto3.client("s3", endpoint_url=deployment["moto"].endpoint_url,
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                        region_name=REGION)


def stored(deployment, prefix: str) -> list[str]:
    """Keys (relative to the deployment's prefix) in the bucket under `prefix`."""
    pages = _s3(deployment).get_paginator("list_objects_v2").paginate(
        Bucket=deployment["bucket"], Prefix=deployment["prefix"] + prefix)
    return sorted(o["Key"][len(deployment["prefix"]):] for page in pages
                  for o in page.get("Contents", []))


def put(deployment, key: str, data: bytes = b"x") -> None:
    _s3(deployment).put_object(Bucket=deployment["bucket"], Key=deployment["prefix"] + key,
                               Body=data)


def tasks_done(host: Stack, worker: int, task: str) -> int:
    """How many `task` runs succeeded in this host's worker of role ROLES[worker]."""
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] succeeded", host.logs(
        f"worker{worker}")))


def test_pipeline_on_two_hosts_sharing_only_redis_postgres_and_s3(deployment, shared_data,
                                                                   tmp_path):
    started = time.monotonic()
    web, hosts = deployment["web"], deployment["hosts"]
    anon = Client(web.url)
    patient = anon.register()
    user_id = patient.get("/api/v1/me").json()["id"]
    sample = shared_data / "pushfit_sample"

    # Videos at once: their pose chunks (1 s each) spread over both hosts' pose workers.
    uploads = {}
    for name in ("correct1.mp4", "wrong3.mp4", "wrong5.mp4"):
        response = patient.post("/api/v1/videos",
                                files={"file": (name, (sample / name).read_bytes())})
        assert response.status_code == 202, response.text
        uploads[name] = response.json()
    frames = json.loads((sample / "correct2.json").read_text())
    keypoints = patient.post("/api/v1/analyses", json={
        "fps": 25, "width": 640, "height": 360, "layout": "coco17",
        "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]})
    assert keypoints.status_code == 202, keypoints.text
    keypoints = keypoints.json()

    for name, accepted in uploads.items():
        job = patient.wait_job(accepted["job_id"], timeout=150)
        assert job["status"] == "succeeded", (name, job)
    assert patient.wait_job(keypoints["job_id"], timeout=60)["status"] == "succeeded"
    video = patient.get(f"/api/v1/videos/{uploads['correct1.mp4']['id']}").json()
    assert video["result"]["exercise"]["label"] == "pushup"
    assert video["result"]["rep_count"] >= 1
    kp = patient.get(f"/api/v1/analyses/{keypoints['id']}").json()["result"]
    assert kp["exercise"]["label"] == "pushup" and kp["rep_count"] >= 1

    # Every file is in the bucket, under the analysis' prefix; no host kept a shared folder.
    analysis_id = uploads["correct1.mp4"]["id"]
    patient.wait_replay(analysis_id)  # drawn after the job succeeded
    prefix = f"users/{user_id}/analyses/{analysis_id}/"
    keys = stored(deployment, prefix)
    assert {prefix + n for n in ("original.mp4", "keypoints.npz", "annotated.mp4")} <= set(keys)
    assert len([k for k in keys if k.startswith(prefix + "pose/chunk_")]) == 3  # 2.44 s
    assert stored(deployment, f"users/{user_id}/analyses/{keypoints['id']}/") == [
        f"users/{user_id}/analyses/{keypoints['id']}/keypoints.npz"]
    for stack in (web, *hosts):
        assert not (stack.base_dir / "storage" / "users").exists(), stack.base_dir

    # The annotated video: a redirect to a presigned URL of the store, fetched without the token.
    redirect = patient.get(f"/api/v1/videos/{analysis_id}/annotated.mp4", allow_redirects=False)
    assert redirect.status_code == 302, redirect.text
    location = redirect.headers["Location"]
    assert location.startswith(deployment["moto"].endpoint_url) and "Signature" in location
    mp4 = requests.get(location, timeout=30)
    assert mp4.status_code == 200 and mp4.headers["Content-Type"] == "video/mp4"
    out = tmp_path / "annotated.mp4"
    out.write_bytes(mp4.content)
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(out)],
        capture_output=True, check=True).stdout)
    assert probe["streams"][0]["codec_name"] == "h264"

    # Both hosts worked: pose chunks on each, and each host's workers consumed tasks.
    chunks = [tasks_done(host, 2, "video.pose_chunk") for host in hosts]
    assert sum(chunks) == 3 + 5 + 4 and all(chunks), chunks  # 2.44 s, 4.64 s, 4.0 s

    # Ops reprocessing: one batch re-runs the video and the keypoint analysis, on either host.
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
                    "--password", "ops-password-1", "--role", "ops"], cwd=ROOT, env=web.env,
                   check=True, capture_output=True)
    ops = anon.login(email, "ops-password-1")
    ops_id = ops.get("/api/v1/me").json()["id"]
    web.execute_sql("DELETE FROM analysis_results WHERE analysis_id IN (:a, :b)",
                    {"a": analysis_id, "b": keypoints["id"]})
    batch = ops.post("/api/v1/ops/reprocess", json={"user_id": user_id})
    assert batch.status_code == 202, batch.text
    job = ops.wait_job(batch.json()["job_id"], timeout=120)
    assert job["status"] == "succeeded", job
    assert job["result"]["reprocessed"] == 2 and job["result"]["skipped"] == 2, job["result"]
    for kind, some_id in (("videos", analysis_id), ("analyses", keypoints["id"])):
        assert len(patient.get(f"/api/v1/{kind}/{some_id}").json()["history"]) == 1
    # The same pose model: the stored keypoints were reused, no chunk posed again.
    assert sum(tasks_done(host, 2, "video.pose_chunk") for host in hosts) == sum(chunks)
    per_host = [sum(tasks_done(host, i, t) for i, t in ((1, "video.classify"),
                                                        (0, "maintenance.reprocess_batch")))
                for host in hosts]
    assert sum(per_host) >= 4 + 2 + 1, per_host  # 4 analyses, 2 re-runs, 1 batch

    # The data export: built on a worker from the bucket, downloaded by redirect.
    export = patient.get("/api/v1/me/export")
    assert export.status_code == 202, export.text
    assert patient.wait_job(export.json()["job_id"], timeout=60)["status"] == "succeeded"
    download = patient.get(f"/api/v1/me/export/{export.json()['job_id']}.zip",
                           allow_redirects=False)
    assert download.status_code == 302, download.text
    archive = zipfile.ZipFile(io.BytesIO(requests.get(download.headers["Location"],
                                                      timeout=30).content))
    assert f"files/analyses/{analysis_id}/original.mp4" in archive.namelist()

    # The orphan sweeps: a deleted user's files and an analysis folder with no row go; the
    # files of live users and analyses stay.
    ghost_user = f"users/{uuid.uuid4().hex}/analyses/a1/original.mp4"
    ghost_analysis = f"users/{user_id}/analyses/{uuid.uuid4().hex}/pose/chunk_0000.npz"
    kept = f"users/{ops_id}/notes.bin"
    for key in (ghost_user, ghost_analysis, kept):
        put(deployment, key)
    time.sleep(1.5)  # past ORPHAN_GRACE_S
    web.send_task("maintenance.sweep_orphan_files", queue="maintenance")
    web.send_task("maintenance.apply_retention", queue="maintenance")
    wait_until(lambda: not stored(deployment, ghost_user) and
               not stored(deployment, ghost_analysis), 30, interval=0.5,
               message="orphans swept")
    assert stored(deployment, kept) == [kept]
    assert set(keys) <= set(stored(deployment, prefix))

    # Account deletion: nothing of the user is left in the bucket.
    assert patient.delete("/api/v1/me").status_code == 204
    assert stored(deployment, f"users/{user_id}/") == []
    assert stored(deployment, f"users/{ops_id}/") == [kept]

    done = {host.base_dir.name: [len(re.findall(r"\] succeeded in", host.logs(f"worker{i}")))
                                 for i in range(len(ROLES))] for host in hosts}
    print(f"two-host pipeline checks: {time.monotonic() - started:.0f} s; tasks per host "
          f"(light, video, pose): {done}")
