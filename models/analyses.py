from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, id_column, utcnow


class Analysis(Base):
    """A video, still image or keypoint sequence sent for analysis, and its latest result."""

    __tablename__ = "analyses"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # video | image | keypoints
    status: Mapped[str] = mapped_column(String(16), default="queued")
    exercise_hint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    original_filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Paths are relative to the storage directory.
    media_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    media_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    media_info: Mapped[dict | None] = mapped_column(nullable=True)
    keypoints_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    annotated_path: Mapped[str | None] = mapped_column(String(512), nullable=True)
    #: set when retention removed the original upload (and its annotated rendering)
    original_deleted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    is_reference: Mapped[bool] = mapped_column(default=False)
    result: Mapped[dict | None] = mapped_column(nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: the prescription it is checked against (all three or none; issue 12)
    plan_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    plan_day: Mapped[int | None] = mapped_column(Integer, nullable=True)
    plan_exercise_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AnalysisResult(Base):
    """Every result an analysis ever had, keyed by the model versions that made it."""

    __tablename__ = "analysis_results"
    __table_args__ = (
        UniqueConstraint("analysis_id", "models_key", name="uq_analysis_results_models"),
    )

    id: Mapped[str] = id_column()
    analysis_id: Mapped[str] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), index=True
    )
    models_key: Mapped[str] = mapped_column(String(200))
    models: Mapped[dict] = mapped_column(default=dict)
    result: Mapped[dict] = mapped_column(default=dict)
    job_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reference(Base):
    """An expert reference performance of one exercise (global, or a clinic's own)."""

    __tablename__ = "references"

    id: Mapped[str] = id_column()
    exercise: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    view: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(200))
    clinic_id: Mapped[str | None] = mapped_column(
        ForeignKey("clinics.id", ondelete="CASCADE"), index=True, nullable=True
    )
    fps: Mapped[float] = mapped_column(Float)
    width: Mapped[float] = mapped_column(Float, default=1.0)
    height: Mapped[float] = mapped_column(Float, default=1.0)
    keypoints: Mapped[list] = mapped_column(default=list)
    meta: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
