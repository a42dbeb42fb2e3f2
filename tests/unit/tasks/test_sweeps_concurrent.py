"""Two sweepers run at once by mistake (two beats, a manual run beside the scheduled one) act
once per job: each lost job is re-sent once, each job past its re-sends or its deadline is
ended once, each expired original is forgotten once.

Both sweeps run in threads against one real database (SQLite; PostgreSQL too when one answers
at 127.0.0.1:5432) and are held at a barrier after reading their suspects, so each decides on
what it read before the other wrote anything: the worst interleaving, every time.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta

import pytest
from alembic import command

from models import Analysis, Job, User
from models.base import utcnow
from tests.unit.db.conftest import alembic_config, database_url  # noqa: F401 (fixture)

LONG_AGO = timedelta(hours=3)


@pytest.fixture
def db(database_url, monkeypatch):  # noqa: F811 (the fixture imported above)
    import models.db
    from config import settings

    command.upgrade(alembic_config(database_url), "head")
    monkeypatch.setattr(models.db, "settings",
                        dataclasses.replace(settings, database_url=database_url))
    models.db.reset_engines()
    yield models.db
    models.db.get_engine().dispose()
    models.db.reset_engines()


def _run_together(target, count: int = 2) -> list:
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = target()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    return results


def test_two_stuck_job_sweeps_at_once_resend_and_fail_each_job_once(db, monkeypatch):
    import tasks.maintenance
    from config import settings
    from tasks.enqueue import BrokerView
    from tasks.jobs import _end_job

    monkeypatch.setattr(tasks.maintenance, "settings", dataclasses.replace(
        settings, requeue_after_s=60, stall_after_s=60, max_resends=2, job_deadline_s=3600))
    then = utcnow() - LONG_AGO
    with db.session_scope() as session:
        user = User(email="two-sweeps@example.com", password_hash="x")
        session.add(user)
        session.flush()

        def job(status: str, resends: int = 0, started=None) -> Job:
            row = Job(user_id=user.id, kind="plan.generate", status=status, params={},
                      resends=resends, enqueued_at=then, created_at=then,
                      started_at=started, heartbeat_at=started)
            session.add(row)
            return row

        # a running job whose heartbeat went silent (within its deadline)
        silent = job("running", started=utcnow() - timedelta(minutes=30))
        lost = [job("queued") for _ in range(3)] + [silent]
        exhausted = [job("queued", resends=2) for _ in range(2)]
        overdue = [job("running", started=utcnow() - timedelta(hours=2))]
        overdue[0].heartbeat_at = utcnow()  # alive, but past its deadline
        session.flush()
        lost, exhausted, overdue = ([j.id for j in group] for group in (lost, exhausted,
                                                                         overdue))

    # The broker holds none of their messages; both sweeps read it, then decide together.
    barrier = threading.Barrier(2, timeout=60)

    def read_broker():
        barrier.wait()
        return BrokerView(at=time.time())

    sent: list[str] = []
    ended: list[tuple[str, str]] = []
    lock = threading.Lock()

    def send_job(job_id, kind, priority=None):
        with lock:
            sent.append(job_id)

    def fail_job(job_id, code, message):
        if _end_job(job_id, "failed", error_code=code, error_message=message):
            with lock:
                ended.append((job_id, code))

    monkeypatch.setattr(tasks.maintenance, "_read_broker", read_broker)
    monkeypatch.setattr(tasks.maintenance, "send_job", send_job)
    monkeypatch.setattr(tasks.maintenance, "fail_job", fail_job)

    summaries = _run_together(tasks.maintenance.sweep_stuck_jobs.run)

    assert sorted(sent) == sorted(lost)  # each once, by one sweep or the other
    assert sorted(ended) == sorted([(j, "job_stalled") for j in exhausted]
                                   + [(j, "job_timeout") for j in overdue])
    resent_by = [set(s["resent"]) for s in summaries]
    assert not resent_by[0] & resent_by[1]
    with db.session_scope() as session:
        rows = {j.id: j for j in session.query(Job)}
    assert all(rows[j].resends == 1 for j in lost)
    assert all(rows[j].status == "failed" for j in exhausted + overdue)


def test_two_retention_sweeps_at_once_expire_each_original_once(db, monkeypatch):
    import tasks.privacy
    from config import settings
    from models import repository

    monkeypatch.setattr(tasks.privacy, "settings",
                        dataclasses.replace(settings, video_retention_days=30))
    old = utcnow() - timedelta(days=40)
    with db.session_scope() as session:
        user = User(email="retention@example.com", password_hash="x")
        session.add(user)
        session.flush()
        ids = []
        for index in range(4):
            analysis = Analysis(user_id=user.id, source="video", status="succeeded",
                                created_at=old,
                                media_path=f"users/{user.id}/analyses/a{index}/original.mp4")
            session.add(analysis)
            session.flush()
            ids.append(analysis.id)

    barrier = threading.Barrier(2, timeout=60)
    select_them = repository.ended_analyses_with_originals

    def selected_then_wait(session, *, before):
        rows = select_them(session, before=before)
        barrier.wait()  # both sweeps hold the same rows before either changes one
        return rows

    removed: list[str] = []
    lock = threading.Lock()

    def remove_files(paths):
        with lock:
            removed.extend(paths)

    monkeypatch.setattr(tasks.privacy.repo, "ended_analyses_with_originals",
                        selected_then_wait)
    monkeypatch.setattr(tasks.privacy, "_remove_files", remove_files)

    expired = _run_together(tasks.privacy.apply_video_retention)

    assert sorted(expired[0] + expired[1]) == sorted(ids)  # each by exactly one sweep
    assert len(removed) == len(ids)
    with db.session_scope() as session:
        assert all(session.get(Analysis, i).media_path is None for i in ids)
        assert all(session.get(Analysis, i).original_deleted_at is not None for i in ids)
