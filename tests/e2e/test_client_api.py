"""The API basics for client developers, through the real stack (gunicorn, workers, Redis):
refresh tokens and logout, request ids, conditional reads, offline docs, exports."""

from __future__ import annotations

import csv
import io
import re
import uuid

import requests
from markupsafe import escape
from sqlalchemy import create_engine, text

from tests.e2e.test_jobs_and_plans import make_plan
from tests.e2e.test_privacy import keypoints_body
from tests.support.stack import Client


def _sign_in(anon: Client) -> tuple[str, dict]:
    email, password = f"tok-{uuid.uuid4().hex[:10]}@example.com", "correct-horse-1"
    assert anon.post("/api/v1/auth/register",
                     json={"email": email, "password": password}).status_code == 201
    response = anon.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return email, response.json()


def _me(anon: Client, access: str) -> requests.Response:
    return anon.get("/api/v1/me", headers={"Authorization": f"Bearer {access}"})


def _stored(stack, sql: str, **params) -> list:
    engine = create_engine(stack.env["DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params).all()
    engine.dispose()
    return rows


def test_refresh_rotation_reuse_and_logout(stack, anon):
    email, pair = _sign_in(anon)
    assert pair["token_type"] == "bearer" and pair["refresh_token"].startswith("rt_")
    assert pair["refresh_expires_in"] > pair["expires_in"] > 0
    # stored hashed only
    hashes = _stored(stack, "SELECT t.token_hash FROM auth_refresh_tokens t JOIN users u "
                            "ON u.id = t.user_id WHERE u.email = :email", email=email)
    assert len(hashes) == 1 and hashes[0][0] != pair["refresh_token"]
    assert re.fullmatch(r"[0-9a-f]{64}", hashes[0][0])

    renewed = anon.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second["refresh_token"] != pair["refresh_token"]
    assert _me(anon, second["access_token"]).status_code == 200

    # the old refresh token stopped working; presenting it again ends the whole session
    reused = anon.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"
    assert anon.post("/api/v1/auth/refresh", json={
        "refresh_token": second["refresh_token"]}).json()["code"] == "refresh_token_revoked"
    assert _me(anon, second["access_token"]).status_code == 401
    garbage = anon.post("/api/v1/auth/refresh", json={"refresh_token": "rt_nothing"})
    assert garbage.status_code == 401 and garbage.json()["code"] == "invalid_refresh_token"

    # logout ends this sign-in (access and refresh) and leaves another one alone
    third = anon.post("/api/v1/auth/token",
                      json={"email": email, "password": "correct-horse-1"}).json()
    other = anon.post("/api/v1/auth/token",
                      json={"email": email, "password": "correct-horse-1"}).json()
    out = anon.post("/api/v1/auth/logout",
                    headers={"Authorization": f"Bearer {third['access_token']}"})
    assert out.status_code == 204
    assert _me(anon, third["access_token"]).status_code == 401
    assert anon.post("/api/v1/auth/refresh",
                     json={"refresh_token": third["refresh_token"]}).status_code == 401
    assert _me(anon, other["access_token"]).status_code == 200

    # deleting the account removes its refresh tokens
    assert anon.delete("/api/v1/me", headers={
        "Authorization": f"Bearer {other['access_token']}"}).status_code == 204
    assert _stored(stack, "SELECT count(*) FROM auth_refresh_tokens t WHERE NOT EXISTS "
                          "(SELECT 1 FROM users u WHERE u.id = t.user_id)") == [(0,)]
    assert anon.post("/api/v1/auth/refresh",
                     json={"refresh_token": other["refresh_token"]}).status_code == 401


def test_password_change_ends_refresh_tokens(anon):
    email, pair = _sign_in(anon)
    changed = anon.patch("/api/v1/me", json={"password": "another-horse-2",
                                             "current_password": "correct-horse-1"},
                         headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert changed.status_code == 200
    stale = anon.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert stale.status_code == 401


def test_request_ids_on_every_answer_and_in_the_logs(stack, anon):
    assert re.fullmatch(r"[0-9a-f]{32}", anon.get("/healthz").headers["X-Request-Id"])
    rid = f"ticket-{uuid.uuid4().hex[:12]}"
    answer = anon.get("/api/v1/plans/current", headers={"X-Request-Id": rid})
    assert answer.status_code == 401
    assert answer.headers["X-Request-Id"] == rid and answer.json()["request_id"] == rid
    bad = anon.post("/api/v1/auth/register", json={"email": "x"})
    assert bad.status_code == 422 and bad.json()["request_id"] == bad.headers["X-Request-Id"]
    assert rid in stack.logs("web")


def test_etag_on_polled_reads(patient):
    plan = make_plan(patient)
    first = patient.get(f"/api/v1/plans/{plan['id']}")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "private, no-cache"
    same = patient.get(f"/api/v1/plans/{plan['id']}", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    current = patient.get("/api/v1/plans/current", headers={"If-None-Match": etag})
    assert current.status_code == 304  # the same plan, the same body
    assert patient.post(f"/api/v1/plans/{plan['id']}/days/1/complete").status_code == 200
    changed = patient.get(f"/api/v1/plans/{plan['id']}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.json()["days"][0]["completed"] is True


def test_docs_work_offline_and_no_cors_by_default(stack, anon):
    page = anon.get("/api/v1/docs")
    assert page.status_code == 200
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page.text)
    for asset in re.findall(r"(?:src|href)=\"(/[^\"]+)\"", page.text):
        assert anon.get(asset).status_code == 200, asset
    cross = anon.get("/api/v1/openapi.json", headers={"Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in cross.headers


def test_exports_of_a_real_analysis_and_week(patient, anon, shared_data):
    plan = make_plan(patient)
    started = patient.post("/api/v1/analyses", json=keypoints_body(shared_data))
    assert started.status_code == 202, started.text
    job = patient.wait_job(started.json()["job_id"])
    assert job["status"] == "succeeded", job
    analysis_id = started.json()["id"]
    result = patient.get(f"/api/v1/analyses/{analysis_id}").json()["result"]

    exported = patient.get(f"/api/v1/analyses/{analysis_id}/reps.csv")
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == result["rep_count"] >= 1
    assert [int(r["rep_index"]) for r in rows] == [rep["index"] for rep in result["reps"]]
    assert all(r["exercise"] == result["exercise"]["label"] for r in rows)
    assert float(rows[0]["rom_deg"]) == result["reps"][0]["rom_deg"]
    assert patient.get(f"/api/v1/videos/{analysis_id}/reps.csv").status_code == 200

    report = patient.get(f"/api/v1/plans/{plan['id']}/report.html")
    assert report.status_code == 200 and "text/html" in report.headers["Content-Type"]
    assert f"0 of {len(plan['days'])} training days completed" in report.text
    assert str(escape(plan["days"][0]["exercises"][0]["name"])) in report.text
    assert "pushup" in report.text  # this week's analysis is listed

    stranger = anon.register()
    assert stranger.get(f"/api/v1/analyses/{analysis_id}/reps.csv").status_code == 404
    assert stranger.get(f"/api/v1/plans/{plan['id']}/report.html").status_code == 404
