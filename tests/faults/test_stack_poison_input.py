"""A poison input: a job whose task kills its worker process every time it runs.

Celery re-queues the message of a lost pool process (acks_late + reject on worker loss), which
saves work from an OOM kill but would re-run a poison input forever. After MAX_WORKER_LOSSES
(default 3) lost processes the job fails `worker_lost`, its message is dropped, and the worker
goes on serving. The poison is the test-only hook of workers/faults.py (FAULT_INJECTION=1).
"""

from __future__ import annotations

import time

import pytest
import redis
import requests

from tests.e2e.test_jobs_and_plans import ACL_BEGINNER
from tests.faults.conftest import query, register, running_stack, wait_status

pytestmark = pytest.mark.faults

LIMIT = 3  # MAX_WORKER_LOSSES' default
KILLED = "exited with 'signal 9 (SIGKILL)'"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("faults-poison"),
                       extra_env={"FAULT_INJECTION": "1"}) as running:
        yield running


def test_poison_job_fails_worker_lost_after_the_limit_and_is_not_redelivered(stack):
    client = register(stack)
    assert client.put("/api/v1/profile", json=ACL_BEGINNER).status_code == 200
    job_id = stack.insert_job(client.user_id, "plan.generate", {"_fault": "kill_worker"})
    started = time.monotonic()
    stack.send_task("plans.generate", job_id, queue="plans")

    job = wait_status(client, job_id, ("succeeded", "failed", "canceled"), 120)
    elapsed = time.monotonic() - started
    log = stack.logs("worker0")
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "worker_lost", job
    assert f"died {LIMIT} times" in job["error"]["message"]
    row = query(stack, "SELECT worker_losses, attempts FROM jobs WHERE id = :id",
                {"id": job_id})[0]
    assert row == {"worker_losses": LIMIT, "attempts": LIMIT}, row

    # The message is gone: not in the queue, not waiting unacknowledged, never run again.
    time.sleep(3)
    broker = redis.Redis.from_url(stack.redis.url)
    assert broker.llen("plans") == 0
    assert broker.hlen("unacked") == 0
    log = stack.logs("worker0")
    assert log.count(KILLED) == LIMIT, log[-3000:]
    losses = [line for line in log.splitlines()
              if '"worker process lost under job"' in line and job_id in line]
    assert len(losses) == LIMIT, losses
    assert query(stack, "SELECT attempts FROM jobs WHERE id = :id",
                 {"id": job_id})[0]["attempts"] == LIMIT

    # The worker stays healthy: a normal job right after runs to the end.
    assert stack.processes["worker0"].poll() is None
    response = client.post("/api/v1/plans")
    assert response.status_code == 202, response.text
    assert client.wait_job(response.json()["job_id"], timeout=90)["status"] == "succeeded"
    assert "Timed out waiting for UP message" not in stack.logs("worker0")
    assert requests.get(stack.url + "/readyz", timeout=10).status_code == 200
    print(f"\npoison job failed worker_lost after {LIMIT} lost processes in {elapsed:.1f}s")


def test_one_lost_process_below_the_limit_is_redelivered_and_succeeds(stack):
    """A healthy job that loses its process once (an OOM kill) still runs to the end."""
    client = register(stack)
    assert client.put("/api/v1/profile", json=ACL_BEGINNER).status_code == 200
    job_id = stack.insert_job(client.user_id, "plan.generate",
                              {"_fault": "kill_worker", "_fault_times": 1})
    stack.send_task("plans.generate", job_id, queue="plans")
    job = wait_status(client, job_id, ("succeeded", "failed", "canceled"), 90)
    row = query(stack, "SELECT worker_losses FROM jobs WHERE id = :id", {"id": job_id})[0]
    assert job["status"] == "succeeded", (job, row)
    assert row["worker_losses"] == 1
