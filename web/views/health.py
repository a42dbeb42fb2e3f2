"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from infra.redis_client import get_redis
from web.db import db_session
from web.metrics import REGISTRY

logger = logging.getLogger("web.health")

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


def _check_database() -> str | None:
    try:
        db_session().execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any driver error means "not ready"
        return f"database: {type(exc).__name__}"


def _check_redis() -> str | None:
    try:
        get_redis().ping()
        return None
    except Exception as exc:
        return f"redis: {type(exc).__name__}"


def _check_workers() -> str | None:
    from workers.celery_app import app

    try:
        replies = app.control.ping(timeout=1.0)
    except Exception as exc:
        return f"workers: {type(exc).__name__}"
    return None if replies else "workers: no worker answered"


@blp.get("/readyz")
def readyz():
    checks = {"database": _check_database(), "redis": _check_redis()}
    checks["workers"] = _check_workers() if checks["redis"] is None else "workers: redis is down"
    missing = [problem for problem in checks.values() if problem]
    body = {name: ("ok" if problem is None else problem) for name, problem in checks.items()}
    if missing:
        return jsonify({"code": "not_ready", "message": "; ".join(missing), "checks": body}), 503
    return jsonify({"status": "ready", "checks": body})


@blp.get("/metrics")
def metrics():
    return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)
