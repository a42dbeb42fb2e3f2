"""The database going away during an upload (PostgreSQL on 127.0.0.1:5432), on a stack of its
own. (Rate limits: tests/faults/test_stack_hostile_clients.py.)"""

from __future__ import annotations

import os
import threading
import uuid

import pytest
import requests

from tests.faults.conftest import assert_error_shape, register, running_stack, storage_files
from tests.support.stack import wait_until

pytestmark = pytest.mark.faults

PG = os.environ.get("FAULTS_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")


def admin():
    import psycopg

    dsn = PG.replace("postgresql+psycopg://", "postgresql://") + "/test"
    return psycopg.connect(dsn, autocommit=True, connect_timeout=3)


def postgres_available() -> bool:
    try:
        admin().close()
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def pg_database():
    if not postgres_available():
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    name = f"faults_{uuid.uuid4().hex[:10]}"
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin() as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def stack(tmp_path_factory, pg_database):
    with running_stack(tmp_path_factory.mktemp("faults-db"),
                       database_url=f"{PG}/{pg_database}",
                       worker_queues=("maintenance",)) as running:
        yield running


def upload_files(stack) -> list:
    return storage_files(stack, "incoming") + storage_files(stack, "users")


def test_database_lost_during_upload_commit_is_503_and_leaves_no_file(stack, pg_database,
                                                                      shared_data):
    """The connection dies while the upload's transaction is being committed (the file is
    already streamed and moved into place): 503 in the contract's shape, and no file stays."""
    import psycopg

    patient = register(stack)
    video = (shared_data / "pushfit_sample" / "correct1.mp4").read_bytes()
    ok = patient.post("/api/v1/videos", files={"file": ("warmup.mp4", video)})
    assert ok.status_code == 202, ok.text
    before = upload_files(stack)

    dsn = PG.replace("postgresql+psycopg://", "postgresql://") + f"/{pg_database}"
    locker = psycopg.connect(dsn)
    locker.execute("LOCK TABLE analyses IN ACCESS EXCLUSIVE MODE")  # the insert will wait
    answer: dict = {}

    def post():
        try:
            answer["response"] = patient.post("/api/v1/videos",
                                              files={"file": ("during.mp4", video)}, timeout=60)
        except Exception as exc:  # pragma: no cover - reported below
            answer["error"] = exc

    thread = threading.Thread(target=post)
    thread.start()
    try:
        with admin() as conn:
            def insert_waits():
                return conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND "
                    "wait_event_type = 'Lock'", (pg_database,)).fetchone()[0]

            wait_until(insert_waits, 30, message="the upload's insert waits on the lock")
            # The database goes away: no new connections, every session terminated.
            conn.execute(f'ALTER DATABASE "{pg_database}" ALLOW_CONNECTIONS false')
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s", (pg_database,))
        thread.join(60)
        assert "response" in answer, answer
        response = answer["response"]
        body = assert_error_shape(response, (503,))
        assert body["code"] == "database_unavailable", body
        assert upload_files(stack) == before, "the refused upload left a file behind"

        # While it stays down: readiness says so, and new uploads are refused the same way.
        ready = requests.get(stack.url + "/readyz", timeout=30)
        assert ready.status_code == 503 and "database" in ready.text
        again = patient.post("/api/v1/videos", files={"file": ("down.mp4", video)})
        assert_error_shape(again, (503,))
        assert upload_files(stack) == before
    finally:
        locker.close()
        with admin() as conn:
            conn.execute(f'ALTER DATABASE "{pg_database}" ALLOW_CONNECTIONS true')
    # Back: the same process serves again.
    wait_until(lambda: patient.get("/api/v1/me").status_code == 200, 30, interval=0.5,
               message="web serves again")
    after = patient.post("/api/v1/videos", files={"file": ("after.mp4", video)})
    assert after.status_code == 202, after.text
