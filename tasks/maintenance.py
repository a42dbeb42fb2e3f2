"""Periodic upkeep: the sweeper that makes the database, not the broker, the record of truth."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from sqlalchemy import select

from config import settings
from infra.logs import log_event
from models import Job
from models.base import as_utc, utcnow
from models.db import session_scope
from tasks.jobs import JobTask, deadline_passed, fail_job
from workers.celery_app import app

logger = logging.getLogger("tasks.maintenance")

#: a queued job not started after this long, with no message in the broker, is sent again
#: (its message was lost: published while Redis was down, or dropped by a broker restart)
REQUEUE_AFTER_S = int(os.environ.get("REQUEUE_AFTER_S", "120"))
#: a running job whose heartbeat is older than this, with no message in the broker, is sent
#: again (its worker died, or the broker lost a message mid-pipeline); every step is
#: idempotent, so it resumes where it was. A message a worker took less than this long ago
#: counts as being run.
STALL_AFTER_S = int(os.environ.get("STALL_AFTER_S", "300"))
#: after this many re-sends a job is failed as stalled
MAX_RESENDS = int(os.environ.get("MAX_RESENDS", "3"))


def _suspects(session, now) -> tuple[dict[str, str], list[str]]:
    """Jobs that may be lost or past their deadline (id -> "lost" | "deadline"), and the
    running batches (they end with their children)."""
    suspects: dict[str, str] = {}
    batches: list[str] = []
    for job in session.scalars(select(Job).where(Job.status == "queued")):
        if now - as_utc(job.enqueued_at or job.created_at) > timedelta(seconds=REQUEUE_AFTER_S):
            suspects[job.id] = "lost"
    for job in session.scalars(select(Job).where(Job.status == "running")):
        if job.kind == "batch.reprocess":
            batches.append(job.id)
        elif job.started_at and now - _running_since(job) > timedelta(
                seconds=settings.job_deadline_s):
            suspects[job.id] = "deadline"
        elif deadline_passed(job, STALL_AFTER_S, now):
            suspects[job.id] = "lost"
    return suspects, batches


def _running_since(job: Job):
    """When the job's deadline started: its start, or the last time the sweeper saw it waiting
    for a worker (enqueued_at; a job waiting in a queue is not running)."""
    started = as_utc(job.started_at)
    seen_waiting = as_utc(job.enqueued_at) if job.enqueued_at else None
    return max(started, seen_waiting) if seen_waiting else started


@app.task(name="maintenance.sweep_stuck_jobs")
def sweep_stuck_jobs() -> dict:
    """Re-send jobs whose messages were lost (queued too long, or running with a silent
    heartbeat, and no message of theirs in the broker); fail those that keep getting lost or
    run past their deadline.

    A job with a message waiting in its queue is not lost, however long it waits (a large
    reprocessing batch, a busy hour): it is neither re-sent nor counted toward `job_stalled`,
    and the time it waits for a worker does not count toward its deadline (a running job seen
    waiting gets `enqueued_at` = now; JOB_DEADLINE_S counts from the later of that and its
    start).
    """
    from tasks.enqueue import BrokerUnavailable, broker_view, live_task_ids, send_job

    now = utcnow()
    with session_scope() as session:
        suspects, batches = _suspects(session, now)
        for batch_id in batches:
            # Children that ended at the same moment may each have missed the other.
            child_job_ended(session, batch_id)
    resend: list[tuple[str, str, int | None]] = []
    failed: list[str] = []
    timed_out: list[str] = []
    waiting: list[str] = []
    if suspects:
        try:
            # Read the broker first, then the jobs again: a message that left its queue since
            # was taken by a worker, which refreshed the job's heartbeat on starting it.
            view = broker_view()
        except Exception as exc:
            log_event(logger, "sweeper could not read the broker; nothing re-sent",
                      level=logging.WARNING, error=str(exc)[:300])
            view = None
        live = None
        if view is not None and any(view.taken_long_ago(job_id, STALL_AFTER_S)
                                    for job_id in suspects):
            # Taken by a worker long ago and still unacknowledged: running on a live worker
            # (a long step), or left by a worker that died. Ask the live ones.
            try:
                live = live_task_ids()
            except Exception as exc:
                log_event(logger, "sweeper could not ask the workers", level=logging.WARNING,
                          error=str(exc)[:300])
        now = utcnow()
        with session_scope() as session:
            again, _ = _suspects(session, now)
            for job_id, reason in again.items():
                if suspects.get(job_id) != reason:
                    continue  # it became a suspect after the broker was read: next sweep
                job = session.get(Job, job_id)
                if view is not None and view.waiting(job_id):
                    waiting.append(job_id)
                    if job.status == "running":
                        job.enqueued_at = now  # its deadline counts from the end of its wait
                elif reason == "deadline":
                    timed_out.append(job_id)
                elif view is None:
                    continue
                elif view.held(job_id, STALL_AFTER_S, live):
                    waiting.append(job_id)
                elif job.resends >= MAX_RESENDS:
                    failed.append(job_id)
                else:
                    job.resends += 1
                    job.heartbeat_at = now
                    if job.status == "queued":
                        job.enqueued_at = now
                    resend.append((job.id, job.kind, job.priority))
    for job_id, kind, priority in resend:
        try:
            send_job(job_id, kind, priority=priority)
        except BrokerUnavailable as exc:
            log_event(logger, "sweeper could not re-send a job", level=logging.WARNING,
                      job_id=job_id, error=str(exc)[:300])
    for job_id in failed:
        fail_job(job_id, "job_stalled", "the job stopped making progress and was abandoned")
    for job_id in timed_out:
        fail_job(job_id, "job_timeout", "the job ran past its deadline")
    resent = [job_id for job_id, _, _ in resend]
    if resent or failed or timed_out:
        log_event(logger, "sweeper acted", resent=resent, failed=failed, timed_out=timed_out,
                  waiting=len(waiting))
    return {"resent": resent, "failed": failed, "timed_out": timed_out, "waiting": waiting}


# ---------------------------------------------------------------- batch reprocessing (ops)


def select_analyses(session, params: dict) -> list:
    """Stored analyses matching an ops batch's filters (since, until, exercise, user_id)."""
    from datetime import datetime

    from models import Analysis

    stmt = select(Analysis).where(Analysis.status.in_(("succeeded", "failed")))
    if params.get("since"):
        stmt = stmt.where(Analysis.created_at >= datetime.fromisoformat(params["since"]))
    if params.get("until"):
        stmt = stmt.where(Analysis.created_at < datetime.fromisoformat(params["until"]))
    if params.get("user_id"):
        stmt = stmt.where(Analysis.user_id == params["user_id"])
    rows = session.scalars(stmt.order_by(Analysis.created_at)).all()
    if params.get("exercise"):
        wanted = params["exercise"]
        rows = [a for a in rows if a.exercise_hint == wanted
                or ((a.result or {}).get("exercise") or {}).get("label") == wanted]
    return rows


