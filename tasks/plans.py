"""Plan tasks: score the library with the plan network and build the week.

plans.generate    POST /plans: this week's plan (a new version if the week already has one)
plans.regenerate  after feedback: next week's plan, adjusted the way the feedback asked
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config import settings
from domain.errors import DomainError
from domain.plans.library import parse_exercise
from domain.plans.network import PlanScorer
from domain.plans.profile import Profile as ProfileData
from domain.plans.service import generate_plan
from models import Exercise, Job, Plan, PlanFeedback, Profile, ReadinessEntry, User
from models.db import session_scope
from tasks import events
from tasks.feedback import feedback_of_job
from tasks.jobs import JobTask, update_progress
from workers import model_registry
from workers.celery_app import app

#: parts of a generated plan fed back into the next week's generation
PLAN_STATE_KEYS = ("set_delta", "excluded_ids", "readiness_score", "adjustment")

PROFILE_FIELDS = ("sex", "age", "height_cm", "weight_kg", "fitness_level", "injury", "equipment",
                  "workouts_per_week")


def _load_scorer() -> PlanScorer:
    return PlanScorer.load(settings.artifacts_dir / "plans" / settings.plan_model_version)


model_registry.register("plan_scorer", _load_scorer)


def load_library(session: Session) -> list:
    rows = session.scalars(select(Exercise).order_by(Exercise.id)).all()
    if not rows:
        raise DomainError("the exercise library is empty; run `flask exercises load`",
                          code="library_empty")
    return [parse_exercise(row.data, index) for index, row in enumerate(rows)]


def profile_data(profile: Profile, fitness_level: str | None = None) -> ProfileData:
    values = {name: getattr(profile, name) for name in PROFILE_FIELDS}
    if fitness_level:
        values["fitness_level"] = fitness_level
    return ProfileData(**values)


def recent_readiness(session: Session, user_id: str) -> float | None:
    """Today's readiness score (or yesterday's), which makes today's session lighter if low."""
    today = dt.datetime.now(dt.UTC).date()
    entry = session.scalar(select(ReadinessEntry).where(
        ReadinessEntry.user_id == user_id, ReadinessEntry.date >= today - dt.timedelta(days=1))
        .order_by(ReadinessEntry.date.desc()).limit(1))
    return entry.score if entry else None


def rating_history(session: Session, user_id: str, before_week: int | None = None) -> list[str]:
    """Ratings of earlier weeks, oldest first."""
    stmt = (select(PlanFeedback.rating).join(Plan, Plan.id == PlanFeedback.plan_id)
            .where(PlanFeedback.user_id == user_id).order_by(Plan.week))
    if before_week is not None:
        stmt = stmt.where(Plan.week < before_week)
    return list(session.execute(stmt).scalars().all())


def plan_from_draft(draft: dict, *, user_id: str, week: int, version: int, job_id: str,
                    profile: Profile, previous_plan_id: str | None) -> Plan:
    return Plan(user_id=user_id, week=week, version=version, status="active",
                model_version=settings.plan_model_version,
                fitness_level=draft.get("fitness_level", profile.fitness_level),
                rep_factor=float(draft.get("rep_factor", 1.0)), days=draft["days"],
                notes=draft.get("notes", []),
                state={key: draft.get(key) for key in PLAN_STATE_KEYS if key in draft},
                profile_snapshot={name: getattr(profile, name) for name in PROFILE_FIELDS},
                previous_plan_id=previous_plan_id, job_id=job_id)


def plan_basis(session: Session, user_id: str, week: int) -> tuple[dict | None, dict | None,
                                                                   list[str]]:
    """What week `week` is built from: last week's plan and the feedback given on it, and the
    ratings of the weeks before that (oldest first)."""
    rated = session.scalar(
        select(Plan).join(PlanFeedback, PlanFeedback.plan_id == Plan.id)
        .where(Plan.user_id == user_id, Plan.week == week - 1).limit(1))
    if rated is None:
        return None, None, rating_history(session, user_id, before_week=week - 1)
    feedback = session.scalar(select(PlanFeedback).where(PlanFeedback.plan_id == rated.id))
    previous = {**(rated.state or {}), "id": rated.id, "week": rated.week,
                "fitness_level": rated.fitness_level, "rep_factor": rated.rep_factor,
                "days": rated.days}
    return (previous, {"rating": feedback.rating, "exercise_ids": feedback.exercise_ids},
            rating_history(session, user_id, before_week=rated.week))


