"""Passwords (argon2id) and bearer tokens (HS256 JWT carrying a token version)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A fixed hash to verify against when the email is unknown, so both paths cost the same time.
DUMMY_HASH = _hasher.hash("not-a-real-password-0")


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    token_version: int
    expires_at: int
    #: the refresh token (sign-in session) this access token was issued with; None for tokens
    #: issued before sessions existed
    session_id: str | None = None


class InvalidToken(Exception):
    pass


def issue_token(
    secret: str, user_id: str, token_version: int, ttl_s: int, now: float | None = None,
    session_id: str | None = None,
) -> str:
    issued = int(now if now is not None else time.time())
    payload = {"sub": user_id, "tv": token_version, "iat": issued, "exp": issued + ttl_s}
    if session_id is not None:
        payload["sid"] = session_id
    return jwt.encode(payload, secret, algorithm="HS256")


def decode_token(secret: str, token: str) -> TokenClaims:
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "exp", "tv"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    sid = payload.get("sid")
    return TokenClaims(user_id=str(payload["sub"]), token_version=int(payload["tv"]),
                       expires_at=int(payload["exp"]), session_id=str(sid) if sid else None)