class BatchTask(JobTask):
    finishes_job = False  # the batch ends with its last child (or at once when it has none)


@app.task(bind=True, base=BatchTask, name="maintenance.reprocess_batch")
def reprocess_batch(self, job_id: str) -> dict | None:
    """Re-run stored analyses through the current models, at batch priority.

    Analyses that already have a result from the current model versions are skipped, so running
    the same batch twice adds nothing; each re-run analysis is a child job of this batch, which
    ends when its last child does.
    """
    from celery_config import BATCH_PRIORITY
    from models import AnalysisResult
    from tasks.enqueue import create_job
    from tasks.video import models_key, models_used

    children = []
    with session_scope() as session:
        batch = session.get(Job, job_id)
        existing = session.scalars(select(Job).where(Job.parent_id == job_id)).all()
        if existing:  # redelivered: the children were already made
            return _batch_summary(session, batch)
        analyses = select_analyses(session, batch.params or {})
        skipped = 0
        for analysis in analyses:
            key = models_key(models_used(analysis.source))
            done = session.scalar(select(AnalysisResult.id).where(
                AnalysisResult.analysis_id == analysis.id, AnalysisResult.models_key == key))
            if done is not None:
                skipped += 1
                continue
            kind = "keypoints.analyze" if analysis.source == "keypoints" else "video.analyze"
            child = create_job(session, user_id=analysis.user_id, kind=kind,
                               params={"analysis_id": analysis.id, "batch_id": job_id},
                               subject_type="analysis", subject_id=analysis.id,
                               priority=BATCH_PRIORITY)
            child.parent_id = job_id
            child.enqueued_at = utcnow()
            analysis.status = "queued"
            children.append((child.id, kind))
        batch.params = {**(batch.params or {}), "total": len(analyses), "skipped": skipped}
        batch.stage = "reprocessing"
    from tasks.enqueue import send_job

    for child_id, kind in children:
        send_job(child_id, kind, priority=BATCH_PRIORITY)
    if not children:
        with session_scope() as session:
            return _finish_batch(session, session.get(Job, job_id))
    return None  # the last child ends the batch (child_job_ended)


