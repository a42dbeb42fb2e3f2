"""What a patient performed of a prescribed exercise (a camera check or a self-report), and the
queries over it: per plan day, per plan, and per patient for the clinic's adherence view (a fixed
number of queries for any number of patients)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, id_column, utcnow
from models.plans import Plan


class PlanPerformance(Base):
    """One camera check (``source`` camera, its analysis) or self-report (``source`` self) of
    one exercise on one day of a plan. ``valid`` is false for a check that could not count
    (nobody seen, another exercise...): it is kept, but adds nothing."""

    __tablename__ = "plan_performances"
    __table_args__ = (
        UniqueConstraint("analysis_id", name="uq_plan_performances_analysis_id"),
        Index("ix_plan_performances_plan", "plan_id", "day"),
        Index("ix_plan_performances_user", "user_id", "created_at"),
    )

    id: Mapped[str] = id_column()
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[int] = mapped_column(Integer)
    exercise_id: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(16))  # camera | self
    analysis_id: Mapped[str | None] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), nullable=True)
    valid: Mapped[bool] = mapped_column(Boolean, default=True)
    reps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sets: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    hold_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    rom_deg: Mapped[float | None] = mapped_column(Float, nullable=True)
    rom_ratio: Mapped[float | None] = mapped_column(Float, nullable=True)
    form_verdict: Mapped[str | None] = mapped_column(String(16), nullable=True)
    pain: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[dict | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


_ORDER = (PlanPerformance.created_at, PlanPerformance.id)


def of_plan(session: Session, plan_id: str) -> list[PlanPerformance]:
    """Every record of a plan, oldest first."""
    return list(session.scalars(select(PlanPerformance)
                                .where(PlanPerformance.plan_id == plan_id).order_by(*_ORDER)))


def of_plan_exercise(session: Session, plan_id: str, day: int,
                     exercise_id: str) -> list[PlanPerformance]:
    return list(session.scalars(select(PlanPerformance).where(
        PlanPerformance.plan_id == plan_id, PlanPerformance.day == day,
        PlanPerformance.exercise_id == exercise_id).order_by(*_ORDER)))


def of_analysis(session: Session, analysis_id: str) -> PlanPerformance | None:
    return session.scalar(select(PlanPerformance)
                          .where(PlanPerformance.analysis_id == analysis_id))


def of_users(session: Session, user_ids: list[str]) -> dict[str, list[PlanPerformance]]:
    """Every record of these users, oldest first (one query)."""
    out: dict[str, list[PlanPerformance]] = {u: [] for u in user_ids}
    if not user_ids:
        return out
    for row in session.scalars(select(PlanPerformance)
                               .where(PlanPerformance.user_id.in_(user_ids)).order_by(*_ORDER)):
        out[row.user_id].append(row)
    return out


def plans_of_users(session: Session, user_ids: list[str]) -> dict[str, list[Plan]]:
    """Every plan of these users that is not superseded, oldest week first (one query)."""
    out: dict[str, list[Plan]] = {u: [] for u in user_ids}
    if not user_ids:
        return out
    for plan in session.scalars(select(Plan).where(Plan.user_id.in_(user_ids),
                                                   Plan.status != "superseded")
                                .order_by(Plan.week, Plan.version)):
        out[plan.user_id].append(plan)
    return out
