"""HTTP basics every response shares: request ids, CORS, conditional reads, offline API docs.

- ``X-Request-Id``: a sane incoming id is kept (a proxy or the client made it), anything else is
  replaced by a fresh one; it comes back on every response, in every error body
  (``request_id``) and on every log line written while the request runs.
- CORS (flask-cors): only the origins listed in ``CORS_ORIGINS``; none by default. Credentials
  (cookies) are off unless ``CORS_ALLOW_CREDENTIALS``: the API authenticates with bearer tokens.
- ETag / If-None-Match on the reads clients poll (plans, results, jobs): a strong ETag from the
  body, 304 when it did not change. Generic (an after-request hook on an allowlist of URL rules)
  so that the views stay as they are.
- Swagger UI's assets are served by the app itself (``web/static/swagger-ui``, vendored from the
  ``swagger-ui-dist`` npm package): the docs work with no internet.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid
from pathlib import Path

from flask import Blueprint, Flask, Response, g, request
from flask_cors import CORS

from config import settings
from infra.logs import current_request_id, log_event

logger = logging.getLogger("web.access")

REQUEST_ID_HEADER = "X-Request-Id"
#: an incoming id is kept only if it looks like one (no spaces, no control characters, short):
#: it is echoed in headers and written to logs
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

#: headers a browser app on another origin may read from our responses
EXPOSED_HEADERS = ("Location", "X-Pagination", "X-Request-Id", "ETag", "Retry-After",
                   "Content-Disposition")
#: headers it may send (preflight)
ALLOWED_HEADERS = ("Authorization", "Content-Type", "Idempotency-Key", "If-None-Match",
                   "X-Request-Id")

#: URL rules (converters written as {}) whose GET answers carry an ETag: what clients poll
CONDITIONAL_RULES = frozenset({
    "/api/v1/plans/current",
    "/api/v1/plans/{}",
    "/api/v1/videos/{}",
    "/api/v1/analyses/{}",
    "/api/v1/jobs/{}",
})
_CONVERTER = re.compile(r"<[^>]+>")

SWAGGER_UI_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"
#: where Swagger UI's vendored assets are served (OPENAPI_SWAGGER_UI_URL points here)
SWAGGER_UI_ASSETS_URL = "/api/v1/docs/assets/"


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(incoming: str | None) -> str:
    """The incoming id when it is sane, else a new one."""
    if incoming and _SANE_REQUEST_ID.match(incoming):
        return incoming
    return new_request_id()


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    return current_request_id.get()


def rule_pattern(rule: str) -> str:
    """A URL rule with its converters as {}: `/api/v1/jobs/<job_id>` -> `/api/v1/jobs/{}`."""
    return _CONVERTER.sub("{}", rule)


def wants_etag(response: Response) -> bool:
    rule = request.url_rule
    return (request.method in ("GET", "HEAD") and response.status_code == 200
            and rule is not None and rule_pattern(rule.rule) in CONDITIONAL_RULES
            and response.mimetype == "application/json" and not response.direct_passthrough)


def body_etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _begin_request() -> None:
    rid = accepted_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_id = rid
    g.request_started = time.perf_counter()
    current_request_id.set(rid)


def _quote_in_error_body(response: Response, rid: str) -> None:
    """An error answered by code that does not go through web.errors (a health check, an
    extension) still quotes the request id."""
    if response.status_code < 400 or not response.is_json or response.direct_passthrough:
        return
    body = response.get_json(silent=True)
    if isinstance(body, dict) and "code" in body and "request_id" not in body:
        body["request_id"] = rid
        response.set_data(json.dumps(body))


def _finish_response(response: Response) -> Response:
    rid = g.get("request_id") or request_id() or new_request_id()
    response.headers[REQUEST_ID_HEADER] = rid
    _quote_in_error_body(response, rid)
    if wants_etag(response):
        response.set_etag(body_etag(response.get_data()))
        response.headers["Cache-Control"] = "private, no-cache"
        response.make_conditional(request)  # 304 with no body when If-None-Match matches
    started = g.get("request_started")
    if started is not None and request.endpoint not in ("health.healthz", "health.metrics"):
        log_event(logger, "request", method=request.method, path=request.path,
                  status=response.status_code,
                  ms=round((time.perf_counter() - started) * 1000, 1))
    return response


def _end_request(_exc: BaseException | None = None) -> None:
    current_request_id.set(None)  # gthread workers reuse threads: no id leaks to the next one


def init_app(app: Flask) -> None:
    # First in line, so that everything after (limits, auth, errors) logs with the id.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin_request)
    app.after_request(_finish_response)
    app.teardown_request(_end_request)
    origins = list(settings.cors_origins)
    # No origin configured: no CORS headers at all (same-origin only), not an open "*".
    CORS(app, resources={r"/api/*": {"origins": origins}}, supports_credentials=bool(
        settings.cors_allow_credentials), expose_headers=list(EXPOSED_HEADERS),
        allow_headers=list(ALLOWED_HEADERS), max_age=600, vary_header=True)
    app.register_blueprint(Blueprint(
        "swagger_ui_assets", __name__, static_folder=str(SWAGGER_UI_DIR),
        static_url_path=SWAGGER_UI_ASSETS_URL.rstrip("/")))


def docs_config() -> dict:
    """flask-smorest settings for the offline docs page."""
    return {
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_UI_ASSETS_URL,
        # validatorUrl None: Swagger UI would otherwise send the document to an online validator
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None, "deepLinking": True,
                                      "persistAuthorization": False},
    }
