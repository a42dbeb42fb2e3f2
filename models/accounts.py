from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, id_column, utcnow

ROLES = ("patient", "clinician", "ops")


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="patient")
    # Bumped on password change: every token issued before stops working.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    clinic_id: Mapped[str | None] = mapped_column(
        ForeignKey("clinics.id", ondelete="SET NULL"), index=True, nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Clinic(Base):
    __tablename__ = "clinics"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(200))
    invite_code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RefreshToken(Base):
    """One refresh token of a sign-in session (a family: the first token and its rotations).

    Only a sha256 of the token is stored. A token is used once: refreshing marks it `used_at`
    and adds the next one to the family. Presenting a used token again means it leaked (or the
    client kept an old copy): the whole family is revoked. Access tokens carry the id of the
    refresh token they were issued with (`sid`), so logging out (revoking the family) also ends
    the access token at once.
    """

    __tablename__ = "auth_refresh_tokens"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: the user's token_version when issued: a password change ends every session
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
