"""The contract's error shape: {"code": "...", "message": "...", "errors"?: {...}}.

Every error leaves the API as JSON with a stable code, never as an HTML page or a stack trace.
"""

from __future__ import annotations

import logging

import marshmallow as ma
from flask import jsonify
from werkzeug.exceptions import HTTPException

from infra.logs import current_request_id

logger = logging.getLogger("web")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """Raise from a view to answer with a given status, code and message."""

    def __init__(self, status: int, code: str, message: str, *, errors: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors, self.headers = errors, headers or {}


class ErrorSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = ma.fields.String(required=True)
    errors = ma.fields.Dict(metadata={"description": "field -> list of messages (422 only)"})
    request_id = ma.fields.String(
        metadata={"description": "this request's X-Request-Id: quote it in a support ticket"})


def error_response(status: int, code: str, message: str, errors: dict | None = None,
                   headers: dict | None = None):
    body = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    request_id = current_request_id.get()
    if request_id:
        body["request_id"] = request_id
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _flatten_webargs(messages: dict) -> dict:
    """webargs nests errors under the location ("json", "query", "form"): drop that level."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, errs in fields.items():
                flat[field] = errs if isinstance(errs, (list, dict)) else [str(errs)]
        else:
            flat[location] = fields if isinstance(fields, list) else [str(fields)]
    return flat


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status == 429 and getattr(error, "response", None) is not None:
        return error.response  # flask-limiter's breach, already in the contract's shape
    data = getattr(error, "data", None) or {}
    headers = data.get("headers") or {}
    if status == 422 or (status == 400 and "messages" in data and _is_validation(data)):
        errors = _flatten_webargs(data.get("messages", {})) or data.get("errors") or {}
        return error_response(422, "validation_error", "the request has invalid fields",
                              errors, headers)
    if status == 400 and "messages" in data:
        return error_response(400, "invalid_json", "the request body is not valid JSON")
    code = STATUS_CODES.get(status, "error")
    message = data.get("message") or (error.description or error.name)
    if status == 413:
        message = "the request body is larger than the limit"
    elif status == 404 and not data.get("message"):
        message = "no such resource"
    return error_response(status, code, message, headers=headers)


def _is_validation(data: dict) -> bool:
    messages = data.get("messages", {})
    return any(isinstance(v, dict) for v in messages.values())


def handle_api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.errors, error.headers)


def handle_validation_error(error: ma.ValidationError):
    """A schema loaded by hand (outside flask-smorest's argument parsing) refused its input."""
    messages = error.messages
    if not isinstance(messages, dict):
        messages = {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    return error_response(422, "validation_error", "the request has invalid fields", messages)


def handle_unexpected(error: Exception):
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def handle_database_down(error: Exception):
    logger.warning("database unavailable: %s", type(error).__name__)
    return error_response(503, "database_unavailable",
                          "the database is unavailable; nothing was stored, try again",
                          headers={"Retry-After": "5"})
