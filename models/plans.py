from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload

from models.accounts import User
from models.base import Base, id_column, utcnow


class Profile(Base):
    __tablename__ = "profiles"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sex: Mapped[str] = mapped_column(String(16))
    age: Mapped[int] = mapped_column(Integer)
    height_cm: Mapped[float] = mapped_column(Float)
    weight_kg: Mapped[float] = mapped_column(Float)
    fitness_level: Mapped[str] = mapped_column(String(16))
    injury: Mapped[str] = mapped_column(String(16))
    equipment: Mapped[list] = mapped_column(default=list)
    workouts_per_week: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Exercise(Base):
    """The exercise library, loaded from data/exercises.json."""

    __tablename__ = "exercises"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32), index=True)
    difficulty: Mapped[int] = mapped_column(Integer, index=True)
    data: Mapped[dict] = mapped_column(default=dict)


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("user_id", "week", "version", name="uq_plans_user_week_version"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    week: Mapped[int] = mapped_column(Integer)
    #: a week's plan is regenerated as a new version when the profile changes mid-week
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: active | superseded (a newer version of the week) | completed (feedback given)
    status: Mapped[str] = mapped_column(String(16), default="active")
    model_version: Mapped[str] = mapped_column(String(64))
    fitness_level: Mapped[str] = mapped_column(String(16))
    rep_factor: Mapped[float] = mapped_column(Float, default=1.0)
    days: Mapped[list] = mapped_column(default=list)
    notes: Mapped[list] = mapped_column(default=list)
    #: what the next week's generation needs back (set_delta, excluded_ids, adjustment, ...)
    state: Mapped[dict | None] = mapped_column(nullable=True)
    profile_snapshot: Mapped[dict] = mapped_column(default=dict)
    previous_plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the week's answer (one per plan); read-only here, written as a PlanFeedback row
    feedback: Mapped[PlanFeedback | None] = relationship(
        "PlanFeedback", uselist=False, viewonly=True,
        primaryjoin="Plan.id == foreign(PlanFeedback.plan_id)")


class PlanFeedback(Base):
    """One answer per plan week; kept as training signal for the plan network."""

    __tablename__ = "plan_feedback"

    id: Mapped[str] = id_column()
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("plans.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    rating: Mapped[str] = mapped_column(String(16))
    exercise_ids: Mapped[list] = mapped_column(default=list)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    pain: Mapped[int | None] = mapped_column(nullable=True)  # 0-10 with the rating
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    next_plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReadinessEntry(Base):
    __tablename__ = "readiness"
    __table_args__ = (UniqueConstraint("user_id", "date", name="uq_readiness_user_date"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(Date)
    sleep_hours: Mapped[float] = mapped_column(Float)
    resting_hr: Mapped[float] = mapped_column(Float)
    hrv_ms: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- repository: every plan/readiness query the services need, written once -------------------

_NEWEST = (Plan.week.desc(), Plan.version.desc())


def latest_plan(session: Session, user_id: str) -> Plan | None:
    """The user's newest plan (highest week, then version), whatever its status."""
    return session.scalar(select(Plan).where(Plan.user_id == user_id).order_by(*_NEWEST).limit(1))


def active_plan(session: Session, user_id: str) -> Plan | None:
    """The plan the user should follow now: the newest active one."""
    return session.scalar(select(Plan).options(selectinload(Plan.feedback))
                          .where(Plan.user_id == user_id, Plan.status == "active")
                          .order_by(*_NEWEST).limit(1))


def plans_of_user(session: Session, user_id: str, *, offset: int = 0,
                  limit: int | None = None) -> tuple[list[Plan], int]:
    """One page of the user's plans, newest first, with their feedback; and the total count."""
    rows = session.scalars(select(Plan).options(selectinload(Plan.feedback))
                           .where(Plan.user_id == user_id).order_by(*_NEWEST)
                           .offset(offset).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(Plan).where(Plan.user_id == user_id))
    return list(rows), total or 0


def plan_of_job(session: Session, job_id: str) -> Plan | None:
    return session.scalar(select(Plan).where(Plan.job_id == job_id))


def newest_version(session: Session, user_id: str, week: int) -> int:
    """The highest version number of the user's plan for ``week`` (0 when there is none)."""
    return session.scalar(select(func.max(Plan.version))
                          .where(Plan.user_id == user_id, Plan.week == week)) or 0


def other_active_versions(session: Session, plan: Plan) -> list[Plan]:
    return list(session.scalars(select(Plan).where(
        Plan.user_id == plan.user_id, Plan.week == plan.week, Plan.status == "active",
        Plan.id != plan.id)))


def lock_user(session: Session, user_id: str) -> None:
    """Serialize a user's plan writes (row lock on PostgreSQL; SQLite locks the file anyway)."""
    session.scalar(select(User.id).where(User.id == user_id).with_for_update())


def feedback_of_plan(session: Session, plan_id: str) -> PlanFeedback | None:
    return session.scalar(select(PlanFeedback).where(PlanFeedback.plan_id == plan_id))


def feedback_of_job(session: Session, job_id: str) -> PlanFeedback | None:
    return session.scalar(select(PlanFeedback).where(PlanFeedback.job_id == job_id))


def rated_plan_of_week(session: Session, user_id: str, week: int) -> Plan | None:
    """The version of ``week`` that received feedback, with that feedback loaded."""
    return session.scalar(select(Plan).options(selectinload(Plan.feedback))
                          .join(PlanFeedback, PlanFeedback.plan_id == Plan.id)
                          .where(Plan.user_id == user_id, Plan.week == week).limit(1))


def rating_history(session: Session, user_id: str, before_week: int | None = None) -> list[str]:
    """Ratings of earlier weeks, oldest first."""
    stmt = (select(PlanFeedback.rating).join(Plan, Plan.id == PlanFeedback.plan_id)
            .where(PlanFeedback.user_id == user_id).order_by(Plan.week))
    if before_week is not None:
        stmt = stmt.where(Plan.week < before_week)
    return list(session.scalars(stmt).all())


def rated_plans(session: Session) -> list[tuple[PlanFeedback, Plan]]:
    """Every answer with the plan it rated (training signal for the plan network)."""
    rows = session.execute(select(PlanFeedback, Plan)
                           .join(Plan, Plan.id == PlanFeedback.plan_id)).all()
    return [(feedback, plan) for feedback, plan in rows]


def library_rows(session: Session) -> list[Exercise]:
    return list(session.scalars(select(Exercise).order_by(Exercise.id)).all())


def count_exercises(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Exercise)) or 0


def latest_readiness(session: Session, user_id: str, since: date) -> ReadinessEntry | None:
    """The user's newest readiness entry dated ``since`` or later."""
    return session.scalar(select(ReadinessEntry).where(
        ReadinessEntry.user_id == user_id, ReadinessEntry.date >= since)
        .order_by(ReadinessEntry.date.desc()).limit(1))


def readiness_before(session: Session, user_id: str, day: date, days: int) -> list[ReadinessEntry]:
    """Entries of the ``days`` days before ``day`` (the personal baseline)."""
    return list(session.scalars(select(ReadinessEntry).where(
        ReadinessEntry.user_id == user_id, ReadinessEntry.date < day,
        ReadinessEntry.date >= day - timedelta(days=days))).all())


def readiness_of_day(session: Session, user_id: str, day: date) -> ReadinessEntry | None:
    return session.scalar(select(ReadinessEntry).where(ReadinessEntry.user_id == user_id,
                                                       ReadinessEntry.date == day))


def readiness_history(session: Session, user_id: str, *, offset: int = 0,
                      limit: int | None = None) -> tuple[list[ReadinessEntry], int]:
    """One page of the user's readiness entries, newest first; and the total count."""
    where = ReadinessEntry.user_id == user_id
    rows = session.scalars(select(ReadinessEntry).where(where)
                           .order_by(ReadinessEntry.date.desc()).offset(offset).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(ReadinessEntry).where(where))
    return list(rows), total or 0
