from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

import config
from domain.webhooks import secret_box
from models.base import Base, id_column, utcnow

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
