"""Weekly plans, their days, and feedback that regenerates next week's plan.

Each route parses, authorizes, calls the plan service (domain/plans/service.py) and returns
ORM rows that `PlanSchema` serializes."""

from __future__ import annotations

from flask_smorest import Blueprint

from domain.plans import service, tracking
from models import Plan
from models import plans as repo
from models.base import utcnow
from tasks.events import emit
from web.auth import current_user, load_owned, login_required, subject_user_id
from web.db import db_session
from web.jobs import enqueue, replay
from web.pages import page_slice, paginated
from web.ratelimit import plans_limit
from web.schemas.common import JobAcceptedSchema, UserIdQuerySchema
from web.schemas.plans import (
    FeedbackSchema,
    PagedUserIdQuerySchema,
    PerformedSchema,
    PlanDaySchema,
    PlanSchema,
)
from web.service_errors import answered_as_api_errors

blp = Blueprint("plans", __name__, url_prefix="/api/v1/plans", description="Weekly rehab plans")


def load_plan(plan_id: str, *, write: bool = False) -> Plan:
    return load_owned(Plan, plan_id, "plan", write=write)


@blp.route("", methods=["POST"])
@login_required()
@blp.response(202, JobAcceptedSchema)
@plans_limit
def create_plan():
    """Generate this week's plan through the network (a job on the `plans` queue)."""
    first = replay("plan.generate")
    if first is not None:
        return first
    with answered_as_api_errors():
        service.require_profile(db_session(), current_user().id)
    return enqueue("plan.generate")


@blp.route("", methods=["GET"])
@login_required()
@blp.arguments(PagedUserIdQuerySchema, location="query")
@blp.response(200, PlanSchema(many=True))
@paginated(blp)
def list_plans(query: dict, pagination_parameters):
    """Plan history, newest week and version first."""
    plans, total = repo.plans_of_user(db_session(), subject_user_id(query.get("user_id")),
                                      **page_slice(pagination_parameters))
    pagination_parameters.item_count = total
    return plans


@blp.route("/current")
@login_required()
@blp.arguments(UserIdQuerySchema, location="query")
@blp.response(200, PlanSchema)
def current_plan(query: dict):
    """The plan the patient should follow now."""
    with answered_as_api_errors():
        return service.current_plan(db_session(), subject_user_id(query.get("user_id")))


@blp.route("/<plan_id>")
@login_required()
@blp.response(200, PlanSchema)
def get_plan(plan_id: str):
    return load_plan(plan_id)


@blp.route("/<plan_id>/days/<int:day>/complete", methods=["POST"])
@login_required()
@blp.response(200, PlanSchema)
def complete_day(plan_id: str, day: int):
    """Mark one training day of the plan done."""
    plan = load_plan(plan_id, write=True)
    with answered_as_api_errors():
        if service.complete_day(plan, day, utcnow()):
            db_session().commit()
    return plan


@blp.route("/<plan_id>/days/<int:day>/exercises/<exercise_id>/performed", methods=["POST"])
@login_required()
@blp.arguments(PerformedSchema)
@blp.response(201, PlanDaySchema)
def report_performed(body: dict, plan_id: str, day: int, exercise_id: str):
    """Self-report a prescribed exercise (the way for one without a camera check; allowed for
    checked ones too): repetitions, sets, duration per set and pain 0-10, each optional (left
    out: as prescribed). Answers the day, with `performed` per exercise and `completed` once
    every exercise of the day is done."""
    plan = load_plan(plan_id, write=True)
    with answered_as_api_errors():
        day_now = tracking.self_report(db_session(), plan, day, exercise_id, body, emit,
                                       utcnow())
    db_session().commit()
    return day_now


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
    with answered_as_api_errors():
        service.check_feedback(plan, body["exercise_ids"])

    def record(job):
        db_session().add(service.new_feedback(plan, rating=body["rating"],
                                              exercise_ids=body["exercise_ids"],
                                              note=body.get("note"), pain=body.get("pain"),
                                              job_id=job.id))

    return enqueue("feedback.process", params={"plan_id": plan.id}, subject_type="plan",
                   subject_id=plan.id, before_commit=record)
