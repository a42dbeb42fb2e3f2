"""Periodic upkeep: the sweeper that makes the database, not the broker, the record of truth."""

from __future__ import annotations

import logging

from celery_config import BATCH_PRIORITY
from config import settings
from domain.jobs import service as jobs
from domain.video import service as video
from infra.logs import log_event
from models import Job
from models import repository as repo
from models.base import utcnow
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
    """Re-send jobs whose messages were lost (queued too long, or running with a silent
    heartbeat, and no message of theirs in the broker); fail those that keep getting lost or
    run past their deadline.

    A job with a message waiting in its queue is not lost, however long it waits (a large
    reprocessing batch, a busy hour): it is neither re-sent nor counted toward `job_stalled`,
    and the time it waits for a worker does not count toward its deadline (a running job seen
    waiting gets `enqueued_at` = now; JOB_DEADLINE_S counts from the later of that and its
    start).
    """
    limits = _limits()
    now = utcnow()
    with session_scope() as session:
        suspects, batches = jobs.suspects(session, now, limits)
        for batch_id in batches:
            # Children that ended at the same moment may each have missed the other.
            jobs.child_job_ended(session, batch_id, events.emit)
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
        if view is not None and any(view.taken_long_ago(job_id, limits.stall_after_s)
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
            again, _ = jobs.suspects(session, now, limits)
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
                elif view.held(job_id, limits.stall_after_s, live):
                    waiting.append(job_id)
                elif job.resends >= limits.max_resends:
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
    """Remove stored files nothing refers to: uploads left in incoming/ by a crashed request,
    and the folders of deleted users (a task still running when the account was deleted may
    have written after it)."""
    import shutil
    import time

    from infra import storage

    # Files younger than the grace period are left alone (an upload or a task may be writing).
    cutoff = time.time() - settings.orphan_grace_s
    removed: list[str] = []
    for path in storage.incoming_dir().iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(f"incoming/{path.name}")
    users_root = storage.root() / "users"
    if users_root.is_dir():
        with session_scope() as session:
            known = repo.user_ids(session)
        for folder in users_root.iterdir():
            if folder.name not in known and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(f"users/{folder.name}")
    if removed:
        log_event(logger, "orphan files removed", removed=removed[:50], count=len(removed))
    return {"removed": removed}
