"""Job lifecycle rules on a real SQLite database: ending once, hooks, batches, canceling."""

from __future__ import annotations

from datetime import timedelta

from domain.jobs import service
from models import Analysis, Job, User
from models.base import utcnow


def _user(session) -> str:
    user = User(email="p@example.org", password_hash="x")
    session.add(user)
    session.flush()
    return user.id


def _recorder():
    events: list[tuple] = []

    def emit(session, type_, user_id, data, key=None):
        events.append((type_, data))

    return events, emit


def test_a_job_ends_once_and_its_hooks_run(db):
    with db.session_scope() as session:
        user_id = _user(session)
        analysis = Analysis(user_id=user_id, source="keypoints", status="running",
                            result={"exercise": {"label": "squat"}, "rep_count": 3})
        session.add(analysis)
        session.flush()
        job = Job(user_id=user_id, kind="keypoints.analyze", status="running",
                  params={"analysis_id": analysis.id})
        session.add(job)
        session.flush()
        job_id, analysis_id = job.id, analysis.id
    events, emit = _recorder()
    assert service.end_job(job_id, "succeeded", emit, result={}) is True
    assert service.end_job(job_id, "failed", emit) is False  # already ended
    with db.session_scope() as session:
        assert session.get(Analysis, analysis_id).status == "succeeded"
    assert [(t, d["label"], d["rep_count"]) for t, d in events] == [
        ("video.analysis.succeeded", "squat", 3)]


def test_the_last_child_ends_its_batch(db):
    with db.session_scope() as session:
        user_id = _user(session)
        batch = Job(user_id=user_id, kind="batch.reprocess", status="running",
                    params={"total": 2})
        session.add(batch)
        session.flush()
        children = [Job(user_id=user_id, kind="video.analyze", status="running",
                        parent_id=batch.id) for _ in range(2)]
        session.add_all(children)
        session.flush()
        batch_id, child_ids = batch.id, [c.id for c in children]
    events, emit = _recorder()
    service.end_job(child_ids[0], "succeeded", emit)
    with db.session_scope() as session:
        assert session.get(Job, batch_id).progress == 50
    service.end_job(child_ids[1], "failed", emit)
    with db.session_scope() as session:
        batch = session.get(Job, batch_id)
        assert batch.status == "succeeded" and batch.result["reprocessed"] == 1
        assert batch.result["failed"] == 1
    assert [t for t, _ in events] == ["batch.completed"]


def test_suspects_lost_and_past_deadline(db):
    limits = service.SweepLimits(requeue_after_s=60, stall_after_s=120, max_resends=3,
                                 job_deadline_s=600)
    now = utcnow()
    with db.session_scope() as session:
        user_id = _user(session)
        lost = Job(user_id=user_id, kind="plan.generate", status="queued",
                   created_at=now - timedelta(minutes=5))
        fresh = Job(user_id=user_id, kind="plan.generate", status="queued", created_at=now)
        silent = Job(user_id=user_id, kind="video.analyze", status="running",
                     started_at=now - timedelta(minutes=5),
                     heartbeat_at=now - timedelta(minutes=4))
        late = Job(user_id=user_id, kind="video.analyze", status="running",
                   started_at=now - timedelta(hours=1), heartbeat_at=now)
        batch = Job(user_id=user_id, kind="batch.reprocess", status="running",
                    started_at=now - timedelta(hours=1))
        session.add_all([lost, fresh, silent, late, batch])
        session.flush()
        found, batches = service.suspects(session, now, limits)
        assert found == {lost.id: "lost", silent.id: "lost", late.id: "deadline"}
        assert batches == [batch.id]


def test_cancel_keeps_a_rerun_analysis_result(db):
    with db.session_scope() as session:
        user_id = _user(session)
        analysis = Analysis(user_id=user_id, source="video", status="running",
                            result={"rep_count": 1})
        session.add(analysis)
        session.flush()
        batch = Job(user_id=user_id, kind="batch.reprocess", status="running")
        session.add(batch)
        session.flush()
        child = Job(user_id=user_id, kind="video.analyze", status="queued", parent_id=batch.id,
                    subject_type="analysis", subject_id=analysis.id)
        session.add(child)
        session.flush()
        service.cancel(session, batch)
        assert (batch.status, child.status, analysis.status) == (
            "canceled", "canceled", "succeeded")
