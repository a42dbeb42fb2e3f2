"""Feedback tasks: the first step of a feedback job (then plans.regenerate runs)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import DomainError
from models import Plan, PlanFeedback, Profile
from models.db import session_scope
from tasks import events
from tasks.jobs import JobTask, update_progress
from workers.celery_app import app


def feedback_of_job(session: Session, job_id: str) -> PlanFeedback:
    feedback = session.scalar(select(PlanFeedback).where(PlanFeedback.job_id == job_id))
    if feedback is None:
        raise DomainError("the feedback of this job is missing", code="feedback_missing")
    return feedback


class FeedbackStep(JobTask):
    finishes_job = False  # the chain's last step (plans.regenerate) ends the job


@app.task(bind=True, base=FeedbackStep, name="feedback.record")
def record(self, job_id: str) -> dict:
    """Check the feedback, keep it as training signal (profile snapshot), announce it."""
    update_progress(job_id, 20, "recording_feedback")
    with session_scope() as session:
        feedback = feedback_of_job(session, job_id)
        plan = session.get(Plan, feedback.plan_id)
        if session.get(Profile, feedback.user_id) is None:
            raise DomainError("create a profile first", code="profile_required")
        events.emit(session, "feedback.received", feedback.user_id,
                    {"plan_id": plan.id, "week": plan.week, "rating": feedback.rating,
                     "job_id": job_id}, key=job_id)
        return {"plan_id": plan.id, "rating": feedback.rating}
