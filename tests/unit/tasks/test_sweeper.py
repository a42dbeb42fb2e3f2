"""The stuck-job sweeper and video.start against a real Redis broker (no workers consume it).

A job whose message waits in its queue is not lost; one with no message anywhere is re-sent at
its own priority, and failed `job_stalled` only after MAX_RESENDS re-sends; a re-delivered
video.start builds nothing twice.
"""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta

import numpy as np
import pytest

from models import Analysis, Clinic, Job, Reference, User
from models.base import utcnow
from tests.support.stack import RedisServer

LONG_AGO = timedelta(hours=1)


@pytest.fixture
def broker(tmp_path, monkeypatch):
    """A real Redis as the app's broker, empty; yields a client to it."""
    import redis

    import infra.redis_client
    from workers.celery_app import app

    server = RedisServer(tmp_path / "redis").start()
    client = redis.Redis(port=server.port)
    monkeypatch.setattr(app.conf, "broker_url", server.url)
    app._pool = None
    app.amqp._producer_pool = None
    monkeypatch.setattr(infra.redis_client, "get_redis", lambda url=None: client)
    try:
        yield client
    finally:
        app._pool = None
        app.amqp._producer_pool = None
        server.stop()


@pytest.fixture
def user_id(db):
    with db.session_scope() as session:
        user = User(email="sweep@example.com", password_hash="x")
        session.add(user)
        session.flush()
        return user.id


def make_job(db, user_id, kind="plan.generate", *, status="queued", age=LONG_AGO,
             priority=None, resends=0, **params) -> str:
    then = utcnow() - age
    with db.session_scope() as session:
        job = Job(user_id=user_id, kind=kind, status=status, params=params, priority=priority,
                  resends=resends, enqueued_at=then, created_at=then)
        if status == "running":
            job.started_at = job.heartbeat_at = then
        session.add(job)
        session.flush()
        return job.id


def read(db, job_id) -> Job:
    with db.session_scope() as session:
        return session.get(Job, job_id)


def messages(client, key: str) -> list[str]:
    from tasks.enqueue import message_job_id

    return [message_job_id(raw) for raw in client.lrange(key, 0, -1)]


def lists_holding(client, job_id: str) -> list[str]:
    from tasks.enqueue import queue_keys

    return [key for key in queue_keys() if job_id in messages(client, key)]


def sweep() -> dict:
    from tasks.maintenance import sweep_stuck_jobs

    return sweep_stuck_jobs()


def test_broker_view_finds_jobs_in_every_priority_list(broker):
    from celery_config import BATCH_PRIORITY
    from tasks.enqueue import broker_view, send_job

    send_job("live-job", "plan.generate")
    send_job("batch-job", "video.analyze", priority=BATCH_PRIORITY)
    send_job("chained-job", "feedback.process")
    assert lists_holding(broker, "live-job") in (["plans"], ["plans:3"])
    assert lists_holding(broker, "batch-job") == [f"video:{BATCH_PRIORITY}"]
    view = broker_view()
    assert all(view.waiting(j) for j in ("live-job", "batch-job", "chained-job"))
    assert not view.waiting("other-job") and not view.held("other-job", 60)


def test_a_job_waiting_in_a_long_queue_is_neither_resent_nor_failed(db, broker, user_id):
    from tasks.enqueue import queue_keys, send_job

    queued = make_job(db, user_id)
    running = make_job(db, user_id, "video.analyze", status="running", resends=3,
                       age=timedelta(minutes=10))
    send_job(queued, "plan.generate")
    send_job(running, "video.analyze")  # e.g. its chord's pose chunks wait behind others
    for _ in range(5):
        outcome = sweep()
        assert outcome["resent"] == [] and outcome["failed"] == []
        assert sorted(outcome["waiting"]) == sorted([queued, running])
    assert read(db, queued).status == "queued" and read(db, queued).resends == 0
    assert read(db, running).status == "running" and read(db, running).resends == 3
    # Nothing was published twice.
    assert [len(lists_holding(broker, j)) for j in (queued, running)] == [1, 1]
    assert sum(broker.llen(key) for key in queue_keys()) == 2


