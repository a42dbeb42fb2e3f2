from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

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
