"""Job lifecycle shared by every task: the jobs table is the record of truth.

A task is called with the job id first. The base class moves the job queued → running, runs the
task body, and ends the job succeeded (with the body's result) or failed (with an error code). A
task that is delivered twice (worker lost, broker restart) finds its job already ended and stops.
"""

from __future__ import annotations

import logging
import time

from celery import Task
from celery.exceptions import Ignore, Retry, SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from config import settings
from domain.errors import DomainError
from domain.jobs import service as jobs_service
from infra.logs import current_job_id, log_event
from models import TERMINAL_STATUSES, Job
from models.base import utcnow
from models.db import session_scope
from tasks import events

logger = logging.getLogger("tasks")

TRANSIENT_ERRORS = (OperationalError, ConnectionError, TimeoutError)


# Progress and the end of a job are rules of the jobs service; tasks import them from here.
update_progress = jobs_service.update_progress
deadline_passed = jobs_service.deadline_passed


def _end_job(job_id: str, status: str, **fields) -> bool:
    return jobs_service.end_job(job_id, status, events.emit, **fields)


def fail_job(job_id: str, code: str, message: str) -> None:
    if _end_job(job_id, "failed", error_code=code, error_message=message[:2000]):
        log_event(logger, "job failed", level=logging.WARNING, code=code, error=message[:500])


def succeed_job(job_id: str, result: dict | None) -> None:
    _end_job(job_id, "succeeded", progress=100, stage="done", result=result)


class JobTask(Task):
    """Base for tasks whose first argument is a job id."""

    abstract = True
    #: the worker's main process counts lost pool processes per job and stops re-queueing a job
    #: that keeps killing them (workers/losses.py)
    Request = "workers.losses:JobRequest"
    #: the task that ends the job (the last step of a chain); earlier steps leave it running
    finishes_job = True
    #: the stage name shown on the job while this task runs
    stage: str | None = None
    max_retries = 3

    def __call__(self, job_id: str, *args, **kwargs):
        token = current_job_id.set(job_id)
        try:
            return self._run_job(job_id, *args, **kwargs)
        finally:
            current_job_id.reset(token)

    def _run_job(self, job_id: str, *args, **kwargs):
        with session_scope() as session:
            job = session.get(Job, job_id)
            if job is None:
                log_event(logger, "job not found; message dropped", level=logging.WARNING)
                raise Ignore()
            if job.status in TERMINAL_STATUSES:
                # Redelivered after the job ended (or the job was canceled): do nothing twice.
                log_event(logger, "job already ended; skipping", status=job.status, task=self.name)
                raise Ignore()
            if job.status == "queued":
                job.status = "running"
                job.started_at = utcnow()
            if not self.request.retries:
                job.attempts += 1
            if self.stage:
                job.stage = self.stage
            job.heartbeat_at = utcnow()
            params, losses = job.params, job.worker_losses
        if settings.fault_injection:  # test-only (workers/faults.py)
            from workers import faults

            faults.inject(params, losses)
        log_event(logger, "task started", task=self.name)
        started = time.monotonic()
        try:
            result = self.run(job_id, *args, **kwargs)
        except (Ignore, Retry):
            raise
        except SoftTimeLimitExceeded:
            fail_job(job_id, "timeout", f"{self.stage or self.name} ran past its time limit")
            raise Ignore() from None
        except DomainError as exc:
            fail_job(job_id, exc.code, exc.message)
            raise Ignore() from None
        except TRANSIENT_ERRORS as exc:
            if self.request.retries < self.max_retries:
                log_event(logger, "transient error; retrying", level=logging.WARNING,
                          error=str(exc))
                raise self.retry(exc=exc, countdown=2 ** self.request.retries) from None
            fail_job(job_id, "internal_error", "a dependency stayed unavailable; try again later")
            raise Ignore() from None
        except Exception:
            logger.exception("task crashed", extra={"fields": {"task": self.name}})
            fail_job(job_id, "internal_error", "the task failed unexpectedly; it has been logged")
            raise Ignore() from None
        log_event(logger, "task finished", task=self.name,
                  duration_ms=round((time.monotonic() - started) * 1000, 1))
        if self.finishes_job:
            succeed_job(job_id, result)
        return result
