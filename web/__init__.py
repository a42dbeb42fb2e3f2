"""The thin HTTP layer: parse, authorize, enqueue, serialize."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from config import settings
from infra.logs import configure_logging, current_request_id
from web import errors, metrics
from web.db import close_session
from web.errors import ApiError

logger = logging.getLogger("web")

API_VERSION = "1.0.0"


class ContractApi(Api):
    """flask-smorest Api whose errors follow the contract's shape."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        return errors.handle_http_exception(error)


#: endpoints that accept large multipart uploads; every other body is capped at max_json_bytes
UPLOAD_ENDPOINTS = {"videos.upload"}


def create_app(overrides: dict | None = None) -> Flask:
    configure_logging()
    app = Flask(__name__)
    app.config.update(
        API_TITLE="Rehab Coach API",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        JSON_SORT_KEYS=False,
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {
                    "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
                }
            },
            "info": {"description": "Exercise analysis and adaptive rehabilitation plans."},
        },
    )
    app.config.update(overrides or {})

    api = ContractApi(app)
    from web.views import accounts, health, jobs

    app.register_blueprint(health.blp)
    for module in (accounts, jobs):
        api.register_blueprint(module.blp)
    for module_name in ("profile", "exercises", "plans", "readiness", "videos", "webhooks",
                        "clinic", "ops"):
        module = _optional_view(module_name)
        if module is not None:
            api.register_blueprint(module.blp)

    app.register_error_handler(ApiError, errors.handle_api_error)
    app.register_error_handler(Exception, errors.handle_unexpected)
    app.teardown_appcontext(close_session)
    metrics.init_app(app)

    @app.before_request
    def _limits_and_ids():
        current_request_id.set(request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16])
        if request.endpoint not in UPLOAD_ENDPOINTS:
            request.max_content_length = settings.max_json_bytes

    from web.cli import register_commands

    register_commands(app)
    return app


def _optional_view(name: str):
    """Views of capabilities built in later steps register themselves when present."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"web.views.{name}") is None:
        return None
    return importlib.import_module(f"web.views.{name}")
