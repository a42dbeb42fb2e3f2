"""Counting lost worker processes per job, and failing the job at MAX_WORKER_LOSSES."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
from billiard.einfo import ExceptionWithTraceback
from celery.exceptions import WorkerLostError

from models import Job, User
from workers import losses


@pytest.fixture
def job_id(db):
    with db.session_scope() as session:
        user = User(email="u@example.com", password_hash="x")
        session.add(user)
        session.flush()
        job = Job(user_id=user.id, kind="test.kind", status="running")
        session.add(job)
        session.flush()
        return job.id


def read(db, job_id) -> Job:
    with db.session_scope() as session:
        return session.get(Job, job_id)


def test_job_fails_worker_lost_at_the_limit(db, job_id, monkeypatch):
    monkeypatch.setattr(losses, "settings",
                        dataclasses.replace(losses.settings, max_worker_losses=3))
    assert [losses.give_up_after_loss(job_id, "t") for _ in range(3)] == [False, False, True]
    job = read(db, job_id)
    assert (job.status, job.error_code, job.worker_losses) == ("failed", "worker_lost", 3)
    assert "died 3 times" in job.error_message
    # Ended: a later loss (a copy of the message still in flight) is not counted.
    assert losses.give_up_after_loss(job_id, "t") is False
    assert read(db, job_id).worker_losses == 3


def test_limit_is_a_setting(db, job_id, monkeypatch):
    monkeypatch.setattr(losses, "settings",
                        dataclasses.replace(losses.settings, max_worker_losses=1))
    assert losses.give_up_after_loss(job_id, "t") is True
    assert read(db, job_id).error_code == "worker_lost"


def test_unknown_job_is_requeued_as_before(db):
    assert losses.give_up_after_loss("0" * 32, "t") is False


def test_database_down_means_requeue_not_crash(job_id, db, monkeypatch):
    def broken(_job_id):
        raise ConnectionError("database down")

    monkeypatch.setattr(losses, "record_worker_loss", broken)
    assert losses.give_up_after_loss(job_id, "t") is False


@pytest.mark.parametrize(("exc", "request_state", "lost"), [
    (WorkerLostError("signal 9"), {}, True),
    (ExceptionWithTraceback(WorkerLostError("signal 9"), "tb"), {}, True),
    (SystemExit(1), {}, True),
    (SystemExit(1), {"_already_revoked": True}, False),
    (ValueError("bug"), {}, False),
])
def test_what_counts_as_a_worker_loss(exc, request_state, lost):
    assert losses._is_worker_loss(exc, SimpleNamespace(**request_state)) is lost
