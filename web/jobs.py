"""Enqueueing from the web layer: job row first, then the broker; 202 + Location.

`Idempotency-Key`: the same key from the same user with the same request returns the first
answer and enqueues nothing; with a different request (another body, other form fields, another
file, another endpoint) it answers 422 `idempotency_key_reused`. The request is fingerprinted
(SHA-256 of method, path and the canonical JSON body, or the multipart fields plus each file's
name, size and SHA-256) and the fingerprint is stored on the job. Two concurrent requests with
one key: the database's unique (user, key) lets one job in; the other request rolls back
(`on_rollback` removes whatever it had put in place) and answers as the first did.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable

from flask import g, request
from sqlalchemy.exc import IntegrityError

from models import Job
from models.base import as_utc, utcnow
from models.db import write_lock
from tasks.enqueue import BrokerUnavailable, create_job, find_idempotent, send_job
from web.auth import current_user
from web.db import db_session
from web.errors import ApiError

logger = logging.getLogger("web.jobs")

MAX_IDEMPOTENCY_KEY = 200
_CHUNK = 1024 * 1024


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise ApiError(400, "invalid_idempotency_key",
                       f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters")
    return key


def _file_digest(part) -> dict:
    stream = part.stream
    if hasattr(stream, "flush"):
        stream.flush()
    stream.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return {"field": part.name, "filename": part.filename or "", "size": size,
            "sha256": digest.hexdigest()}


def request_fingerprint() -> str:
    """SHA-256 of what makes this request this request (computed once per request)."""
    if "request_fingerprint" in g:
        return g.request_fingerprint
    described: dict = {"method": request.method, "path": request.path}
    if request.mimetype == "multipart/form-data":
        described["form"] = sorted(request.form.items(multi=True))
        described["files"] = sorted((_file_digest(part) for _, part in
                                     request.files.items(multi=True)),
                                    key=lambda f: (f["field"], f["filename"], f["sha256"]))
    else:
        body = request.get_json(silent=True)
        if body is None and request.get_data(cache=True):
            described["raw_sha256"] = hashlib.sha256(request.get_data(cache=True)).hexdigest()
        else:
            described["json"] = body
    canonical = json.dumps(described, sort_keys=True, separators=(",", ":"), default=str)
    g.request_fingerprint = hashlib.sha256(canonical.encode()).hexdigest()
    return g.request_fingerprint


def accepted(job: Job, body_extra: dict | None = None):
    body = {"job_id": job.id, "status": job.status}
    if job.subject_id:
        body["id"] = job.subject_id
    body.update(body_extra or {})
    return body, 202, {"Location": f"/api/v1/jobs/{job.id}"}


def _same_request(job: Job, kind: str):
    """The first answer if this request repeats the one that made `job`; 422 otherwise."""
    if job.kind != kind or (job.request_fingerprint is not None
                            and job.request_fingerprint != request_fingerprint()):
        raise ApiError(422, "idempotency_key_reused",
                       "this Idempotency-Key was already used with a different request; "
                       "use a new key for a new request")
    return accepted(job)


def replay(kind: str) -> tuple | None:
    """If this request repeats an earlier one (same Idempotency-Key), its first answer."""
    key = idempotency_key()
    job = find_idempotent(db_session(), current_user().id, key)
    if job is None:
        return None
    return _same_request(job, kind)


def enqueue(kind: str, *, params: dict | None = None, subject_type: str | None = None,
            subject_id: str | None = None, before_commit: Callable[[Job], None] | None = None,
            priority: int | None = None, on_rollback: Callable[[], None] | None = None):
    """Write the job (and whatever `before_commit` adds) in one transaction, then publish it.

    `on_rollback` undoes side effects of `before_commit` outside the database (files moved into
    place) when the transaction is rolled back because a concurrent request won the key.
    """
    session = db_session()
    user_id = current_user().id
    key = idempotency_key()
    # Computed before the insert: from the insert to the commit this request holds SQLite's
    # one write lock, which every other writer (web threads, workers) waits for.
    fingerprint = request_fingerprint() if key else None
    try:
        with write_lock(session):
            job = create_job(session, user_id=user_id, kind=kind, params=params,
                             subject_type=subject_type, subject_id=subject_id,
                             idempotency_key=key, request_fingerprint=fingerprint,
                             enqueued_at=utcnow() if before_commit is None else None)
            if before_commit is not None:
                before_commit(job)
                job.enqueued_at = utcnow()
            session.commit()
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key won the race (PostgreSQL and
        # SQLite raise at the insert, or at the commit): nothing of ours stays.
        session.rollback()
        if on_rollback is not None:
            on_rollback()
        first = find_idempotent(session, user_id, key)
        if first is None:
            raise ApiError(409, "conflict", "a conflicting request was accepted first") from None
        logger.info("idempotency race lost to job %s; answering as it did", first.id)
        return _same_request(first, kind)
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
