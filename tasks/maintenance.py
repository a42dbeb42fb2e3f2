"""Periodic upkeep: the sweeper that makes the database, not the broker, the record of truth."""

from __future__ import annotations

import logging

from celery_config import BATCH_PRIORITY
from config import settings
from domain.jobs import service as jobs
from domain.jobs import sweeper
from domain.video import service as video
from infra.logs import log_event
from models import Job
from models import repository as repo
from models.db import session_scope
from tasks import events
from tasks.enqueue import BrokerUnavailable, broker_view, live_task_ids, send_job
from tasks.jobs import JobTask, fail_job
from workers.celery_app import app

logger = logging.getLogger("tasks.maintenance")


def _limits() -> jobs.SweepLimits:
    return jobs.SweepLimits(requeue_after_s=settings.requeue_after_s,
                            stall_after_s=settings.stall_after_s,
                            max_resends=settings.max_resends,
                            job_deadline_s=settings.job_deadline_s)


@app.task(name="maintenance.sweep_stuck_jobs")
def sweep_stuck_jobs() -> dict:
    """Re-send jobs whose messages were lost; fail those that keep getting lost or run past
    their deadline (the rules: domain/jobs/sweeper.py)."""
    limits = _limits()
    found = sweeper.find_suspects(limits, events.emit)
    if not found:
        return sweeper.Sweep().summary()
    view = _read_broker()
    live = _ask_workers() if sweeper.needs_live_workers(found, view, limits) else None
    sweep = sweeper.decide(found, limits, view, live)
    for job_id, kind, priority in sweep.resend:
        try:
            send_job(job_id, kind, priority=priority)
        except BrokerUnavailable as exc:
            log_event(logger, "sweeper could not re-send a job", level=logging.WARNING,
                      job_id=job_id, error=str(exc)[:300])
    for job_id in sweep.failed:
        fail_job(job_id, "job_stalled", "the job stopped making progress and was abandoned")
    for job_id in sweep.timed_out:
        fail_job(job_id, "job_timeout", "the job ran past its deadline")
    summary = sweep.summary()
    if sweep.resend or sweep.failed or sweep.timed_out:
        log_event(logger, "sweeper acted", resent=summary["resent"], failed=sweep.failed,
                  timed_out=sweep.timed_out, waiting=len(sweep.waiting))
    return summary


def _read_broker():
    """What the broker holds (None when Redis cannot be read: then nothing is re-sent)."""
    try:
        return broker_view()
    except Exception as exc:
        log_event(logger, "sweeper could not read the broker; nothing re-sent",
                  level=logging.WARNING, error=str(exc)[:300])
        return None


def _ask_workers() -> set[str] | None:
    try:
        return live_task_ids()
    except Exception as exc:
        log_event(logger, "sweeper could not ask the workers", level=logging.WARNING,
                  error=str(exc)[:300])
        return None


# ---------------------------------------------------------------- batch reprocessing (ops)


class BatchTask(JobTask):
    finishes_job = False  # the batch ends with its last child (or at once when it has none)


@app.task(bind=True, base=BatchTask, name="maintenance.reprocess_batch")
def reprocess_batch(self, job_id: str) -> dict | None:
    """Re-run stored analyses through the current models, at batch priority.

    Analyses that already have a result from the current model versions are skipped, so running
    the same batch twice adds nothing; each re-run analysis is a child job of this batch, which
    ends when its last child does.
    """
    cfg = video.VideoConfig.from_settings(settings)
    with session_scope() as session:
        children, summary = jobs.reprocess_batch(
            session, job_id, lambda source: video.models_key(video.models_used(source, cfg)),
            video.has_result, BATCH_PRIORITY)
    if summary is not None:  # redelivered: the children were already made
        return summary
    for child_id, kind in children:
        send_job(child_id, kind, priority=BATCH_PRIORITY)
    if not children:
        with session_scope() as session:
            return jobs.finish_batch(session, session.get(Job, job_id), events.emit)
    return None  # the last child ends the batch (child_job_ended)


# ---------------------------------------------------------------- storage hygiene

@app.task(name="maintenance.sweep_orphan_files")
def sweep_orphan_files() -> dict:
    """Remove stored files nothing refers to: uploads left in incoming/ by a crashed request
    (this host's; with object storage each web host sweeps its own), and the files of deleted
    users (a task still running when the account was deleted may have written after it)."""
    import time

    from infra import storage

    # Files younger than the grace period are left alone (an upload or a task may be writing).
    cutoff = time.time() - settings.orphan_grace_s
    removed = storage.sweep_scratch(settings.orphan_grace_s)
    folders = storage.folders("users", 2)  # users/<user>/ -> its newest file's time
    if folders:
        with session_scope() as session:
            known = repo.user_ids(session)
        for prefix, newest in sorted(folders.items()):
            user_id = prefix.split("/")[1]
            # Deleting twice is harmless: a second sweep run by mistake finds nothing left.
            if user_id not in known and newest < cutoff:
                storage.delete_prefix(prefix)
                removed.append(prefix.rstrip("/"))
    if removed:
        log_event(logger, "orphan files removed", removed=removed[:50], count=len(removed))
    return {"removed": removed}
