"""Weekly plans, their days, and feedback that regenerates next week's plan."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from models import Plan, PlanFeedback, Profile
from models.base import utcnow
from web.auth import current_user, load_owned, login_required, subject_user_id
from web.db import db_session
from web.errors import ApiError
from web.jobs import enqueue, replay
from web.ratelimit import plans_limit
from web.schemas.common import JobAcceptedSchema, UserIdQuerySchema
from web.schemas.plans import FeedbackSchema, PlanSchema

blp = Blueprint("plans", __name__, url_prefix="/api/v1/plans", description="Weekly rehab plans")


def plan_to_dict(plan: Plan, feedback: PlanFeedback | None = None) -> dict:
    return {
        "id": plan.id, "user_id": plan.user_id, "week": plan.week, "version": plan.version,
        "status": plan.status, "created_at": plan.created_at, "model_version": plan.model_version,
        "fitness_level": plan.fitness_level, "rep_factor": plan.rep_factor, "notes": plan.notes,
        "days": plan.days,
        "feedback": {"rating": feedback.rating, "exercise_ids": feedback.exercise_ids,
                     "note": feedback.note, "next_plan_id": feedback.next_plan_id,
                     "created_at": feedback.created_at.isoformat()} if feedback else None,
    }


def load_plan(plan_id: str, *, write: bool = False) -> Plan:
    return load_owned(Plan, plan_id, "plan", write=write)


def feedback_of(plan: Plan) -> PlanFeedback | None:
    return db_session().scalar(select(PlanFeedback).where(PlanFeedback.plan_id == plan.id))


@blp.route("", methods=["POST"])
@login_required()
@blp.response(202, JobAcceptedSchema)
@plans_limit
def create_plan():
    """Generate this week's plan through the network (a job on the `plans` queue)."""
    first = replay("plan.generate")
    if first is not None:
        return first
    if db_session().get(Profile, current_user().id) is None:
        raise ApiError(409, "profile_required", "create a profile (PUT /api/v1/profile) first")
    return enqueue("plan.generate")


@blp.route("", methods=["GET"])
@login_required()
@blp.arguments(UserIdQuerySchema, location="query")
@blp.response(200, PlanSchema(many=True))
def list_plans(query: dict):
    """Plan history, newest week and version first."""
    user_id = subject_user_id(query.get("user_id"))
    plans = db_session().scalars(select(Plan).where(Plan.user_id == user_id)
                                 .order_by(Plan.week.desc(), Plan.version.desc())).all()
    return [plan_to_dict(plan, feedback_of(plan)) for plan in plans]


@blp.route("/current")
@login_required()
@blp.arguments(UserIdQuerySchema, location="query")
@blp.response(200, PlanSchema)
def current_plan(query: dict):
    """The plan the patient should follow now."""
    user_id = subject_user_id(query.get("user_id"))
    plan = db_session().scalar(select(Plan).where(Plan.user_id == user_id,
                                                  Plan.status == "active")
                               .order_by(Plan.week.desc(), Plan.version.desc()).limit(1))
    if plan is None:
        raise ApiError(404, "no_plan", "no plan yet; POST /api/v1/plans")
    return plan_to_dict(plan, feedback_of(plan))


@blp.route("/<plan_id>")
@login_required()
@blp.response(200, PlanSchema)
def get_plan(plan_id: str):
    plan = load_plan(plan_id)
    return plan_to_dict(plan, feedback_of(plan))


@blp.route("/<plan_id>/days/<int:day>/complete", methods=["POST"])
@login_required()
@blp.response(200, PlanSchema)
def complete_day(plan_id: str, day: int):
    """Mark one training day of the plan done."""
    plan = load_plan(plan_id, write=True)
    days = [dict(d) for d in plan.days]
    matching = [d for d in days if d["day"] == day]
    if not matching:
        raise ApiError(404, "not_found", f"the plan has no day {day}")
    if not matching[0]["completed"]:
        matching[0]["completed"] = True
        matching[0]["completed_at"] = utcnow().isoformat()
        plan.days = days  # reassign: JSON columns change only on assignment
        db_session().commit()
    return plan_to_dict(plan, feedback_of(plan))


@blp.route("/<plan_id>/feedback", methods=["POST"])
@login_required()
@blp.arguments(FeedbackSchema)
@blp.response(202, JobAcceptedSchema)
def give_feedback(body: dict, plan_id: str):
    """Rate the week; next week's plan is regenerated through the network (one per week)."""
    first = replay("feedback.process")
    if first is not None:
        return first
    plan = load_plan(plan_id, write=True)
    existing = feedback_of(plan)
    if existing is not None:
        raise ApiError(409, "feedback_exists",
                       f"this week already has feedback (job {existing.job_id})")
    if plan.status == "superseded":
        raise ApiError(409, "plan_superseded", "give feedback on the current version of the week")
    planned = {item["exercise_id"] for d in plan.days for item in d["exercises"]}
    unknown = [e for e in body["exercise_ids"] if e not in planned]
    if unknown:
        raise ApiError(422, "validation_error", "the request has invalid fields",
                       errors={"exercise_ids": [f"not in this plan: {', '.join(unknown)}"]})

    def record(job):
        db_session().add(PlanFeedback(plan_id=plan.id, user_id=plan.user_id,
                                      rating=body["rating"], exercise_ids=body["exercise_ids"],
                                      note=body.get("note"), job_id=job.id))

    return enqueue("feedback.process", params={"plan_id": plan.id}, subject_type="plan",
                   subject_id=plan.id, before_commit=record)