def store_plan(session: Session, draft: dict, *, user_id: str, week: int, job_id: str,
               profile: Profile, previous_plan_id: str | None) -> Plan:
    """Write the week's plan as its newest version; earlier versions become superseded.

    Two plan jobs of one user may finish at the same moment: the user's row is locked
    (PostgreSQL) and a lost race on the version number (SQLite) takes the next number."""
    session.scalar(select(User.id).where(User.id == user_id).with_for_update())
    for _attempt in range(5):
        newest = session.scalar(select(Plan.version)
                                .where(Plan.user_id == user_id, Plan.week == week)
                                .order_by(Plan.version.desc()).limit(1))
        plan = plan_from_draft(draft, user_id=user_id, week=week, version=(newest or 0) + 1,
                               job_id=job_id, profile=profile, previous_plan_id=previous_plan_id)
        try:
            with session.begin_nested():
                session.add(plan)
        except IntegrityError:
            continue
        break
    else:
        raise DomainError("another plan of this week was being written; try again",
                          code="plan_conflict")
    for old in session.scalars(select(Plan).where(Plan.user_id == user_id, Plan.week == week,
                                                  Plan.status == "active", Plan.id != plan.id)):
        old.status = "superseded"
    session.flush()
    if plan.fitness_level != profile.fitness_level:
        # Feedback in the same direction two weeks running moved the level: the profile follows.
        profile.fitness_level = plan.fitness_level
    events.emit(session, "plan.generated", user_id,
                {"plan_id": plan.id, "week": week, "version": plan.version, "job_id": job_id,
                 "links": {"plan": f"/api/v1/plans/{plan.id}"}}, key=job_id)
    return plan


def build(session: Session, job_id: str, user_id: str, week: int) -> dict:
    """Score the library with the plan network and build week `week` for the user."""
    done = session.scalar(select(Plan).where(Plan.job_id == job_id))
    if done is not None:  # redelivered after the plan was written: never a second plan
        return {"plan_id": done.id, "week": done.week, "version": done.version}
    profile = session.get(Profile, user_id)
    if profile is None:
        raise DomainError("create a profile first", code="profile_required")
    previous, feedback, history = plan_basis(session, user_id, week)
    draft = generate_plan(
        profile_data(profile), model_registry.get("plan_scorer"), load_library(session),
        week=week, previous_plan=previous, feedback=feedback, rating_history=history,
        readiness_score=recent_readiness(session, user_id))
    plan = store_plan(session, draft, user_id=user_id, week=week, job_id=job_id,
                      profile=profile, previous_plan_id=previous["id"] if previous else None)
    return {"plan_id": plan.id, "week": plan.week, "version": plan.version}


@app.task(bind=True, base=JobTask, name="plans.generate")
def generate(self, job_id: str) -> dict:
    """POST /plans: this week's plan, or a new version of it (e.g. after a profile change)."""
    update_progress(job_id, 10, "scoring")
    with session_scope() as session:
        user_id = session.get(Job, job_id).user_id
        latest = session.scalar(select(Plan).where(Plan.user_id == user_id)
                                .order_by(Plan.week.desc(), Plan.version.desc()).limit(1))
        week = 1 if latest is None else latest.week + (1 if feedback_given(session, latest)
                                                        else 0)
        return build(session, job_id, user_id, week)


def feedback_given(session: Session, plan: Plan) -> bool:
    found = session.scalar(select(PlanFeedback.id).where(PlanFeedback.plan_id == plan.id))
    return found is not None


@app.task(bind=True, base=JobTask, name="plans.regenerate")
def regenerate(self, job_id: str) -> dict:
    """Second step of a feedback job: next week's plan through the network, adjusted the way
    the feedback asked."""
    update_progress(job_id, 60, "regenerating")
    with session_scope() as session:
        feedback = feedback_of_job(session, job_id)
        rated = session.get(Plan, feedback.plan_id)
        rated.status = "completed"
        result = build(session, job_id, feedback.user_id, rated.week + 1)
        feedback.next_plan_id = result["plan_id"]
        return {**result, "previous_plan_id": rated.id, "rating": feedback.rating}
