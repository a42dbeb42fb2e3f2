"""Sustained load: pool processes are recycled many times while both cores are busy.

Every Celery pool process is replaced after `WORKER_MAX_TASKS_PER_CHILD` tasks. A replacement
must report ready within Celery's `worker_proc_alive_timeout`, or Celery kills it and starts
another. Here the limit is 6 tasks, the workers load their models as the Procfile asks
(`WORKER_MODELS`), and CPU burners keep both cores saturated while 2-3x the limit of keypoint
analyses (video worker) and plans (light worker) go through. Every job must end `succeeded`,
and no replacement process may be killed for being slow to start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.e2e.test_jobs_and_plans import ACL_BEGINNER
from tests.faults.conftest import register, running_stack
from tests.support.stack import Client

pytestmark = pytest.mark.faults

MAX_TASKS_PER_CHILD = 6
ANALYSES = 9  # keypoints.analyze = video.start, .classify, then .render: 27 tasks, 4.5x the limit
PLANS = 18  # plans.generate on 2 light pool processes: 3x the limit
BURNERS = 2  # busy loops, one per core
UP_TIMEOUT = "Timed out waiting for UP message"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"WORKER_MAX_TASKS_PER_CHILD": str(MAX_TASKS_PER_CHILD),
           # one user sends all the jobs: lift the per-user request limits
           "RATE_LIMIT_PLANS": "10000/minute", "RATE_LIMIT_KEYPOINTS": "10000/minute",
           "RATE_LIMIT_REGISTER_PER_IP": "10000/minute", "RATE_LIMIT_LOGIN_PER_IP": "10000/minute"}
    with running_stack(tmp_path_factory.mktemp("faults-recycle"), extra_env=env,
                       preload_models=True,
                       worker_queues=("plans,feedback,webhooks,maintenance*2", "video")) as running:
        yield running


def cpu_burners(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"],
                             start_new_session=True) for _ in range(count)]


def process_starts(log: str) -> list[dict]:
    starts = []
    for line in log.splitlines():
        if '"worker process started"' in line:
            starts.append(json.loads(line[line.index("{"):]))
    return starts


def model_loads(log: str) -> list[dict]:
    return [json.loads(line[line.index("{"):]) for line in log.splitlines()
            if '"models loaded"' in line]


def test_recycled_workers_come_back_under_cpu_pressure(stack, shared_data):
    client = register(stack)
    # One patient per plan: two plans of one patient generated at the same moment race for the
    # same version number (a separate problem, not the one under test here).
    patients = [register(stack) for _ in range(PLANS)]
    for patient in patients:
        assert patient.put("/api/v1/profile", json=ACL_BEGINNER).status_code == 200
    frames = json.loads((shared_data / "pushfit_sample" / "correct5.json").read_text())
    body = {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}

    burners = cpu_burners(BURNERS)
    started = time.monotonic()
    try:
        owners: dict[str, Client] = {}
        for index in range(max(ANALYSES, PLANS)):
            if index < ANALYSES:
                response = client.post("/api/v1/analyses", json=body)
                assert response.status_code == 202, response.text
                owners[response.json()["job_id"]] = client
            if index < PLANS:
                response = patients[index].post("/api/v1/plans")
                assert response.status_code == 202, response.text
                owners[response.json()["job_id"]] = patients[index]
        job_ids = list(owners)

        ended: dict[str, dict] = {}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(ended) < len(job_ids):
            if sum(stack.logs(name).count(UP_TIMEOUT) for name in ("worker0", "worker1")) > 3:
                break  # a restart loop: these jobs would never end
            for job_id in job_ids:
                if job_id not in ended:
                    job = owners[job_id].get(f"/api/v1/jobs/{job_id}").json()
                    if job["status"] in ("succeeded", "failed", "canceled"):
                        ended[job_id] = job
            time.sleep(1)
        elapsed = time.monotonic() - started
        # A job ends with its result; its replay task runs after it: let those finish too, so
        # every task counted below has run.
        wait_deadline = time.monotonic() + 90
        while time.monotonic() < wait_deadline and sum(
                "video.render[" in line and "succeeded in" in line
                for line in stack.logs("worker1").splitlines()) < ANALYSES:
            time.sleep(1)
    finally:
        for burner in burners:
            os.killpg(burner.pid, signal.SIGKILL)
            burner.wait(10)

    logs = {name: stack.logs(name) for name in ("worker0", "worker1")}
    kills = {name: log.count(UP_TIMEOUT) for name, log in logs.items()}
    pending = [j for j in job_ids if j not in ended]
    assert not pending, (
        f"{len(pending)} of {len(job_ids)} jobs never ended in {elapsed:.0f}s; pool processes "
        f"killed before they came up: {kills}\n{logs['worker1'][-3000:]}")
    failed = {j: (b["kind"], b["error"]) for j, b in ended.items() if b["status"] != "succeeded"}
    assert not failed, failed
    # No replacement process was killed for being slow to start (the restart loop).
    assert kills == {"worker0": 0, "worker1": 0}, kills

    # The recycling really happened, and every replacement loaded its models after fork.
    starts = {name: process_starts(log) for name, log in logs.items()}
    light_recycles = len(starts["worker0"]) - 2
    video_recycles = len(starts["worker1"]) - 1
    assert video_recycles >= 3 * ANALYSES // MAX_TASKS_PER_CHILD - 1, starts["worker1"]
    assert light_recycles >= PLANS // MAX_TASKS_PER_CHILD - 1, starts["worker0"]
    # Replacement processes loaded their models themselves, after fork. (A process that only
    # ran tasks needing no model may have been replaced before its model finished loading.)
    loads = {name: model_loads(log) for name, log in logs.items()}
    for name, first in (("worker0", 2), ("worker1", 1)):
        first_pids = {s["pid"] for s in starts[name][:first]}
        assert {load["pid"] for load in loads[name]} - first_pids, (name, loads[name])
    for name in ("worker0", "worker1"):
        assert stack.processes[name].poll() is None, f"{name} exited"
    assert requests.get(stack.url + "/readyz", timeout=10).status_code == 200
    print(f"\n{len(job_ids)} jobs ({3 * ANALYSES} video tasks, {PLANS}+ light tasks) with "
          f"{BURNERS} CPU burners: {elapsed:.1f}s; recycles: video {video_recycles}, light "
          f"{light_recycles}; model loads (ms): "
          f"video {[load['duration_ms'] for load in loads['worker1']]}, "
          f"light {[load['duration_ms'] for load in loads['worker0']]}")
