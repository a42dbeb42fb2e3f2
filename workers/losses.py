"""Worker losses: a job whose worker process keeps dying under it fails; it is not re-run forever.

Celery re-queues the message of a task whose pool process died (`task_acks_late` +
`task_reject_on_worker_lost`), so work survives an OOM kill of a healthy process. But an input
that itself kills the process (a video that makes a native decoder crash or exhaust memory)
comes back, kills the next process, and so on forever, taking a pool process down each time.

The worker's main process sees every such loss (`Request.on_failure` with `WorkerLostError`,
see `JobRequest`). It counts the loss on the job row (`jobs.worker_losses`) and, at
`MAX_WORKER_LOSSES`, fails the job `worker_lost` and drops the message instead of re-queueing
it. The count lives in the database, next to the job's other counters: it is per job (the many
tasks of one video share it), survives a Redis restart or a worker restart, and is readable by
operators with the job. Counting costs one UPDATE per lost process, a rare event.

A whole worker killed at once (main process too) is not seen here: its unacknowledged messages
come back after the visibility timeout and the beat sweeper's re-send limit bounds those.
"""

from __future__ import annotations

import logging

from billiard.einfo import ExceptionWithTraceback
from celery.exceptions import WorkerLostError
from celery.worker.request import Request
from sqlalchemy import select, update

from config import settings
from infra.logs import current_job_id, log_event
from models import TERMINAL_STATUSES, Job
from models.db import get_engine, reset_engines, session_scope

logger = logging.getLogger("workers.losses")

ERROR_CODE = "worker_lost"


def record_worker_loss(job_id: str) -> int | None:
    """Add one worker loss to the job; the new count, or None if the job is gone or ended."""
    with session_scope() as session:
        counted = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.not_in(TERMINAL_STATUSES))
            .values(worker_losses=Job.worker_losses + 1)
            .execution_options(synchronize_session=False))
        if counted.rowcount == 0:
            return None
        return session.scalar(select(Job.worker_losses).where(Job.id == job_id))


def give_up_after_loss(job_id: str, task_name: str) -> bool:
    """Count a worker loss under the job; fail it at the limit. True: do not re-queue."""
    from tasks.jobs import fail_job

    limit = settings.max_worker_losses
    token = current_job_id.set(job_id)
    try:
        losses = record_worker_loss(job_id)
        if losses is None:
            return False  # a redelivery finds the job ended and does nothing
        log_event(logger, "worker process lost under job", level=logging.WARNING,
                  task=task_name, losses=losses, limit=limit)
        if losses < limit:
            return False
        fail_job(job_id, ERROR_CODE,
                 f"the worker process running this job died {losses} times (out of memory, or "
                 "a crash on this input); it is not tried again")
        return True
    except Exception:
        logger.exception("could not count a worker loss; the message is re-queued")
        return False
    finally:
        current_job_id.reset(token)
        # The main process forks new pool processes: leave it no open database connection.
        get_engine().dispose()
        reset_engines()


def _is_worker_loss(exc: BaseException, request: Request) -> bool:
    if isinstance(exc, ExceptionWithTraceback):
        exc = exc.exc
    if isinstance(exc, WorkerLostError):
        return True
    # Billiard may report the child's exit as SystemExit before it is gone (as Celery does,
    # a loss unless the worker itself cancelled or revoked the task).
    return isinstance(exc, (SystemExit, KeyboardInterrupt)) and not (
        getattr(request, "_already_cancelled", False)
        or getattr(request, "_already_revoked", False))


class JobRequest(Request):
    """The request of a job task, as the worker's main process handles it (see module doc)."""

    _drop_message = False

    def on_failure(self, exc_info, send_failed_event=True, return_ok=False):
        task = self.task
        if (task.acks_late and task.reject_on_worker_lost and self.args
                and _is_worker_loss(exc_info.exception, self)):
            self._drop_message = give_up_after_loss(str(self.args[0]), self.name)
        return super().on_failure(exc_info, send_failed_event=send_failed_event,
                                  return_ok=return_ok)

    def reject(self, requeue=False):
        # Celery re-queues the message of a lost worker; not once the job failed `worker_lost`.
        super().reject(requeue=requeue and not self._drop_message)
