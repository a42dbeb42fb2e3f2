"""Repository queries of the clinic path: clinics by invite code, a clinic's patients with their
latest plan, feedback and analysis (a fixed number of queries per page, never one per patient)."""

from __future__ import annotations

from sqlalchemy import func, literal_column, select, union_all
from sqlalchemy.orm import Session

from models.accounts import Clinic, User
from models.analyses import Analysis
from models.plans import Plan, PlanFeedback, Profile


def clinic_by_invite_code(session: Session, invite_code: str) -> Clinic | None:
    return session.scalar(select(Clinic).where(Clinic.invite_code == invite_code))


def _patients_of(clinic_id: str):
    return (User.clinic_id == clinic_id, User.role == "patient")


def _last_activity():
    """user_id -> the time of their newest plan, feedback or analysis."""
    rows = union_all(*(select(model.user_id.label("user_id"),
                              model.created_at.label("at"))
                       for model in (Plan, PlanFeedback, Analysis))).subquery()
    return (select(rows.c.user_id, func.max(rows.c.at).label("last_at"))
            .group_by(rows.c.user_id).subquery())


def patients_page(session: Session, clinic_id: str, *, offset: int = 0,
                  limit: int | None = None) -> tuple[list[tuple[User, object]], int]:
    """One page of the clinic's patients with their last activity time, most recently active
    first (patients without any activity last); and the total count."""
    activity = _last_activity()
    rows = session.execute(
        select(User, activity.c.last_at).outerjoin(activity, activity.c.user_id == User.id)
        .where(*_patients_of(clinic_id))
        .order_by(activity.c.last_at.is_(None), activity.c.last_at.desc(), User.id)
        .offset(offset).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(User)
                           .where(*_patients_of(clinic_id)))
    return [(user, last_at) for user, last_at in rows], total or 0


def _latest_per_user(session: Session, model, user_ids: list[str]) -> dict:
    """The newest row of ``model`` for each of ``user_ids`` (one query, a window function)."""
    if not user_ids:
        return {}
    rank = func.row_number().over(partition_by=model.user_id,
                                  order_by=(model.created_at.desc(), model.id.desc()))
    ranked = (select(model.id, rank.label("rank")).where(model.user_id.in_(user_ids))
              .subquery())
    newest = select(model).join(ranked, ranked.c.id == model.id).where(
        ranked.c.rank == literal_column("1"))
    return {row.user_id: row for row in session.scalars(newest)}


def latest_activity_of(session: Session, user_ids: list[str]) -> dict[str, dict]:
    """For each user: profile, newest plan, newest feedback, newest analysis (or None)."""
    profiles = {p.user_id: p for p in session.scalars(
        select(Profile).where(Profile.user_id.in_(user_ids)))} if user_ids else {}
    plans = _latest_per_user(session, Plan, user_ids)
    feedback = _latest_per_user(session, PlanFeedback, user_ids)
    analyses = _latest_per_user(session, Analysis, user_ids)
    return {user_id: {"profile": profiles.get(user_id), "plan": plans.get(user_id),
                      "feedback": feedback.get(user_id), "analysis": analyses.get(user_id)}
            for user_id in user_ids}