def test_a_lost_batch_child_is_resent_at_batch_priority_then_failed(db, broker, user_id,
                                                                   monkeypatch):
    import tasks.maintenance
    from celery_config import BATCH_PRIORITY

    monkeypatch.setattr(tasks.maintenance, "settings",
                        dataclasses.replace(tasks.maintenance.settings, max_resends=2))
    child = make_job(db, user_id, "video.analyze", priority=BATCH_PRIORITY, analysis_id="a")
    assert sweep()["resent"] == [child]
    # Re-sent at the priority it was first sent at: behind live work, not ahead of it.
    assert messages(broker, f"video:{BATCH_PRIORITY}") == [child]
    assert lists_holding(broker, child) == [f"video:{BATCH_PRIORITY}"]
    assert read(db, child).resends == 1
    assert sweep()["resent"] == []  # just re-sent: neither stale nor lost
    broker.delete(f"video:{BATCH_PRIORITY}")  # the broker loses it again
    db_job_stale(db, child)
    assert sweep()["resent"] == [child]
    broker.delete(f"video:{BATCH_PRIORITY}")
    db_job_stale(db, child)
    assert sweep()["failed"] == [child]
    job = read(db, child)
    assert job.status == "failed" and job.error_code == "job_stalled" and job.resends == 2


def db_job_stale(db, job_id) -> None:
    with db.session_scope() as session:
        job = session.get(Job, job_id)
        job.enqueued_at = job.heartbeat_at = utcnow() - LONG_AGO


def test_a_message_taken_by_a_worker_counts_only_while_recent(db, broker, user_id):
    from tasks.enqueue import send_job

    # Silent for 10 minutes (over STALL_AFTER_S), within its deadline.
    job_id = make_job(db, user_id, "video.analyze", status="running", age=timedelta(minutes=10))
    send_job(job_id, "video.analyze")
    [key] = lists_holding(broker, job_id)
    raw = broker.rpop(key)
    # As kombu's Redis QoS records a message a worker took (acks_late): hash + index.
    broker.hset("unacked", "tag-1", json.dumps([json.loads(raw), "default", "video"]))
    broker.zadd("unacked_index", {"tag-1": time.time()})
    assert sweep()["waiting"] == [job_id]
    # Taken an hour ago and the job silent since: that worker died; the job is re-sent.
    broker.zadd("unacked_index", {"tag-1": time.time() - 3600})
    assert sweep()["resent"] == [job_id]
    assert lists_holding(broker, job_id) == [key]


def test_deadline_counts_running_not_waiting(db, broker, user_id):
    from tasks.enqueue import send_job

    waiting = make_job(db, user_id, "video.analyze", status="running")
    running = make_job(db, user_id, "video.analyze", status="running")
    send_job(waiting, "video.analyze")
    outcome = sweep()
    assert outcome["timed_out"] == [running] and outcome["waiting"] == [waiting]
    assert read(db, running).error_code == "job_timeout"
    assert read(db, waiting).status == "running"
    # A worker takes it at last and runs it (heartbeat fresh): its hour of waiting does not
    # count toward the deadline, so it is left to finish.
    from tasks.enqueue import queue_keys

    broker.delete(*queue_keys())
    with db.session_scope() as session:
        session.get(Job, waiting).heartbeat_at = utcnow()
    assert sweep()["timed_out"] == []
    assert read(db, waiting).status == "running"
    with db.session_scope() as session:  # ... but it does run out after JOB_DEADLINE_S
        session.get(Job, waiting).enqueued_at = utcnow() - LONG_AGO
    assert sweep()["timed_out"] == [waiting]


# ------------------------------------------------------------------ video.start


@pytest.fixture
def storage(tmp_path, monkeypatch):
    import dataclasses

    import infra.storage
    from config import settings

    monkeypatch.setattr(infra.storage, "settings",
                        dataclasses.replace(settings, storage_dir=tmp_path / "storage"))
    return infra.storage


