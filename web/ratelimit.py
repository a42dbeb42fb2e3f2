"""Rate limits: flask-limiter, moving windows counted in Redis (limits are set in config.py).

Two limiters, because they fail differently when Redis cannot be reached:

- `auth_limiter` (token, register) FAILS CLOSED: without its counters nothing stops one address
  from trying a password against every account, so login answers 503 `rate_limiter_unavailable`
  until Redis is back. Login counts per account (whatever the address: a botnet guessing one
  password) and per client address (whatever the account: one address spraying a password).
- `user_limiter` (uploads, keypoint analyses, plan generation, webhook tests; per user) FAILS
  OPEN: these callers are authenticated, the limits only meter capacity, and the storage quota
  and the job rows still bound what they can do; refusing all work while Redis restarts would
  turn a broker blip into an outage of the whole API.

A refused request answers 429 `too_many_requests` with `Retry-After` (seconds until the oldest
counted request leaves the window).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, request
from flask_limiter import Limiter, RequestLimit
from limits import parse_many
from limits.errors import StorageError

from config import settings
from web.auth import current_user
from web.errors import error_response

logger = logging.getLogger("web.ratelimit")

#: limits' Redis client: answer (or fail) within a second, never hang a request
STORAGE_OPTIONS = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0,
                   "wrap_exceptions": True}


def client_address() -> str:
    """The client's address (the peer, or the one a trusted proxy reported: TRUSTED_PROXY_HOPS)."""
    return f"ip:{request.remote_addr or 'unknown'}"


def login_account() -> str:
    """The account a login names, hashed: no email address is stored in Redis."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    normalized = email.strip().lower() if isinstance(email, str) else ""
    return "account:" + hashlib.sha256(normalized.encode()).hexdigest()[:32]


def user_key() -> str:
    return f"user:{current_user().id}"


def _retry_after(limit: RequestLimit) -> int:
    try:
        return max(1, math.ceil(limit.reset_at - time.time()))
    except Exception:  # the store failed between the hit and this read: the whole window
        return max(1, limit.limit.get_expiry())


def _breached(limit: RequestLimit):
    retry = _retry_after(limit)
    return error_response(429, "too_many_requests",
                          f"too many requests (at most {limit.limit}); try again in {retry} s",
                          headers={"Retry-After": str(retry)})


def _limiter(prefix: str, key_func, *, fail_open: bool) -> Limiter:
    return Limiter(key_func, storage_uri=settings.redis_url, storage_options=STORAGE_OPTIONS,
                   strategy="moving-window", key_prefix=prefix, swallow_errors=fail_open,
                   on_breach=_breached, headers_enabled=False)


auth_limiter = _limiter("auth", client_address, fail_open=False)
user_limiter = _limiter("user", user_key, fail_open=True)

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_LIMITED = {"description": "Too many requests (`too_many_requests`); `Retry-After` says when "
                           "to try again", "content": _ERROR,
            "headers": {"Retry-After": {"schema": {"type": "integer"},
                                        "description": "seconds"}}}
_STORE_DOWN = {"description": "The rate limiter's store is unreachable: refused "
                              "(`rate_limiter_unavailable`)", "content": _ERROR}


def _limited(*limits, fail_closed: bool = False):
    """Decorate a view (innermost, below flask-smorest's decorators) with rate limits, and
    document their answers in the OpenAPI document."""

    def decorator(view):
        for limit in limits:
            view = limit(view)
        doc = getattr(view, "_apidoc", {})
        responses = doc.setdefault("manual_doc", {}).setdefault("responses", {})
        responses["429"] = _LIMITED
        if fail_closed:
            responses["503"] = _STORE_DOWN
        view._apidoc = doc
        return view

    return decorator


#: login: per account and per address
limit_login = _limited(
    auth_limiter.limit(settings.rate_limit_login_per_account, key_func=login_account),
    auth_limiter.limit(settings.rate_limit_login_per_ip, key_func=client_address),
    fail_closed=True)
register_limit = _limited(
    auth_limiter.limit(settings.rate_limit_register_per_ip, key_func=client_address),
    fail_closed=True)
upload_limit = _limited(user_limiter.limit(settings.rate_limit_uploads))
keypoints_limit = _limited(user_limiter.limit(settings.rate_limit_keypoints))
plans_limit = _limited(user_limiter.limit(settings.rate_limit_plans))
webhook_test_limit = _limited(user_limiter.limit(settings.rate_limit_webhook_tests))


def check_settings() -> None:
    """A limit that does not parse would be skipped by flask-limiter: refuse to start instead."""
    for name in ("login_per_account", "login_per_ip", "register_per_ip", "uploads", "keypoints",
                 "plans", "webhook_tests"):
        value = getattr(settings, f"rate_limit_{name}")
        try:
            if not parse_many(value):
                raise ValueError("empty")
        except ValueError as exc:
            raise RuntimeError(f"RATE_LIMIT_{name.upper()}={value!r} is not a rate limit "
                               f"such as '10/minute;50/hour' ({exc})") from None


def handle_storage_down(_error: StorageError):
    """Only the fail-closed limiter lets this through: its request is refused, not let in."""
    logger.warning("rate limiter store (Redis) unreachable: refusing %s", request.path)
    return error_response(503, "rate_limiter_unavailable",
                          "this request cannot be rate limited right now (Redis is unreachable), "
                          "so it is refused; try again shortly", headers={"Retry-After": "5"})


class _FailOpenNotice(logging.Filter):
    """flask-limiter logs a full traceback for every request it lets through while Redis is
    down; one line says the same."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and "Swallowing error" in record.getMessage():
            error = record.exc_info[1]
            record.msg = "rate limiter store unreachable; request let through (fails open): %s"
            record.args = (type(error).__name__,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _only_view_limits(limiter: Limiter) -> bool:
    """Whether every limit of `limiter` is a view decorator's (no default, application,
    blueprint or meta limits)."""
    manager = limiter.limit_manager
    return not (manager.default_limits or manager.application_limits
                or getattr(manager, "_blueprint_limits", None)
                or getattr(limiter, "_meta_limits", None))


def _drop_idle_request_hook(app: Flask, limiter: Limiter) -> None:
    """flask-limiter checks default, application and blueprint limits in a before-request hook
    on every request. This app sets only per-view limits, which the view decorators check
    themselves, so each limiter's hook resolved an empty list on every request (about 0.1 ms
    of CPU each, issue 13): it is removed while the limiter has no other kind of limit."""
    if not _only_view_limits(limiter):
        return
    hooks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in hooks:
        hooks.remove(limiter._check_request_limit)


def init_app(app: Flask) -> None:
    check_settings()
    limiter_log = logging.getLogger("flask-limiter")
    if not any(isinstance(f, _FailOpenNotice) for f in limiter_log.filters):
        limiter_log.addFilter(_FailOpenNotice())
    for limiter in (auth_limiter, user_limiter):
        limiter.init_app(app)
        _drop_idle_request_hook(app, limiter)
    app.register_error_handler(StorageError, handle_storage_down)
