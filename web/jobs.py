"""Enqueueing from the web layer: job row first, then the broker; 202 + Location.

`Idempotency-Key`: the same key from the same user returns the first answer, enqueues nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from sqlalchemy.exc import IntegrityError

from models import Job
from models.base import as_utc, utcnow
from tasks.enqueue import BrokerUnavailable, create_job, find_idempotent, send_job
from web.auth import current_user
from web.db import db_session
from web.errors import ApiError

MAX_IDEMPOTENCY_KEY = 200


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise ApiError(400, "invalid_idempotency_key",
                       f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters")
    return key


def accepted(job: Job, body_extra: dict | None = None):
    body = {"job_id": job.id, "status": job.status}
    if job.subject_id:
        body["id"] = job.subject_id
    body.update(body_extra or {})
    return body, 202, {"Location": f"/api/v1/jobs/{job.id}"}


def replay(kind: str) -> tuple | None:
    """If this request repeats an earlier one (same Idempotency-Key), its first answer."""
    key = idempotency_key()
    job = find_idempotent(db_session(), current_user().id, key)
    if job is None:
        return None
    if job.kind != kind:
        raise ApiError(409, "idempotency_key_reused",
                       "this Idempotency-Key was used for a different request")
    return accepted(job)


def enqueue(kind: str, *, params: dict | None = None, subject_type: str | None = None,
            subject_id: str | None = None, before_commit: Callable[[Job], None] | None = None,
            priority: int | None = None):
    """Write the job (and whatever `before_commit` adds) in one transaction, then publish it."""
    session = db_session()
    key = idempotency_key()
    job = create_job(session, user_id=current_user().id, kind=kind, params=params,
                     subject_type=subject_type, subject_id=subject_id, idempotency_key=key)
    if before_commit is not None:
        before_commit(job)
    job.enqueued_at = utcnow()
    try:
        session.commit()
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race: answer as it did.
        session.rollback()
        first = find_idempotent(session, current_user().id, key)
        if first is None:
            raise ApiError(409, "conflict", "a conflicting request was accepted first") from None
        return accepted(first)
    try:
        send_job(job.id, kind, priority=priority)
    except BrokerUnavailable:
        # The row stays; the sweeper re-enqueues queued jobs whose message never arrived.
        pass
    return accepted(job)


def job_to_dict(job: Job) -> dict:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "created_at": as_utc(job.created_at),
        "started_at": as_utc(job.started_at),
        "finished_at": as_utc(job.finished_at),
        "error": {"code": job.error_code, "message": job.error_message or ""}
        if job.error_code else None,
        "result": job.result,
    }
