"""Bearer-token authentication and object scoping.

Objects the caller may not see answer 404 exactly as if they did not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g, request
from sqlalchemy import select

from config import settings
from domain.accounts import InvalidToken, decode_token
from domain.auth_tokens import token_user
from models import User
from web.db import db_session
from web.errors import ApiError

BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "a bearer token is required",
                       headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = decode_token(settings.secret_key, token.strip())
    except InvalidToken:
        raise ApiError(401, "invalid_token", "the token is invalid or expired",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    # (the session check: logging out ends the access token at once, not at its expiry)
    user = token_user(db_session(), claims.user_id, claims.token_version, claims.session_id)
    if user is None:
        raise ApiError(401, "invalid_token", "the token is invalid or expired",
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    g.token_claims = claims
    return user


def login_required(roles: tuple[str, ...] | None = None) -> Callable:
    """Decorator: authenticate, optionally require a role (403 otherwise)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = _authenticate()
            if roles and user.role not in roles:
                raise ApiError(403, "forbidden", "your role may not do this")
            g.user = user
            return view(*args, **kwargs)

        doc = getattr(wrapper, "_apidoc", {})
        doc.setdefault("manual_doc", {}).setdefault("security", [{"bearerAuth": []}])
        wrapper._apidoc = doc
        return wrapper

    return decorator


def current_user() -> User:
    return g.user


def current_session_id() -> str | None:
    """The sign-in session (refresh token family member) of the caller's access token."""
    claims = g.get("token_claims")
    return claims.session_id if claims is not None else None


def subject_user_id(user_id_arg: str | None = None) -> str:
    """Whose data a read request is about: the caller's own, or (for a clinician) a patient's.

    Clinicians read their own clinic's patients with `?user_id=`; anyone else asking for another
    user's data gets 404, as if the user did not exist.
    """
    user = current_user()
    wanted = user_id_arg if user_id_arg is not None else request.args.get("user_id")
    if not wanted or wanted == user.id:
        return user.id
    if user.role == "clinician" and user.clinic_id:
        patient = db_session().scalar(
            select(User).where(User.id == wanted, User.clinic_id == user.clinic_id,
                               User.role == "patient")
        )
        if patient is not None:
            return patient.id
    raise ApiError(404, "not_found", "no such user")


def load_owned(model, object_id: str, what: str, *, write: bool = False):
    """The row of `model` with this id if the caller may see it (write: if they own it);
    404 otherwise, exactly as if it did not exist."""
    row = db_session().get(model, object_id)
    if row is None:
        raise ApiError(404, "not_found", f"no such {what}")
    require_owner(row.user_id, write=write)
    return row


def require_owner(owner_id: str | None, *, write: bool = False) -> None:
    """404 unless the caller owns the object, or (reads only) is the owner's clinician."""
    user = current_user()
    if owner_id == user.id:
        return
    if not write and owner_id and user.role == "clinician" and user.clinic_id:
        owner = db_session().get(User, owner_id)
        if owner is not None and owner.clinic_id == user.clinic_id and owner.role == "patient":
            return
    raise ApiError(404, "not_found", "no such resource")
