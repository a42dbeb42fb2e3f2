"""Creating jobs and sending them to the broker (used by the web layer, the CLI and the sweeper)."""

from __future__ import annotations

from celery import Signature, chain
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Job
from workers.celery_app import app


def pipeline(kind: str, job_id: str) -> Signature:
    """The canvas that runs a job of this kind from its start (every step is idempotent)."""
    sig = app.signature
    if kind == "plan.generate":
        return sig("plans.generate", args=[job_id])
    if kind == "feedback.process":
        # Record the feedback (feedback queue), then regenerate next week's plan (plans queue).
        return chain(sig("feedback.record", args=[job_id], immutable=True),
                     sig("plans.regenerate", args=[job_id], immutable=True))
    if kind in ("video.analyze", "keypoints.analyze"):
        # video.start inspects the media and fans out into chunked pose tasks (a chord).
        return sig("video.start", args=[job_id])
    if kind == "batch.reprocess":
        return sig("maintenance.reprocess_batch", args=[job_id])
    if kind == "account.export":
        return sig("accounts.export", args=[job_id])
    raise ValueError(f"unknown job kind {kind}")


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


def send_job(job_id: str, kind: str, priority: int | None = None) -> None:
    """Publish the job's entry task. The caller has committed the job row first."""
    try:
        pipeline(kind, job_id).apply_async(priority=priority)
    except Exception as exc:  # kombu raises many types when Redis is down
        raise BrokerUnavailable(str(exc)) from exc