def _batch_summary(session, batch: Job) -> dict:
    counts = {"succeeded": 0, "failed": 0, "canceled": 0, "queued": 0, "running": 0}
    for (status,) in session.execute(select(Job.status).where(Job.parent_id == batch.id)):
        counts[status] = counts.get(status, 0) + 1
    params = batch.params or {}
    return {"total": params.get("total", 0), "skipped": params.get("skipped", 0),
            "reprocessed": counts["succeeded"], "failed": counts["failed"],
            "canceled": counts["canceled"], "pending": counts["queued"] + counts["running"]}


def child_job_ended(session, batch_id: str) -> None:
    batch = session.get(Job, batch_id)
    if batch is None or batch.status in ("succeeded", "failed", "canceled"):
        return
    summary = _batch_summary(session, batch)
    done = summary["reprocessed"] + summary["failed"] + summary["canceled"]
    todo = done + summary["pending"]
    batch.progress = int(100 * done / todo) if todo else 100
    batch.heartbeat_at = utcnow()
    if summary["pending"] == 0:
        _finish_batch(session, batch)


def _finish_batch(session, batch: Job) -> dict:
    from tasks import events

    summary = _batch_summary(session, batch)
    batch.status, batch.progress, batch.stage = "succeeded", 100, "done"
    batch.result = summary
    batch.finished_at = utcnow()
    events.emit(session, "batch.completed", batch.user_id,
                {"batch_id": batch.id, "job_id": batch.id, **summary,
                 "links": {"job": f"/api/v1/jobs/{batch.id}"}}, key=batch.id)
    return summary


# ---------------------------------------------------------------- storage hygiene

#: files younger than this are left alone (an upload or a task may be writing them)
ORPHAN_GRACE_S = int(os.environ.get("ORPHAN_GRACE_S", "3600"))


@app.task(name="maintenance.sweep_orphan_files")
def sweep_orphan_files() -> dict:
    """Remove stored files nothing refers to: uploads left in incoming/ by a crashed request,
    and the folders of deleted users (a task still running when the account was deleted may
    have written after it)."""
    import shutil
    import time

    from infra import storage
    from models import User

    cutoff = time.time() - ORPHAN_GRACE_S
    removed: list[str] = []
    for path in storage.incoming_dir().iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(f"incoming/{path.name}")
    users_root = storage.root() / "users"
    if users_root.is_dir():
        with session_scope() as session:
            known = set(session.scalars(select(User.id)))
        for folder in users_root.iterdir():
            if folder.name not in known and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(f"users/{folder.name}")
    if removed:
        log_event(logger, "orphan files removed", removed=removed[:50], count=len(removed))
    return {"removed": removed}