def keypoints_analysis(db, user_id, **job_fields) -> tuple[str, str]:
    with db.session_scope() as session:
        analysis = Analysis(user_id=user_id, source="keypoints", status="queued")
        session.add(analysis)
        session.flush()
        job = Job(user_id=user_id, kind="keypoints.analyze", status="queued",
                  params={"analysis_id": analysis.id}, **job_fields)
        session.add(job)
        session.flush()
        return analysis.id, job.id


def test_start_builds_the_pipeline_once_per_round(db, broker, storage, user_id):
    from celery_config import BATCH_PRIORITY
    from tasks.video import start

    _, job_id = keypoints_analysis(db, user_id, priority=BATCH_PRIORITY)
    key = f"video:{BATCH_PRIORITY}"  # the whole pipeline stays at the job's priority
    start.apply(args=[job_id])
    assert messages(broker, key) == [job_id]
    start.apply(args=[job_id])  # delivered again: the pipeline was built
    start.apply(args=[job_id])
    assert messages(broker, key) == [job_id]
    assert read(db, job_id).pipeline_round == 0
    # The sweeper found nothing of it in the broker and re-sent it: this round rebuilds.
    broker.delete(key)
    with db.session_scope() as session:
        session.get(Job, job_id).resends = 1
    start.apply(args=[job_id])
    start.apply(args=[job_id])
    assert messages(broker, key) == [job_id]
    assert read(db, job_id).pipeline_round == 1 and read(db, job_id).status == "running"


def test_start_that_cannot_publish_can_be_retried(db, broker, storage, user_id, monkeypatch):
    import tasks.video

    _, job_id = keypoints_analysis(db, user_id)

    def broken(job_id):
        raise ConnectionError("broker went away")

    monkeypatch.setattr(tasks.video, "_build_pipeline", broken)
    tasks.video.start.apply(args=[job_id], throw=False)
    assert read(db, job_id).pipeline_round is None  # released: a retry builds it
    monkeypatch.undo()


# ------------------------------------------------------------------ clinic references


def test_reprocessing_a_reference_updates_it(db, storage, user_id):
    from tasks.jobs import succeed_job

    with db.session_scope() as session:
        clinic = Clinic(name="Knee clinic", invite_code="inv-1")
        session.add(clinic)
        session.flush()
        session.get(User, user_id).clinic_id = clinic.id
        analysis = Analysis(user_id=user_id, source="video", status="running",
                            is_reference=True, exercise_hint="squat",
                            original_filename="squat.mp4",
                            result={"exercise": {"label": "squat"}, "rep_count": 3})
        session.add(analysis)
        session.flush()
        analysis_id, clinic_id = analysis.id, clinic.id

    def analysed(fill: float, label: str = "squat") -> str:
        path = storage.user_dir(user_id) / f"kp-{fill}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, keypoints=np.full((4, 17, 3), fill, np.float32), fps=10.0,
                 width=640.0, height=360.0)
        with db.session_scope() as session:
            analysis = session.get(Analysis, analysis_id)
            analysis.keypoints_path = storage.relative(path)
            analysis.result = {"exercise": {"label": label}, "rep_count": 3}
            analysis.exercise_hint = None if label != "squat" else "squat"
            job = Job(user_id=user_id, kind="video.analyze", status="running",
                      params={"analysis_id": analysis_id})
            session.add(job)
            session.flush()
            job_id = job.id
        succeed_job(job_id, {})
        assert read(db, job_id).status == "succeeded"
        return job_id

    def references() -> list[Reference]:
        with db.session_scope() as session:
            return session.query(Reference).all()

    first = analysed(0.5)
    again = analysed(0.25)  # an ops batch re-ran it: same id, no collision
    rows = references()
    assert [(r.id, r.clinic_id, r.exercise) for r in rows] == [(analysis_id, clinic_id, "squat")]
    assert rows[0].keypoints[0][0] == [0.25, 0.25, 0.25] and rows[0].meta["job_id"] == again
    assert first != again
    analysed(0.75, label="unknown")  # a result naming no exercise keeps the reference
    rows = references()
    assert len(rows) == 1 and rows[0].meta["job_id"] == again
