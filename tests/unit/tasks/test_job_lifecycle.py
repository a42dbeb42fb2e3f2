"""The job state machine of JobTask, run eagerly in-process against a migrated SQLite file."""

from __future__ import annotations

import pytest

from domain.errors import DomainError
from models import Event, Job, User


@pytest.fixture
def job_id(db):
    with db.session_scope() as session:
        user = User(email="u@example.com", password_hash="x")
        session.add(user)
        session.flush()
        job = Job(user_id=user.id, kind="test.kind")
        session.add(job)
        session.flush()
        return job.id


def make_task(body, name):
    from tasks.jobs import JobTask
    from workers.celery_app import app

    return app.task(bind=True, base=JobTask, name=name)(body)


def read(db, job_id) -> Job:
    with db.session_scope() as session:
        return session.get(Job, job_id)


def test_success_records_result(db, job_id):
    def body(self, jid):
        return {"answer": 42}

    task = make_task(body, "test.success")
    task.apply(args=[job_id])
    job = read(db, job_id)
    assert job.status == "succeeded" and job.result == {"answer": 42}
    assert job.progress == 100 and job.started_at and job.finished_at and job.attempts == 1


def test_domain_error_fails_with_code(db, job_id):
    def body(self, jid):
        raise DomainError("nope", code="bad_thing")

    make_task(body, "test.domain_error").apply(args=[job_id])
    job = read(db, job_id)
    assert job.status == "failed" and job.error_code == "bad_thing"
    assert job.error_message == "nope"


def test_crash_fails_as_internal_error_without_leaking(db, job_id):
    def body(self, jid):
        raise RuntimeError("secret internals")

    make_task(body, "test.crash").apply(args=[job_id])
    job = read(db, job_id)
    assert job.status == "failed" and job.error_code == "internal_error"
    assert "secret" not in job.error_message


def test_redelivered_task_does_nothing_twice(db, job_id):
    calls = []

    def body(self, jid):
        calls.append(jid)
        return {"n": len(calls)}

    task = make_task(body, "test.redelivery")
    task.apply(args=[job_id])
    task.apply(args=[job_id])  # e.g. the broker delivered the message again
    assert calls == [job_id]
    assert read(db, job_id).result == {"n": 1}


def test_events_with_a_key_are_emitted_once(db, job_id):
    from sqlalchemy import func, select

    from tasks import events

    for _ in range(2):
        with db.session_scope() as session:
            events.emit(session, "plan.generated", None, {"x": 1}, key=job_id)
    with db.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_chunk_plan_splits_long_videos():
    from domain.video.service import chunk_plan

    CHUNK_S = 10.0
    assert chunk_plan(0.0, "image", CHUNK_S) == [(0.0, None)]
    assert chunk_plan(5.0, "video", CHUNK_S) == [(0.0, None)]
    chunks = chunk_plan(CHUNK_S * 2.5, "video", CHUNK_S)
    assert [c[0] for c in chunks] == [0.0, CHUNK_S, 2 * CHUNK_S]
    assert chunks[-1][1] is None and chunks[0][1] == CHUNK_S
