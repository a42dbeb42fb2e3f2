"""Plan tasks: load the job, call the plan service (domain/plans/service.py), return.

plans.generate    POST /plans: this week's plan (a new version if the week already has one)
plans.regenerate  after feedback: next week's plan, adjusted the way the feedback asked
"""

from __future__ import annotations

from config import settings
from domain.plans import service
from domain.plans.network import PlanScorer
from models import Job
from models.db import session_scope
from tasks import events
from tasks.jobs import JobTask, update_progress
from workers import model_registry
from workers.celery_app import app


def _load_scorer() -> PlanScorer:
    return PlanScorer.load(settings.artifacts_dir / "plans" / settings.plan_model_version)


model_registry.register("plan_scorer", _load_scorer)


def plan_generation() -> service.PlanGeneration:
    return service.PlanGeneration(scorer=model_registry.get("plan_scorer"),
                                  model_version=settings.plan_model_version, emit=events.emit)


# stage: set by JobTask in the transaction that starts the job (a separate progress write per
# job, for a job of a few milliseconds, cost SQLite's one writer a transaction per POST /plans)
@app.task(bind=True, base=JobTask, name="plans.generate", stage="scoring")
def generate(self, job_id: str) -> dict:
    """POST /plans: this week's plan, or a new version of it (e.g. after a profile change)."""
    with session_scope() as session:
        user_id = session.get(Job, job_id).user_id
        return service.generate_for_job(session, plan_generation(), job_id=job_id,
                                        user_id=user_id)


@app.task(bind=True, base=JobTask, name="plans.regenerate")
def regenerate(self, job_id: str) -> dict:
    """Second step of a feedback job: next week's plan through the network."""
    update_progress(job_id, 60, "regenerating")
    with session_scope() as session:
        return service.regenerate_after_feedback(session, plan_generation(), job_id=job_id)
