"""Readiness (sleep, resting heart rate, HRV) scored against the user's own baseline."""

from __future__ import annotations

import datetime as dt

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from domain.plans.readiness import compute_readiness, lighten_day
from models import Plan, ReadinessEntry
from web.auth import current_user, login_required, subject_user_id
from web.db import db_session
from web.schemas.common import UserIdQuerySchema
from web.schemas.plans import ReadinessOutSchema, ReadinessSchema

blp = Blueprint("readiness", __name__, url_prefix="/api/v1/readiness",
                description="Daily readiness")

BASELINE_DAYS = 28


def entry_to_dict(entry: ReadinessEntry) -> dict:
    body = {name: getattr(entry, name) for name in ("id", "date", "sleep_hours", "resting_hr",
                                                     "hrv_ms", "score", "band")}
    body.update(entry.details or {})
    return body


def lighten_todays_session(user_id: str, day: dt.date, score: float) -> dict | None:
    """A low score today makes the next training day of the current plan lighter."""
    if day != dt.datetime.now(dt.UTC).date():
        return None
    plan = db_session().scalar(select(Plan).where(Plan.user_id == user_id,
                                                  Plan.status == "active")
                               .order_by(Plan.week.desc(), Plan.version.desc()).limit(1))
    if plan is None:
        return None
    days = [dict(d) for d in plan.days]
    upcoming = next((i for i, d in enumerate(days) if not d["completed"]), None)
    if upcoming is None:
        return None
    lighter = lighten_day(days[upcoming], score)
    if lighter is None:
        return None
    days[upcoming] = lighter
    plan.days = days  # JSON columns change only on assignment
    return {"plan_id": plan.id, "day": lighter["day"], "weekday": lighter["weekday"]}


@blp.route("")
class ReadinessView(MethodView):
    @login_required()
    @blp.arguments(ReadinessSchema)
    @blp.response(201, ReadinessOutSchema)
    def post(self, body: dict):
        """Record today's (or a given day's) readings and score them; replaces that day's entry."""
        session = db_session()
        user_id = current_user().id
        day = body.get("date") or dt.datetime.now(dt.UTC).date()
        history = session.scalars(
            select(ReadinessEntry).where(ReadinessEntry.user_id == user_id,
                                         ReadinessEntry.date < day,
                                         ReadinessEntry.date >= day - dt.timedelta(
                                             days=BASELINE_DAYS))
        ).all()
        baseline = [{"sleep_hours": e.sleep_hours, "resting_hr": e.resting_hr, "hrv_ms": e.hrv_ms}
                    for e in history]
        result = compute_readiness(body["sleep_hours"], body["resting_hr"], body["hrv_ms"],
                                   baseline).to_dict()
        entry = session.scalar(select(ReadinessEntry).where(ReadinessEntry.user_id == user_id,
                                                            ReadinessEntry.date == day))
        if entry is None:
            entry = ReadinessEntry(user_id=user_id, date=day)
            session.add(entry)
        entry.sleep_hours, entry.resting_hr, entry.hrv_ms = (
            body["sleep_hours"], body["resting_hr"], body["hrv_ms"])
        entry.score = result["score"]
        entry.band = result["band"]
        entry.details = {k: v for k, v in result.items() if k not in ("score", "band")}
        adjusted = lighten_todays_session(user_id, day, entry.score)
        session.commit()
        return {**entry_to_dict(entry), "session_adjusted": adjusted}

    @login_required()
    @blp.arguments(UserIdQuerySchema, location="query")
    @blp.response(200, ReadinessOutSchema(many=True))
    def get(self, query: dict):
        """Readiness history, newest first."""
        entries = db_session().scalars(
            select(ReadinessEntry).where(ReadinessEntry.user_id == subject_user_id(
                query.get("user_id"))).order_by(ReadinessEntry.date.desc()).limit(90)
        ).all()
        return [entry_to_dict(e) for e in entries]
