"""Health data and personal data never reach the process logs: not a task's result (Celery logs
every task's return value by default), not the bound parameters of a failed SQL statement (an
email, a password hash, an analysis result, readiness vitals)."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.faults.conftest import register
from tests.support.stack import Client, Stack

pytestmark = pytest.mark.faults


def _sql(stack: Stack, *statements: str) -> None:
    engine = create_engine(stack.env["DATABASE_URL"])
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _keypoints(shared_data) -> dict:
    frames = json.loads((shared_data / "pushfit_sample" / "correct3.json").read_text())
    return {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}


def _analyze(client: Client, body: dict) -> dict:
    response = client.post("/api/v1/analyses", json=body)
    assert response.status_code == 202, response.text
    return client.wait_job(response.json()["job_id"], timeout=120)


def _recognisable(result: dict) -> list[str]:
    """Pieces of an analysis result that only its serialization would put in a log."""
    pieces = [sentence for sentence in result["feedback"] if len(sentence) > 20]
    pieces += [f"'rep_count': {result['rep_count']}", '"rep_count": ', "'feedback': [",
               '"feedback": [', "'reps': [", '"reps": [']
    return pieces


def test_results_and_sql_parameters_stay_out_of_logs(shared_stack, shared_data):
    stack = shared_stack
    if not stack.env["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the SQL fault is injected with a SQLite trigger")
    patient = register(stack)
    body = _keypoints(shared_data)

    # 1. A job whose result is health data: Celery still logs that each task succeeded (and
    #    how long it took), never what it returned.
    job = _analyze(patient, body)
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["feedback"], result

    # 2. A worker's database write fails with the result as a bound parameter.
    _sql(stack, "CREATE TRIGGER privacy_block_results BEFORE INSERT ON analysis_results "
                "BEGIN SELECT RAISE(ABORT, 'blocked by the privacy test'); END")
    try:
        failed = _analyze(patient, body)
    finally:
        _sql(stack, "DROP TRIGGER IF EXISTS privacy_block_results")
    assert failed["status"] == "failed" and failed["error"]["code"] == "internal_error", failed

    # 3. The web process fails to insert a new account (email and password hash are its
    #    parameters): answered as a conflict, and not logged at all.
    email = f"privacy-{uuid.uuid4().hex[:12]}@example.org"
    _sql(stack, "CREATE TRIGGER privacy_block_users BEFORE INSERT ON users "
                "BEGIN SELECT RAISE(ABORT, 'blocked by the privacy test'); END")
    try:
        response = Client(stack.url).post("/api/v1/auth/register",
                                          json={"email": email, "password": "pw-" + "z" * 20})
    finally:
        _sql(stack, "DROP TRIGGER IF EXISTS privacy_block_users")
    assert response.status_code == 409, response.text

    # 4. ... and fails to store readiness (health data) with an unexpected error: logged, with
    #    the SQL but without the values.
    # Eight decimals: a log timestamp (milli- or microseconds) can never contain these by chance.
    vitals = {"sleep_hours": 7.12345678, "resting_hr": 57.32198765, "hrv_ms": 61.98765432}
    _sql(stack, "CREATE TRIGGER privacy_block_readiness BEFORE INSERT ON readiness "
                "BEGIN SELECT RAISE(ABORT, 'blocked by the privacy test'); END")
    try:
        response = patient.post("/api/v1/readiness", json=vitals)
    finally:
        _sql(stack, "DROP TRIGGER IF EXISTS privacy_block_readiness")
    assert response.status_code == 500, response.text

    logs = {name: stack.logs(name) for name in ("web", "worker0", "worker1")}
    found = [(name, piece) for name, text_ in logs.items()
             for piece in [*_recognisable(result), email, email.split("@")[0],
                           *(str(v) for v in vitals.values())]
             if piece in text_]
    assert not found, f"personal or health data in logs: {found}"
    # The logs were written all the same: the successes and both failures, SQL without values.
    worker = logs["worker1"]
    assert "video.classify[" in worker and "succeeded in" in worker
    assert "task crashed" in worker and "INSERT INTO analysis_results" in worker
    assert "INSERT INTO readiness" in logs["web"]
    assert "hide_parameters" in worker and "hide_parameters" in logs["web"]
