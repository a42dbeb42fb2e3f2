"""Refresh-token rules: how a token looks, how it is stored, when it may be used. No I/O here.

- A refresh token is 256 random bits (URL-safe text with a recognizable prefix); only its
  sha256 is stored, so a copy of the database lets nobody sign in.
- Rotation: each token is used once. Refreshing marks it used and issues the next one of the
  same family (one family per sign-in). A used token presented again was copied (stolen, or a
  client kept an old one): the whole family is revoked (RFC 9700, 4.14.2: refresh token
  rotation with reuse detection).
- A token stops working when it expires, when its family was revoked (logout, reuse), or when
  the user's token_version moved on (password change).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models.accounts import RefreshToken, User

#: refresh tokens start with this, so a leaked one is recognizable (secret scanners)
TOKEN_PREFIX = "rt_"
TOKEN_BYTES = 32  # 256 bits


class RefreshState(Enum):
    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    #: already rotated: presenting it again revokes the family
    REUSED = "reused"
    #: issued before the user's password changed
    STALE = "stale"


def new_refresh_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def expiry(now: dt.datetime, ttl_s: int) -> dt.datetime:
    return _aware(now) + dt.timedelta(seconds=ttl_s)


def refresh_state(*, found: bool, now: dt.datetime, expires_at: dt.datetime | None = None,
                  used_at: dt.datetime | None = None, revoked_at: dt.datetime | None = None,
                  token_version: int | None = None, user_token_version: int | None = None,
                  ) -> RefreshState:
    """What presenting a stored refresh token means (revocation and reuse first: a revoked or
    reused token never becomes merely 'expired')."""
    if not found:
        return RefreshState.UNKNOWN
    if revoked_at is not None:
        return RefreshState.REVOKED
    if used_at is not None:
        return RefreshState.REUSED
    if token_version is not None and user_token_version is not None \
            and token_version != user_token_version:
        return RefreshState.STALE
    if expires_at is None or _aware(expires_at) <= _aware(now):
        return RefreshState.EXPIRED
    return RefreshState.VALID


# ---- the service: sign-in sessions on the auth_refresh_tokens table ----------------------------


class RefreshRejected(Exception):
    """A refresh token that may not be used; `state` says why."""

    def __init__(self, state: RefreshState):
        super().__init__(state.value)
        self.state = state


@dataclass(frozen=True)
class IssuedRefresh:
    token: str
    #: the row id: access tokens issued with it carry it as `sid`
    session_id: str
    family_id: str


def _issue(session: Session, user: User, family_id: str, now: dt.datetime,
           ttl_s: int) -> IssuedRefresh:
    token = new_refresh_token()
    row = RefreshToken(user_id=user.id, family_id=family_id, token_hash=hash_refresh_token(token),
                       token_version=user.token_version, created_at=now,
                       expires_at=expiry(now, ttl_s))
    session.add(row)
    session.flush()
    return IssuedRefresh(token=token, session_id=row.id, family_id=family_id)


def start_session(session: Session, user: User, now: dt.datetime, ttl_s: int) -> IssuedRefresh:
    """A new sign-in: the first refresh token of a new family (the caller commits)."""
    return _issue(session, user, uuid.uuid4().hex, now, ttl_s)


def revoke_family(session: Session, family_id: str, now: dt.datetime) -> int:
    return session.execute(update(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)).rowcount or 0


def rotate(session: Session, token: str, now: dt.datetime, ttl_s: int
           ) -> tuple[User, IssuedRefresh]:
    """Use a refresh token once: (its user, the next token of its family). Commits.

    Raises RefreshRejected; a reused token's family is revoked (committed) first.
    """
    row = session.scalar(select(RefreshToken).where(
        RefreshToken.token_hash == hash_refresh_token(token)))
    user = session.get(User, row.user_id) if row is not None else None
    state = refresh_state(
        found=row is not None and user is not None, now=now,
        expires_at=row.expires_at if row else None, used_at=row.used_at if row else None,
        revoked_at=row.revoked_at if row else None,
        token_version=row.token_version if row else None,
        user_token_version=user.token_version if user else None)
    if state is RefreshState.VALID:
        # Compare-and-set: of two requests racing with one token, one wins; the other is reuse.
        claimed = session.execute(update(RefreshToken).where(
            RefreshToken.id == row.id, RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None)).values(used_at=now)).rowcount
        if claimed == 1:
            issued = _issue(session, user, row.family_id, now, ttl_s)
            session.commit()
            return user, issued
        session.rollback()
        state = RefreshState.REUSED
    if state is RefreshState.REUSED:
        revoke_family(session, row.family_id, now)
        session.commit()
    raise RefreshRejected(state)


def token_user(session: Session, user_id: str, token_version: int,
               session_id: str | None) -> User | None:
    """The user an access token speaks for, or None when the token no longer stands: the user is
    gone, the password changed since (token_version), or the sign-in session it names was logged
    out. One query on every authenticated request (the session joined to the user)."""
    if session_id is None:
        user = session.get(User, user_id)
        return user if user is not None and user.token_version == token_version else None
    row = session.execute(
        select(User, RefreshToken.revoked_at, RefreshToken.id)
        .outerjoin(RefreshToken, (RefreshToken.id == session_id)
                   & (RefreshToken.user_id == User.id))
        .where(User.id == user_id)).first()
    if row is None:
        return None
    user, revoked_at, found = row
    if user.token_version != token_version or found is None or revoked_at is not None:
        return None
    return user


def end_session(session: Session, session_id: str, now: dt.datetime) -> int:
    """Log out: revoke the family of this refresh token row (the caller commits)."""
    row = session.get(RefreshToken, session_id)
    return revoke_family(session, row.family_id, now) if row is not None else 0
