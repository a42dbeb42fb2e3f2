"""The thin HTTP layer: parse, authorize, enqueue, serialize."""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import Flask, request
from flask_smorest import Api
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from config import DEVELOPMENT_SECRET_KEY, settings
from infra.logs import configure_logging
from web import errors, http, metrics, ratelimit
from web.db import close_session
from web.errors import ApiError
from web.openapi import ClientFriendlyPlugin
from web.uploads import StreamingRequest, remove_unclaimed

logger = logging.getLogger("web")

API_VERSION = "1.0.0"


class ContractApi(Api):
    """flask-smorest Api whose errors follow the contract's shape."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        return errors.handle_http_exception(error)


#: multipart parts (fields and files) one request may carry; more answer 413
MAX_FORM_PARTS = 32
#: endpoints that accept large multipart uploads; every other body is capped at max_json_bytes
UPLOAD_ENDPOINTS = {"videos.upload"}


def create_app(overrides: dict | None = None) -> Flask:
    configure_logging()
    if settings.secret_key == DEVELOPMENT_SECRET_KEY:
        logger.warning("SECRET_KEY is not set: tokens are signed with the development key")
    app = Flask(__name__)
    app.request_class = StreamingRequest
    app.config.update(
        API_TITLE="Rehab Coach API",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        # Swagger UI from the app's own vendored assets (no CDN): web/http.py
        **http.docs_config(),
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
        # Every file part streams to a file of its own: a few parts are all the API takes
        # (thousands would each hold a descriptor and a file until the request ends).
        MAX_FORM_PARTS=MAX_FORM_PARTS,
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

    # operationIds, Idempotency-Key and ETag headers in the document (web/openapi.py)
    api = ContractApi(app, spec_kwargs={"extra_plugins": [ClientFriendlyPlugin()]})
    from web.views import (
        accounts,
        client,
        clinic,
        exercises,
        health,
        jobs,
        ops,
        plans,
        profile,
        readiness,
        reports,
        videos,
        webhooks,
    )

    app.register_blueprint(health.blp)
    app.register_blueprint(client.blp)  # the web client at / (web/client/)
    for module in (accounts, jobs, profile, exercises, plans, readiness, videos, webhooks,
                   clinic, ops, reports):
        api.register_blueprint(module.blp)

    app.register_error_handler(ApiError, errors.handle_api_error)
    app.register_error_handler(ma.ValidationError, errors.handle_validation_error)
    app.register_error_handler(OperationalError, errors.handle_database_down)
    app.register_error_handler(Exception, errors.handle_unexpected)
    app.teardown_appcontext(close_session)
    app.teardown_request(remove_unclaimed)
    http.init_app(app)  # request ids, CORS, ETags, Swagger UI assets
    metrics.init_app(app)
    ratelimit.init_app(app)
    if settings.trusted_proxy_hops:  # request.remote_addr: the client, as the proxies saw it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops)

    @app.before_request
    def _body_limits():
        if request.endpoint not in UPLOAD_ENDPOINTS:
            request.max_content_length = settings.max_json_bytes

    from web.cli import register_commands

    register_commands(app)
    return app

