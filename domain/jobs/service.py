"""Job lifecycle rules: progress, ending a job (with its kind's hooks and its batch), which jobs
the sweeper suspects, ops batches, canceling. The jobs table is the record of truth.

`emit(session, type, user_id, data, key=...)` records an event (the tasks layer passes its
outbox writer), so this module needs neither Celery nor the webhook machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from domain.jobs import kinds
from models import TERMINAL_STATUSES, Analysis, Job
from models import repository as repo
from models.base import as_utc, utcnow
from models.db import session_scope

Emit = Callable[..., object]


def update_progress(job_id: str, progress: int, stage: str | None = None) -> None:
    """Raise the job's progress (never lowers it), name its stage, refresh its heartbeat."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None or job.status in TERMINAL_STATUSES:
            return
        job.progress = max(job.progress, min(100, int(progress)))
        if stage:
            job.stage = stage
        job.heartbeat_at = utcnow()


def end_job(job_id: str, status: str, emit: Emit, **fields) -> bool:
    """Move a job that has not ended to `status` (once), then run its kind's hook and tell its
    batch, in the same transaction. False when it had already ended."""
    with session_scope() as session:
        # Compare-and-set: a worker and a sweeper (or two sweepers) ending the same job at
        # once run its hooks and emit its event once.
        if not repo.end_open_job(session, job_id, status, finished_at=utcnow(), **fields):
            return False
        job = session.get(Job, job_id)
        hooks = kinds.hooks_for(job.kind)
        if hooks is not None:
            (hooks.on_succeeded if status == "succeeded" else hooks.on_failed)(session, job, emit)
        if job.parent_id:
            child_job_ended(session, job.parent_id, emit)
    return True


def deadline_passed(job: Job, deadline_s: int, now: datetime | None = None) -> bool:
    now = now or utcnow()
    reference = as_utc(job.heartbeat_at or job.started_at or job.created_at)
    return reference is not None and now - reference > timedelta(seconds=deadline_s)


def claim_pipeline(job_id: str) -> int | None | bool:
    """Claim the building of this job's pipeline for its current re-send round, atomically.

    The round is the number of times the sweeper re-sent the job; the sweeper re-sends only a
    job none of whose messages is left in the broker, so a new round rebuilds what was lost
    (files already written are reused). Returns the previously built round (None when none
    was), or False when this round's pipeline was already built.
    """
    with session_scope() as session:
        return repo.claim_pipeline_round(session, job_id)


def release_pipeline(job_id: str, previous: int | None) -> None:
    """Nothing was published: let a retry build the pipeline again."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.pipeline_round = previous


# ---------------------------------------------------------------- the sweeper's suspects


@dataclass(frozen=True)
class SweepLimits:
    requeue_after_s: int
    stall_after_s: int
    max_resends: int
    job_deadline_s: int


def suspects(session: Session, now: datetime, limits: SweepLimits
             ) -> tuple[dict[str, str], list[str]]:
    """Jobs that may be lost or past their deadline (id -> "lost" | "deadline"), and the
    running batches (they end with their children)."""
    found: dict[str, str] = {}
    batches: list[str] = []
    for status in ("queued", "running"):
        for job in repo.jobs_with_status(session, status):
            kind = kinds.KINDS.get(job.kind)
            if status == "running" and kind is not None and kind.ends_with_children:
                batches.append(job.id)
                continue
            reason = suspect_reason(job, now, limits)
            if reason is not None:
                found[job.id] = reason
    return found, batches


def suspect_reason(job: Job, now: datetime, limits: SweepLimits) -> str | None:
    """Why a job (as read) is suspect: "lost", "deadline", or None when it is not."""
    if job.status == "queued":
        waited = now - as_utc(job.enqueued_at or job.created_at)
        return "lost" if waited > timedelta(seconds=limits.requeue_after_s) else None
    if job.status != "running":
        return None
    if job.started_at and now - running_since(job) > timedelta(seconds=limits.job_deadline_s):
        return "deadline"
    return "lost" if deadline_passed(job, limits.stall_after_s, now) else None


def running_since(job: Job) -> datetime:
    """When the job's deadline started: its start, or the last time the sweeper saw it waiting
    for a worker (enqueued_at; a job waiting in a queue is not running)."""
    started = as_utc(job.started_at)
    seen_waiting = as_utc(job.enqueued_at) if job.enqueued_at else None
    return max(started, seen_waiting) if seen_waiting else started


# ---------------------------------------------------------------- ops batches


def analyses_for_batch(session: Session, params: dict) -> list[Analysis]:
    """Stored analyses matching an ops batch's filters (since, until, exercise, user_id)."""
    rows = repo.ended_analyses(
        session,
        since=datetime.fromisoformat(params["since"]) if params.get("since") else None,
        until=datetime.fromisoformat(params["until"]) if params.get("until") else None,
        user_id=params.get("user_id"))
    wanted = params.get("exercise")
    if wanted:
        rows = [a for a in rows if a.exercise_hint == wanted
                or ((a.result or {}).get("exercise") or {}).get("label") == wanted]
    return list(rows)


