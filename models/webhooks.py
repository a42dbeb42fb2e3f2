from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, selectinload
from sqlalchemy.types import TypeDecorator

import config
from domain.webhooks import secret_box
from models.accounts import User
from models.base import Base, id_column, utcnow
from models.jobs import Event

#: room for the Fernet token of the longest secret (64 random bytes) with its prefix
ENCRYPTED_SECRET_LENGTH = 512


class EncryptedSecret(TypeDecorator):
    """A webhook signing secret: plain in Python, Fernet-encrypted in the database.

    The key is derived from SECRET_KEY (config); older keys in SECRET_KEY_FALLBACKS still
    decrypt. A value that cannot be decrypted raises ``secret_box.SecretDecryptionError`` when
    read, so the columns using this type are deferred: only code that signs or rotates reads them.
    """

    impl = String(ENCRYPTED_SECRET_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        if value is None or secret_box.is_encrypted(value):
            return value
        return secret_box.encrypt(value, config.settings.secret_key)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        if value is None:
            return None
        return secret_box.decrypt(value, config.settings.secret_key,
                                  config.settings.secret_key_fallbacks)


class WebhookEndpoint(Base):
    """A receiver of events: a user's own, or a clinic's (events of all its patients)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    clinic_id: Mapped[str | None] = mapped_column(
        ForeignKey("clinics.id", ondelete="CASCADE"), index=True, nullable=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list] = mapped_column(default=list)
    description: Mapped[str | None] = mapped_column(String(500), nullable=True)
    secret: Mapped[str] = mapped_column(EncryptedSecret(), deferred=True,
                                        deferred_group="secrets")
    # During rotation both secrets sign every delivery until the overlap ends; then it is cleared.
    previous_secret: Mapped[str | None] = mapped_column(EncryptedSecret(), nullable=True,
                                                        deferred=True, deferred_group="secrets")
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    failing_since: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint: made once (unique), attempted until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    )

    id: Mapped[str] = id_column()
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    #: pending | sending | delivered | failed (gave up) | canceled (endpoint disabled)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: every attempt, oldest first (read-only here; attempts are added as WebhookAttempt rows)
    log: Mapped[list[WebhookAttempt]] = relationship(
        "WebhookAttempt", viewonly=True, order_by="WebhookAttempt.attempted_at",
        primaryjoin="WebhookDelivery.id == foreign(WebhookAttempt.delivery_id)")


class WebhookAttempt(Base):
    """The delivery log: every HTTP attempt with its outcome."""

    __tablename__ = "webhook_attempts"

    id: Mapped[str] = id_column()
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    response_excerpt: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)


# -- repository: every webhook query the service and the clinic path need, written once ---------

def clinic_of_user(session: Session, user_id: str | None) -> str | None:
    """The clinic the user belongs to now (None for no user, no clinic)."""
    if not user_id:
        return None
    return session.scalar(select(User.clinic_id).where(User.id == user_id))


def enabled_endpoints_of(session: Session, user_id: str | None,
                         clinic_id: str | None) -> list[WebhookEndpoint]:
    """Enabled endpoints of the user and, with a clinic, of that clinic."""
    conditions = [WebhookEndpoint.user_id == user_id]
    if clinic_id:
        conditions.append(WebhookEndpoint.clinic_id == clinic_id)
    return list(session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.enabled.is_(True), or_(*conditions))).all())


def endpoint_ids_with_delivery(session: Session, event_id: str) -> set[str]:
    return set(session.scalars(select(WebhookDelivery.endpoint_id)
                               .where(WebhookDelivery.event_id == event_id)))


def visible_endpoints(session: Session, user_id: str, clinic_id: str | None, *, offset: int = 0,
                      limit: int | None = None) -> tuple[list[WebhookEndpoint], int]:
    """One page of the user's endpoints (and their clinic's, when given), oldest first; and the
    total count."""
    condition = WebhookEndpoint.user_id == user_id
    if clinic_id:
        condition = or_(condition, WebhookEndpoint.clinic_id == clinic_id)
    rows = session.scalars(select(WebhookEndpoint).where(condition)
                           .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
                           .offset(offset).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(WebhookEndpoint).where(condition))
    return list(rows), total or 0


def deliveries_of_endpoint(session: Session, endpoint_id: str, *, offset: int = 0,
                           limit: int | None = None) -> tuple[list[WebhookDelivery], int]:
    """One page of the endpoint's deliveries, newest first, with their attempts; and the total."""
    where = WebhookDelivery.endpoint_id == endpoint_id
    rows = session.scalars(select(WebhookDelivery).options(selectinload(WebhookDelivery.log))
                           .where(where)
                           .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
                           .offset(offset).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(where))
    return list(rows), total or 0


def claim_delivery(session: Session, delivery_id: str, now: datetime, slack: timedelta) -> bool:
    """Atomically take a pending delivery that is due (within ``slack``)."""
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
               or_(WebhookDelivery.next_attempt_at.is_(None),
                   WebhookDelivery.next_attempt_at <= now + slack))
        .values(status="sending", claimed_at=now))
    return result.rowcount == 1


def cancel_pending_clinic_deliveries(session: Session, user_id: str, clinic_id: str,
                                     reason: str) -> int:
    """Cancel pending deliveries of ``user_id``'s events to ``clinic_id``'s endpoints (other than
    the user's own)."""
    clinic_endpoints = select(WebhookEndpoint.id).where(WebhookEndpoint.clinic_id == clinic_id,
                                                        WebhookEndpoint.user_id != user_id)
    user_events = select(Event.id).where(Event.user_id == user_id)
    result = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.status == "pending",
        WebhookDelivery.endpoint_id.in_(clinic_endpoints),
        WebhookDelivery.event_id.in_(user_events),
    ).values(status="canceled", next_attempt_at=None, last_error=reason)
        .execution_options(synchronize_session=False))
    return result.rowcount


def forget_expired_previous_secrets(session: Session, now: datetime) -> int:
    """Clear previous secrets whose overlap has ended (conditional, so a rotation at the same
    moment keeps its fresh previous secret)."""
    result = session.execute(update(WebhookEndpoint).where(
        WebhookEndpoint.previous_secret_expires_at.is_not(None),
        WebhookEndpoint.previous_secret_expires_at <= now,
    ).values(previous_secret=None, previous_secret_expires_at=None)
        .execution_options(synchronize_session=False))
    return result.rowcount


def release_stale_claims(session: Session, claimed_before: datetime) -> int:
    """Deliveries claimed by a worker that died go back to pending."""
    result = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.status == "sending", WebhookDelivery.claimed_at < claimed_before,
    ).values(status="pending"))
    return result.rowcount


def due_delivery_ids(session: Session, now: datetime, limit: int) -> list[str]:
    return list(session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)).all())


def undispatched_event_ids(session: Session, created_after: datetime, created_before: datetime,
                           limit: int) -> list[str]:
    """Events whose fan-out never ran (their dispatch message was lost)."""
    return list(session.scalars(select(Event.id).where(
        Event.dispatched_at.is_(None), Event.created_at < created_before,
        Event.created_at > created_after).limit(limit)).all())
