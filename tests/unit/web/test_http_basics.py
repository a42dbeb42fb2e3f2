"""Request ids, CORS, conditional reads and the offline docs page (web/http.py), in-process."""

from __future__ import annotations

import dataclasses
import json
import logging
import re

import pytest
from flask import Flask, jsonify

from infra.logs import JsonFormatter
from web import http


@pytest.fixture(scope="module")
def app():
    from web import create_app

    return create_app({"RATELIMIT_ENABLED": False})


@pytest.fixture
def client(app):
    return app.test_client()


def test_request_id_generated_or_kept_and_quoted_in_errors(client):
    generated = client.get("/api/v1/no-such-path")
    rid = generated.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert generated.status_code == 404 and generated.json["request_id"] == rid

    kept = client.get("/api/v1/me", headers={"X-Request-Id": "client-req-0001"})
    assert kept.status_code == 401
    assert kept.headers["X-Request-Id"] == "client-req-0001"
    assert kept.json["request_id"] == "client-req-0001"

    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.headers["X-Request-Id"]


@pytest.mark.parametrize("bad", ["short", "has space in it", "x" * 200, "line\\nbreak-abcdef",
                                 "<script>alert(1)</script>"])
def test_insane_request_id_is_replaced(client, bad):
    response = client.get("/healthz", headers={"X-Request-Id": bad})
    assert response.headers["X-Request-Id"] != bad
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_logs_of_a_request_carry_its_id(client):
    formatter = JsonFormatter()
    lines: list[dict] = []

    class Capture(logging.Handler):
        def emit(self, record):
            lines.append(json.loads(formatter.format(record)))

    handler = Capture()
    logging.getLogger("web").addHandler(handler)
    try:
        client.get("/api/v1/me", headers={"X-Request-Id": "trace-me-12345"})
    finally:
        logging.getLogger("web").removeHandler(handler)
    access = [line for line in lines if line["logger"] == "web.access"]
    assert access and access[-1]["request_id"] == "trace-me-12345"
    assert access[-1]["status"] == 401 and access[-1]["path"] == "/api/v1/me"


def test_docs_page_loads_nothing_from_another_host(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html), html
    assert "validatorUrl" in html  # no online validator either
    assets = re.findall(r"(?:src|href)=\"(/[^\"]+)\"", html)
    assert {a.rsplit("/", 1)[1] for a in assets} >= {
        "swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"}
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.get_data()) > 1000
        served.close()
    assert client.get("/api/v1/openapi.json").status_code == 200


def _cors_app(monkeypatch, **changes):
    monkeypatch.setattr(http, "settings", dataclasses.replace(http.settings, **changes))
    from web import create_app

    return create_app({"RATELIMIT_ENABLED": False}).test_client()


def test_no_cors_by_default(client):
    response = client.get("/healthz", headers={"Origin": "https://app.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/api/v1/auth/token", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_cors_allowlist(monkeypatch):
    client = _cors_app(monkeypatch, cors_origins=("https://app.example",))
    preflight = client.options("/api/v1/auth/token", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization, idempotency-key"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        h.strip() for h in allowed.split(",")}
    assert "Access-Control-Allow-Credentials" not in preflight.headers

    answer = client.get("/api/v1/me", headers={"Origin": "https://app.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "https://app.example"
    exposed = {h.strip() for h in answer.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Location", "X-Pagination", "X-Request-Id", "ETag", "Retry-After"} <= exposed

    other = client.get("/api/v1/me", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_cors_credentials_only_when_configured(monkeypatch):
    client = _cors_app(monkeypatch, cors_origins=("https://app.example",),
                       cors_allow_credentials=True)
    answer = client.get("/api/v1/me", headers={"Origin": "https://app.example"})
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"


def _etag_app() -> Flask:
    app = Flask(__name__)
    state = {"progress": 10}

    @app.get("/api/v1/jobs/<job_id>")
    def job(job_id):
        return jsonify({"id": job_id, "progress": state["progress"]})

    @app.get("/api/v1/jobs")
    def jobs():
        return jsonify([])

    http.init_app(app)
    app.state = state
    return app


def test_etag_and_304_on_polled_reads():
    app = _etag_app()
    client = app.test_client()
    first = client.get("/api/v1/jobs/j1")
    etag = first.headers["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = client.get("/api/v1/jobs/j1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag and again.headers["X-Request-Id"]
    app.state["progress"] = 20  # the job moved: a full answer with a new tag
    moved = client.get("/api/v1/jobs/j1", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    assert "ETag" not in client.get("/api/v1/jobs").headers  # not on the allowlist


def test_conditional_rules_match_the_real_routes(app):
    patterns = {http.rule_pattern(rule.rule) for rule in app.url_map.iter_rules()
                if "GET" in rule.methods}
    assert patterns >= http.CONDITIONAL_RULES


def test_error_bodies_made_elsewhere_quote_the_request_id():
    app = Flask(__name__)

    @app.get("/not-ready")
    def not_ready():
        return jsonify({"code": "not_ready", "message": "redis"}), 503

    @app.get("/fine")
    def fine():
        return jsonify({"code": "x"})

    http.init_app(app)
    client = app.test_client()
    answer = client.get("/not-ready", headers={"X-Request-Id": "probe-000001"})
    assert answer.status_code == 503
    assert answer.json == {"code": "not_ready", "message": "redis", "request_id": "probe-000001"}
    assert "request_id" not in client.get("/fine").json  # only error bodies
