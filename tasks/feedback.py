"""Feedback tasks: the first step of a feedback job (then plans.regenerate runs)."""

from __future__ import annotations

from domain.plans import service
from models.db import session_scope
from tasks import events
from tasks.jobs import JobTask, update_progress
from workers.celery_app import app


class FeedbackStep(JobTask):
    finishes_job = False  # the chain's last step (plans.regenerate) ends the job


@app.task(bind=True, base=FeedbackStep, name="feedback.record")
def record(self, job_id: str) -> dict:
    """Check the feedback, keep it as training signal (profile snapshot), announce it."""
    update_progress(job_id, 20, "recording_feedback")
    with session_scope() as session:
        return service.record_feedback(session, job_id=job_id, emit=events.emit)
