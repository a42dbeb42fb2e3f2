from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, id_column, utcnow

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})


class Job(Base):
    """One asynchronous operation. The database, not the broker, is its record of truth."""

    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_jobs_user_key"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict | None] = mapped_column(nullable=True)
    params: Mapped[dict | None] = mapped_column(nullable=True)
    # What the job works on, so an idempotent replay can rebuild the first answer.
    subject_type: Mapped[str | None] = mapped_column(String(32), nullable=True)
    subject_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: SHA-256 of the request that made the job: a key reused with another request is refused
    request_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: worker processes that died while running one of this job's tasks (workers/losses.py)
    worker_losses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the batch job this job is part of (ops reprocessing)
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True, nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(nullable=True)
    enqueued_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: the broker priority its messages are sent at (None: live work, the default priority);
    #: the sweeper re-sends at the same priority
    priority: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: how many times the sweeper re-sent the job because its message was lost
    resends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the re-send round whose pipeline video.start built (it builds one per round, once)
    pipeline_round: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Event(Base):
    """Outbox of domain events; webhook deliveries are made from these rows."""

    __tablename__ = "events"

    id: Mapped[str] = id_column()
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=True
    )
    type: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[dict] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set once webhook deliveries were made; the sweeper re-dispatches events left unset
    dispatched_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