def batch_summary(session: Session, batch: Job) -> dict:
    counts = {"succeeded": 0, "failed": 0, "canceled": 0, "queued": 0, "running": 0}
    counts.update(repo.child_status_counts(session, batch.id))
    params = batch.params or {}
    return {"total": params.get("total", 0), "skipped": params.get("skipped", 0),
            "reprocessed": counts["succeeded"], "failed": counts["failed"],
            "canceled": counts["canceled"], "pending": counts["queued"] + counts["running"]}


def child_job_ended(session: Session, batch_id: str, emit: Emit) -> None:
    """A child of a batch ended: move the batch's progress; the last child ends the batch."""
    batch = session.get(Job, batch_id)
    if batch is None or batch.status in TERMINAL_STATUSES:
        return
    summary = batch_summary(session, batch)
    done = summary["reprocessed"] + summary["failed"] + summary["canceled"]
    todo = done + summary["pending"]
    batch.progress = int(100 * done / todo) if todo else 100
    batch.heartbeat_at = utcnow()
    if summary["pending"] == 0:
        finish_batch(session, batch, emit)


def finish_batch(session: Session, batch: Job, emit: Emit) -> dict:
    summary = batch_summary(session, batch)
    batch.status, batch.progress, batch.stage = "succeeded", 100, "done"
    batch.result = summary
    batch.finished_at = utcnow()
    emit(session, "batch.completed", batch.user_id,
         {"batch_id": batch.id, "job_id": batch.id, **summary,
          "links": {"job": f"/api/v1/jobs/{batch.id}"}}, key=batch.id)
    return summary


def create_job(session: Session, *, user_id: str, kind: str, params: dict | None = None,
               subject_type: str | None = None, subject_id: str | None = None,
               idempotency_key: str | None = None, priority: int | None = None,
               batch_priority: int | None = None, request_fingerprint: str | None = None,
               enqueued_at: datetime | None = None) -> Job:
    """A queued job row. `priority` is the broker priority its messages are sent at (None: live
    work); kinds marked batch run at `batch_priority` whoever creates them. Fields known before
    the insert go into it (one statement while SQLite's write lock is held, not an insert and
    an update)."""
    if priority is None and kinds.get(kind).batch:
        priority = batch_priority
    job = Job(user_id=user_id, kind=kind, params=params or {}, subject_type=subject_type,
              subject_id=subject_id, idempotency_key=idempotency_key, status="queued",
              priority=priority, request_fingerprint=request_fingerprint,
              enqueued_at=enqueued_at)
    session.add(job)
    session.flush()
    return job


def reprocess_batch(session: Session, batch_id: str, models_key_for: Callable[[str], str],
                    result_exists: Callable[[Session, str, str], bool], batch_priority: int
                    ) -> tuple[list[tuple[str, str]], dict | None]:
    """Make the batch's child jobs: one per matching analysis without a result from the current
    models (`models_key_for(source)`). Returns the children to send (id, kind), and the summary
    when the batch already had children (a redelivery makes none)."""
    batch = session.get(Job, batch_id)
    if repo.child_jobs(session, batch_id):
        return [], batch_summary(session, batch)
    analyses = analyses_for_batch(session, batch.params or {})
    children: list[tuple[str, str]] = []
    for analysis in analyses:
        if result_exists(session, analysis.id, models_key_for(analysis.source)):
            continue
        kind = kinds.analysis_kind(analysis.source)
        child = create_job(session, user_id=analysis.user_id, kind=kind,
                           params={"analysis_id": analysis.id, "batch_id": batch_id},
                           subject_type="analysis", subject_id=analysis.id,
                           priority=batch_priority)
        child.parent_id = batch_id
        child.enqueued_at = utcnow()
        analysis.status = "queued"
        children.append((child.id, kind))
    batch.params = {**(batch.params or {}), "total": len(analyses),
                    "skipped": len(analyses) - len(children)}
    batch.stage = "reprocessing"
    return children, None


def cancel(session: Session, job: Job) -> None:
    """Cancel a job that has not ended, and the children of a batch that have not ended; their
    remaining tasks stop at their next step. A canceled re-run keeps the analysis' result."""
    for canceled in (job, *repo.child_jobs(session, job.id, open_only=True)):
        canceled.status, canceled.finished_at = "canceled", utcnow()
        if canceled.subject_type == "analysis":
            analysis = session.get(Analysis, canceled.subject_id)
            if analysis is not None and analysis.status in ("queued", "running"):
                analysis.status = "succeeded" if analysis.result else "canceled"
