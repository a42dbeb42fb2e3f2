"""Periodic upkeep: the sweeper that makes the database, not the broker, the record of truth."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from config import settings
from infra.logs import log_event
from models import Job
from models.base import as_utc, utcnow
from models.db import session_scope
from tasks.jobs import deadline_passed, fail_job
from workers.celery_app import app

logger = logging.getLogger("tasks.maintenance")

#: a queued job not started after this long is enqueued again (its message may be lost)
REQUEUE_AFTER_S = 120
MAX_REQUEUES = 3


@app.task(name="maintenance.sweep_stuck_jobs")
def sweep_stuck_jobs() -> dict:
    from tasks.enqueue import send_job

    requeued, failed = [], []
    now = utcnow()
    with session_scope() as session:
        stuck_queued = session.scalars(
            select(Job).where(Job.status == "queued")
            .where(Job.created_at < now - timedelta(seconds=REQUEUE_AFTER_S))
        ).all()
        running = session.scalars(select(Job).where(Job.status == "running")).all()
        to_requeue = []
        for job in stuck_queued:
            last = as_utc(job.enqueued_at or job.created_at)
            if now - last < timedelta(seconds=REQUEUE_AFTER_S):
                continue
            if job.attempts >= MAX_REQUEUES:
                failed.append(job.id)
            else:
                job.enqueued_at = now
                job.attempts += 1
                to_requeue.append(job)
        for job in running:
            if deadline_passed(job, settings.job_deadline_s, now):
                failed.append(job.id)
        session.flush()
        requeue = [(job.id, job.kind, job.params) for job in to_requeue]
    for job_id, kind, params in requeue:
        send_job(job_id, kind, params)
        requeued.append(job_id)
    for job_id in failed:
        fail_job(job_id, "job_stalled", "the job stopped making progress and was abandoned")
    if requeued or failed:
        log_event(logger, "sweeper acted", requeued=requeued, failed=failed)
    return {"requeued": requeued, "failed": failed}
