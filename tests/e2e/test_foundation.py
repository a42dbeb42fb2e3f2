"""The foundation over real HTTP: health, accounts, tokens, error shapes, scoping."""

from __future__ import annotations

import requests

from tests.support.stack import Client


def test_health_and_ready(stack):
    assert requests.get(stack.url + "/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(stack.url + "/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "workers": "ok"}


def test_metrics_exposed(stack, patient):
    patient.get("/api/v1/me")
    text = requests.get(stack.url + "/metrics", timeout=10).text
    assert "http_requests_total" in text
    assert 'queue_depth{queue="video"}' in text


def test_register_token_me_and_password_change(anon: Client):
    user = anon.register()
    me = user.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["role"] == "patient" and me.json()["email"] == user.email
    assert me.json()["created_at"].endswith("+00:00")

    wrong = user.patch("/api/v1/me", json={"password": "another-pass-2", "current_password": "no"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"

    changed = user.patch("/api/v1/me", json={"password": "another-pass-2",
                                             "current_password": user.password})
    assert changed.status_code == 200
    # Tokens issued before a password change stop working.
    assert user.get("/api/v1/me").status_code == 401
    assert anon.post("/api/v1/auth/token", json={"email": user.email, "password": user.password}
                     ).status_code == 401
    again = anon.login(user.email, "another-pass-2")
    assert again.get("/api/v1/me").status_code == 200


def test_bad_tokens_are_401(anon: Client):
    for header in ("Bearer nonsense", "Basic abc", ""):
        response = anon.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.json()["code"] in {"unauthorized", "invalid_token"}


def test_validation_and_error_shapes(anon: Client, stack):
    bad = anon.post("/api/v1/auth/register", json={"email": "nope", "password": 5, "extra": 1})
    assert bad.status_code == 422
    body = bad.json()
    assert body["code"] == "validation_error" and body["message"]
    assert set(body["errors"]) == {"email", "password", "extra"}

    malformed = anon.post("/api/v1/auth/register", data="{not json",
                          headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["code"] == "invalid_json"

    missing = anon.get("/api/v1/no/such/path")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"

    huge = anon.post("/api/v1/auth/register", data=b"x" * (9 * 1024 * 1024),
                     headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"


def test_refused_request_writes_nothing(anon: Client):
    email = "refused@example.com"
    assert anon.post("/api/v1/auth/register",
                     json={"email": email, "password": "short"}).status_code == 422
    # Nothing was written: the same email registers cleanly afterwards.
    assert anon.post("/api/v1/auth/register",
                     json={"email": email, "password": "long-enough-1"}).status_code == 201
    assert anon.post("/api/v1/auth/register",
                     json={"email": email.upper(), "password": "long-enough-1"}).status_code == 409


def test_openapi_and_docs(anon: Client):
    spec = anon.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/me",
                 "/api/v1/jobs/{job_id}"):
        assert path in paths
    assert anon.get("/api/v1/docs").status_code == 200


def test_delete_account(anon: Client):
    user = anon.register()
    assert user.delete("/api/v1/me").status_code == 204
    assert user.get("/api/v1/me").status_code == 401
    assert anon.post("/api/v1/auth/token", json={"email": user.email, "password": user.password}
                     ).status_code == 401
