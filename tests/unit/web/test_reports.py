"""Exports: the CSV rules (pure), and the export endpoints in-process on a migrated database."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from config import settings
from domain import reports
from domain.accounts import issue_token
from models import Analysis, Clinic, Plan, PlanFeedback, User
from tests.unit.db.conftest import database_url, migrated  # noqa: F401  (fixtures)

RESULT = {
    "exercise": {"label": "squat", "confidence": 0.9, "candidates": []},
    "rep_count": 2,
    "reps": [
        {"index": 0, "start_s": 0.5, "bottom_s": 1.2, "end_s": 2.0, "rom_deg": 84.0,
         "rom_joint": "left_knee",
         "angles": {"left_knee": {"user": 95.0, "reference": 80.0, "diff": 15.0},
                    "left_hip": {"user": 70.0, "reference": 72.5, "diff": -2.5}},
         "issues": []},
        {"index": 1, "start_s": 2.1, "bottom_s": 2.9, "end_s": 3.6, "rom_deg": 60.5,
         "rom_joint": "left_knee",
         "angles": {"left_knee": {"user": 120.0, "reference": 80.0, "diff": 40.0}},
         "issues": [{"source": "form", "criterion": "depth", "message": "=go deeper"},
                    {"source": "angles", "joint": "left_knee", "diff": 40.0,
                     "message": "Bend your left knee more at the bottom of rep 2."}]},
    ],
    "form": {"verdict": "faulty", "score": 0.31,
             "findings": [{"rep_index": 1, "criterion": "depth", "message": "=go deeper"}]},
    "feedback": ["Squat deeper."],
}


def _parse(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_reps_csv_one_row_per_repetition_with_every_joint():
    rows = _parse(reports.reps_csv("a1", RESULT))
    assert [r["rep_index"] for r in rows] == ["0", "1"]
    first, second = rows
    assert first["exercise"] == "squat" and first["rom_deg"] == "84.0"
    assert (first["left_knee_user_deg"], first["left_knee_reference_deg"],
            first["left_knee_diff_deg"]) == ("95.0", "80.0", "15.0")
    assert first["left_hip_diff_deg"] == "-2.5"  # a negative number stays a number
    assert second["left_hip_user_deg"] == ""  # not compared in that repetition
    assert first["issue_count"] == "0" and second["issue_count"] == "2"
    assert second["criteria"] == "depth; left_knee"
    assert second["form_verdict"] == "faulty"
    # a text cell a spreadsheet would run as a formula is neutralized
    assert second["issues"].startswith("'=go deeper | Bend your left knee")


def test_reps_csv_of_a_result_without_repetitions_is_a_header():
    text = reports.reps_csv("a1", {"exercise": {"label": "unknown"}, "reps": []})
    assert text.strip() == ",".join(reports.rep_columns([]))


def test_week_window_is_seven_days_from_the_plan():
    created = dt.datetime(2026, 11, 2, 9, 30)  # SQLite: naive, UTC
    start, end = reports.week_window(created)
    assert start.tzinfo is not None and end - start == dt.timedelta(days=7)


# ---- the endpoints, in-process --------------------------------------------------------------


@pytest.fixture
def api(migrated, monkeypatch):  # noqa: F811
    import web.db
    from web import create_app

    monkeypatch.setattr(web.db, "get_sessionmaker", lambda: migrated)
    session = migrated()
    clinic = Clinic(name="c", invite_code="code-1")
    session.add(clinic)
    session.flush()
    alice = User(email="alice@example.com", password_hash="x", role="patient",
                 clinic_id=clinic.id)
    bob = User(email="bob@example.com", password_hash="x", role="patient")
    doc = User(email="doc@example.com", password_hash="x", role="clinician", clinic_id=clinic.id)
    session.add_all([alice, bob, doc])
    session.flush()
    now = dt.datetime.now(dt.UTC)
    plan = Plan(user_id=alice.id, week=1, model_version="plans-v1", fitness_level="beginner",
                created_at=now - dt.timedelta(days=1), notes=["Stop if it hurts."], days=[
                    {"day": 1, "weekday": "Mon", "completed": True, "exercises": [
                        {"exercise_id": "squat", "name": "Squat <b>deep</b>", "sets": 3,
                         "reps": 10, "duration_s": None, "reasons": ["builds the quads"]}]},
                    {"day": 2, "weekday": "Wed", "completed": False, "exercises": [
                        {"exercise_id": "plank", "name": "Plank", "sets": 2, "reps": None,
                         "duration_s": 30, "reasons": []}]}])
    session.add(plan)
    session.flush()
    session.add(PlanFeedback(plan_id=plan.id, user_id=alice.id, rating="discomfort",
                             note="<script>alert(1)</script> knee hurt"))
    done = Analysis(user_id=alice.id, source="keypoints", status="succeeded", result=RESULT,
                    created_at=now)
    pending = Analysis(user_id=alice.id, source="keypoints", status="queued", created_at=now)
    old = Analysis(user_id=alice.id, source="keypoints", status="succeeded", result=RESULT,
                   created_at=now - dt.timedelta(days=30))
    session.add_all([done, pending, old])
    session.commit()
    ids = {"alice": alice, "bob": bob, "doc": doc}
    tokens = {name: issue_token(settings.secret_key, u.id, 0, 600) for name, u in ids.items()}
    out = {"client": create_app({"RATELIMIT_ENABLED": False}).test_client(), "plan": plan.id,
           "done": done.id, "pending": pending.id, "old": old.id, "tokens": tokens}
    session.close()
    return out


def _get(api, path, who):
    return api["client"].get(path, headers={"Authorization": f"Bearer {api['tokens'][who]}"})


@pytest.mark.parametrize("kind", ["videos", "analyses"])
def test_reps_csv_endpoint_follows_read_authorization(api, kind):
    path = f"/api/v1/{kind}/{api['done']}/reps.csv"
    mine = _get(api, path, "alice")
    assert mine.status_code == 200 and mine.mimetype == "text/csv"
    assert "attachment" in mine.headers["Content-Disposition"]
    assert len(_parse(mine.get_data(as_text=True))) == 2
    assert _get(api, path, "doc").status_code == 200  # her clinician
    hidden = _get(api, path, "bob")
    assert hidden.status_code == 404 and hidden.json["code"] == "not_found"
    assert api["client"].get(path).status_code == 401
    assert _get(api, f"/api/v1/{kind}/{api['pending']}/reps.csv", "alice").status_code == 409


def test_week_report_html(api):
    path = f"/api/v1/plans/{api['plan']}/report.html"
    page = _get(api, path, "alice")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "1 of 2 training days completed (50%)" in html
    assert "Squat &lt;b&gt;deep&lt;/b&gt;" in html and "<b>deep" not in html  # escaped
    assert "&lt;script&gt;" in html and "<script" not in html
    assert "builds the quads" in html and "30 s" in html and "discomfort" in html
    assert "Stop if it hurts." in html
    assert html.count("<td>squat</td>") == 1  # this week's succeeded analysis, not the old one
    assert "faulty (0.31)" in html and "Squat deeper." in html
    assert "http://" not in html and "https://" not in html
    assert _get(api, path, "doc").status_code == 200
    assert _get(api, path, "bob").status_code == 404
