"""Paginated lists (web/pages.py with flask-smorest's paginate) through the real app on a
migrated SQLite database: the body stays a JSON array, the total is in X-Pagination, and
unknown query arguments are still refused."""

from __future__ import annotations

import json


def test_readiness_history_pages(client):
    for day in ("2026-11-01", "2026-11-02", "2026-11-03"):
        response = client.post("/api/v1/readiness", json={
            "date": day, "sleep_hours": 7.5, "resting_hr": 58, "hrv_ms": 50})
        assert response.status_code == 201
    first = client.get("/api/v1/readiness?page_size=2")
    assert first.status_code == 200 and [e["date"] for e in first.json] == [
        "2026-11-03", "2026-11-02"]
    assert json.loads(first.headers["X-Pagination"])["total"] == 3
    second = client.get("/api/v1/readiness?page=2&page_size=2")
    assert [e["date"] for e in second.json] == ["2026-11-01"]
    everything = client.get("/api/v1/readiness")
    assert len(everything.json) == 3 and "session_adjusted" not in everything.json[0]


def test_page_arguments_are_checked_and_unknown_ones_refused(client):
    assert client.get("/api/v1/plans").json == []
    assert client.get("/api/v1/plans?page_size=201").status_code == 422
    refused = client.get("/api/v1/plans?bogus=1")
    assert refused.status_code == 422 and "bogus" in refused.json["errors"]
    assert client.get("/api/v1/webhooks?page=1&page_size=5").status_code == 200


def test_a_page_far_past_the_end_is_empty_not_an_error(client):
    # found by the fuzz test: an offset past SQLite's 64-bit integers answered 500
    for path in ("/api/v1/plans", "/api/v1/readiness", "/api/v1/jobs", "/api/v1/videos"):
        far = client.get(f"{path}?page=115332769565155790946304")
        assert far.status_code == 200 and far.json == [], path
