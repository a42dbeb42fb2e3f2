"""Creating jobs and sending them to the broker (used by the web layer, the CLI and the sweeper)."""

from __future__ import annotations

from celery import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Job

#: job kind -> the task that starts it (the whole pipeline is re-entrant from this task)
ENTRY_TASKS = {
    "plan.generate": "plans.generate",
    "feedback.process": "feedback.process",
    "video.analyze": "video.start",
    "keypoints.analyze": "video.start",
    "batch.reprocess": "maintenance.reprocess_batch",
}


class BrokerUnavailable(Exception):
    pass


def find_idempotent(session: Session, user_id: str, key: str | None) -> Job | None:
    if not key:
        return None
    return session.scalar(select(Job).where(Job.user_id == user_id, Job.idempotency_key == key))


def create_job(session: Session, *, user_id: str, kind: str, params: dict | None = None,
               subject_type: str | None = None, subject_id: str | None = None,
               idempotency_key: str | None = None) -> Job:
    job = Job(user_id=user_id, kind=kind, params=params or {}, subject_type=subject_type,
              subject_id=subject_id, idempotency_key=idempotency_key, status="queued")
    session.add(job)
    session.flush()
    return job


def send_job(
    job_id: str, kind: str, params: dict | None = None, priority: int | None = None
) -> None:
    """Publish the job's entry task. The caller has committed the job row first."""
    try:
        current_app.send_task(ENTRY_TASKS[kind], args=[job_id], priority=priority)
    except Exception as exc:  # kombu raises many types when Redis is down
        raise BrokerUnavailable(str(exc)) from exc


