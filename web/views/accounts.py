"""Accounts: register, token, refresh, logout, me (read, change email or password, delete)."""

from __future__ import annotations

from flask import redirect, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from config import settings
from domain import auth_tokens, privacy
from domain.accounts import DUMMY_HASH, hash_password, issue_token, verify_password
from infra import storage
from models import TERMINAL_STATUSES, Job, User
from models.base import utcnow
from tasks.privacy import EXPORT_KIND, export_key, remove_user_references
from web import errors
from web.auth import current_session_id, current_user, load_owned, login_required
from web.db import db_session
from web.errors import ApiError
from web.jobs import accepted, enqueue, replay
from web.ratelimit import limit_login, register_limit
from web.schemas.accounts import (
    RefreshRequestSchema,
    RegisterSchema,
    TokenRequestSchema,
    TokenSchema,
    UpdateMeSchema,
    UserSchema,
)
from web.schemas.common import JobAcceptedSchema

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and tokens")


def normalize_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db_session().scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def _commit_account(session) -> None:
    """Commit an account change; a concurrent request that took the email first answers 409.
    (Caught here, not logged: PostgreSQL's message names the duplicate email.)"""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(409, "email_taken", "an account with this email already exists") from None


@blp.route("/auth/register", methods=["POST"])
@blp.arguments(RegisterSchema)
@blp.response(201, UserSchema)
@register_limit
def register(body: dict):
    """Create a patient account."""
    session = db_session()
    if find_user_by_email(body["email"]) is not None:
        raise ApiError(409, "email_taken", "an account with this email already exists")
    user = User(email=normalize_email(body["email"]), password_hash=hash_password(body["password"]),
                role="patient")
    session.add(user)
    _commit_account(session)
    return user


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(200, TokenSchema)
@limit_login
def token(body: dict):
    """Exchange email and password for a bearer token (rate limited per account and address)."""
    user = find_user_by_email(body["email"])
    # Verify against a dummy hash for unknown emails: the answer time does not reveal accounts.
    valid = verify_password(user.password_hash if user else DUMMY_HASH, body["password"])
    if user is None or not valid:
        raise ApiError(401, "invalid_credentials", "email or password is wrong")
    session = db_session()
    issued = auth_tokens.start_session(session, user, utcnow(), settings.refresh_token_ttl_s)
    session.commit()
    return _token_pair(user, issued)


def _token_pair(user: User, issued: auth_tokens.IssuedRefresh) -> dict:
    access = issue_token(settings.secret_key, user.id, user.token_version, settings.token_ttl_s,
                         session_id=issued.session_id)
    return {"access_token": access, "token_type": "bearer", "expires_in": settings.token_ttl_s,
            "refresh_token": issued.token, "refresh_expires_in": settings.refresh_token_ttl_s}


_REFRESH_ERRORS = {
    auth_tokens.RefreshState.REUSED: ("refresh_token_reused", "this refresh token was already "
                                      "used; its session is revoked: sign in again"),
    auth_tokens.RefreshState.REVOKED: ("refresh_token_revoked", "this session was ended "
                                       "(logout, or reuse of a used token): sign in again"),
}


@blp.route("/auth/refresh", methods=["POST"])
@blp.arguments(RefreshRequestSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=errors.ErrorSchema, description="refresh token not usable")
def refresh(body: dict):
    """Exchange a refresh token for a new pair. Each refresh token works once: the old one stops
    working, and presenting a used one again revokes its whole session (sign in again)."""
    try:
        user, issued = auth_tokens.rotate(db_session(), body["refresh_token"], utcnow(),
                                          settings.refresh_token_ttl_s)
    except auth_tokens.RefreshRejected as rejected:
        code, message = _REFRESH_ERRORS.get(
            rejected.state, ("invalid_refresh_token", "the refresh token is invalid or expired"))
        raise ApiError(401, code, message) from None
    return _token_pair(user, issued)


@blp.route("/auth/logout", methods=["POST"])
@login_required()
@blp.response(204)
def logout():
    """End this sign-in: its refresh token and the access token used here stop working."""
    session_id = current_session_id()
    if session_id is not None:  # (tokens issued before sessions existed simply expire)
        auth_tokens.end_session(db_session(), session_id, utcnow())
        db_session().commit()
    return None


@blp.route("/me")
class Me(MethodView):
    @login_required()
    @blp.response(200, UserSchema)
    def get(self):
        """The caller's account."""
        return current_user()

    @login_required()
    @blp.arguments(UpdateMeSchema)
    @blp.response(200, UserSchema)
    def patch(self, body: dict):
        """Change email or password (the current password is required)."""
        user = current_user()
        if not verify_password(user.password_hash, body["current_password"]):
            raise ApiError(403, "wrong_password", "current_password is wrong")
        if "email" in body and normalize_email(body["email"]) != user.email:
            if find_user_by_email(body["email"]) is not None:
                raise ApiError(409, "email_taken", "an account with this email already exists")
            user.email = normalize_email(body["email"])
        if "password" in body:
            user.password_hash = hash_password(body["password"])
            user.token_version += 1  # every earlier token stops working
        _commit_account(db_session())
        return user

    @login_required()
    @blp.response(204)
    def delete(self):
        """Delete the account: every row and stored file of the user goes."""
        user = current_user()
        session = db_session()
        # Expert references built from the user's uploads belong to the clinic, not the user
        # (no cascade): they go explicitly.
        remove_user_references(session, user.id)
        session.delete(user)  # rows go by ON DELETE CASCADE
        session.commit()
        storage.remove_user_files(user.id)
        return None


@blp.route("/me/export")
@login_required()
@blp.response(202, JobAcceptedSchema)
def export_me():
    """Export everything stored about the caller: 202 and a job whose result links a zip
    (account, profile, plans, feedback, readiness, analyses and results, jobs, webhooks without
    their secrets, events, uploaded and annotated files). An export already in progress is
    answered again instead of starting another."""
    first = replay(EXPORT_KIND)
    if first is not None:
        return first
    user = current_user()
    running = db_session().scalar(select(Job).where(
        Job.user_id == user.id, Job.kind == EXPORT_KIND,
        Job.status.not_in(tuple(TERMINAL_STATUSES))).order_by(Job.created_at.desc()).limit(1))
    if running is not None:
        return accepted(running)
    return enqueue(EXPORT_KIND, subject_type="user", subject_id=user.id)


@blp.route("/me/export/<job_id>.zip")
@login_required()
@blp.response(200, content_type="application/zip")
def download_export(job_id: str):
    """The zip an export job made; only its owner may download it (clinicians cannot)."""
    job = load_owned(Job, job_id, "export", write=True)
    if job.kind != EXPORT_KIND:
        raise ApiError(404, "not_found", "no such export")
    if job.status != "succeeded":
        raise ApiError(409, "export_not_ready", f"the export job is {job.status}")
    key = export_key(job.user_id, job.id)
    if not storage.exists(key):
        raise ApiError(410, privacy.EXPORT_EXPIRED,
                       "this export was removed after its time to live; request a new one")
    name = f"rehab-coach-export-{job.id}.zip"
    url = storage.url_for_download(key, filename=name, content_type="application/zip")
    if url is not None:  # object storage: the client fetches it from the store
        return redirect(url, code=302)
    return send_file(storage.absolute(key), mimetype="application/zip", as_attachment=True,
                     download_name=name)
