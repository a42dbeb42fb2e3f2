"""Camera checks and self-reports recorded on a plan (domain/plans/tracking.py) on a real
migrated SQLite database, and next week's plan built from them through plans-v1."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.errors import DomainError
from domain.plans import tracking
from domain.video.movement import load_camera_checks
from models import Analysis, Plan, PlanPerformance, User
from tests.unit.plans.test_service import (  # noqa: F401 - fixtures
    Events,
    db,
    generate,
    generation,
    give_feedback,
    user_id,
)

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def checks():
    return load_camera_checks()


def first_plan(db, generation, user_id) -> Plan:  # noqa: F811
    plan_id = generate(db, generation, user_id)["plan_id"]
    with db.session_scope() as session:
        plan = session.get(Plan, plan_id)
        session.expunge(plan)
        return plan


def checkable(plan: Plan, checks, supported=True) -> tuple[int, dict]:
    for day in plan.days:
        for item in day["exercises"]:
            if checks[item["exercise_id"]].supported == supported and (
                    not supported or item["reps"]):
                return day["day"], item
    raise AssertionError("no such exercise in the plan")


def test_check_prescription_refusals(db, generation, user_id, checks):  # noqa: F811
    plan = first_plan(db, generation, user_id)
    day, item = checkable(plan, checks)
    fields = {"plan_id": plan.id, "day": day, "exercise_id": item["exercise_id"]}
    with db.session_scope() as session:
        assert tracking.check_prescription(session, user_id, {}, checks) is None
        assert tracking.check_prescription(session, user_id, fields, checks) == fields
        stranger = User(email="other@example.com", password_hash="x")
        session.add(stranger)
        session.flush()
        with pytest.raises(DomainError) as other:
            tracking.check_prescription(session, stranger.id, fields, checks)
        assert other.value.http_status == 404
        for bad, field in (({**fields, "day": 9}, "day"),
                           ({**fields, "exercise_id": "pistol-squat"}, "exercise_id"),
                           ({"plan_id": plan.id}, "day")):
            with pytest.raises(tracking.InvalidPrescription) as refused:
                tracking.check_prescription(session, user_id, bad, checks)
            assert field in refused.value.errors, refused.value.errors
        day2, plain = checkable(plan, checks, supported=False)
        with pytest.raises(tracking.InvalidPrescription) as uncheckable:
            tracking.check_prescription(session, user_id, {
                "plan_id": plan.id, "day": day2, "exercise_id": plain["exercise_id"]}, checks)
        assert "cannot be checked by camera" in uncheckable.value.errors["exercise_id"][0]


def test_camera_check_and_self_reports_complete_the_day(db, generation, user_id,  # noqa: F811
                                                        checks):
    plan = first_plan(db, generation, user_id)
    day, item = checkable(plan, checks)
    events = Events()
    with db.session_scope() as session:
        analysis = Analysis(user_id=user_id, source="keypoints", status="succeeded",
                            plan_id=plan.id, plan_day=day, plan_exercise_id=item["exercise_id"],
                            result={"performed": {"reps": 3, "sets": 0, "counted": True,
                                                  "rom_deg": 20.0, "rom_ratio": 0.66,
                                                  "completed": False, "reasons": ["short"]}})
        session.add(analysis)
        session.flush()
        row = tracking.record_camera_check(session, analysis, "job1", events, NOW)
        assert row.reps == 3 and row.valid
        # reprocessed: the same record is updated, not a second one
        tracking.record_camera_check(session, analysis, "job2", events, NOW)
        assert session.query(PlanPerformance).count() == 1
    assert [e for e, _ in events.emitted] == ["exercise.checked", "exercise.checked"]
    with db.session_scope() as session:
        plan_row = session.get(Plan, plan.id)
        the_day = next(d for d in plan_row.days if d["day"] == day)
        for other in the_day["exercises"]:
            tracking.self_report(session, plan_row, day, other["exercise_id"],
                                 {"pain": 2} if other is not item else {}, events, NOW)
        # the camera's 3 reps plus a self-report "as prescribed" complete the item
        the_day = next(d for d in plan_row.days if d["day"] == day)
        assert the_day["completed"] and the_day["completed_at"]
    kinds = [e for e, _ in events.emitted]
    assert kinds.count("plan.day.completed") == 1 and kinds[-1] == "plan.day.completed"


def test_next_week_quotes_the_measurement(db, generation, user_id, checks):  # noqa: F811
    plan = first_plan(db, generation, user_id)
    day, item = checkable(plan, checks)
    with db.session_scope() as session:
        session.add(PlanPerformance(plan_id=plan.id, user_id=user_id, day=day,
                                    exercise_id=item["exercise_id"], source="camera",
                                    valid=True, reps=item["reps"] // 2, sets=0,
                                    rom_deg=40.0, rom_ratio=1.0, form_verdict="good"))
    result = give_feedback(db, generation, plan.id, "doable")
    with db.session_scope() as session:
        nxt = session.get(Plan, result["plan_id"])
        quoted = f"{item['reps'] // 2} of {item['reps']} {item['name']}"
        assert any(quoted in n for n in nxt.notes), nxt.notes
        items = [i for d in nxt.days for i in d["exercises"]
                 if i["exercise_id"] == item["exercise_id"]]
        assert items, "a measured exercise continues next week"
        assert any(quoted in r for r in items[0]["reasons"])
        assert nxt.state["adjustment"]["exercise_factors"][item["exercise_id"]] < 1.0


def test_pain_replaces_the_exercise(db, generation, user_id, checks):  # noqa: F811
    plan = first_plan(db, generation, user_id)
    day, item = checkable(plan, checks)
    with db.session_scope() as session:
        tracking.self_report(session, session.get(Plan, plan.id), day, item["exercise_id"],
                             {"pain": 7}, Events(), NOW)
    result = give_feedback(db, generation, plan.id, "doable")
    with db.session_scope() as session:
        nxt = session.get(Plan, result["plan_id"])
        ids = {i["exercise_id"] for d in nxt.days for i in d["exercises"]}
        assert item["exercise_id"] not in ids
        assert any("pain 7/10" in n for n in nxt.notes)


def test_deleting_a_checked_analysis_removes_its_record(db, generation, user_id,  # noqa: F811
                                                        checks):
    from domain.video.service import delete_analysis

    plan = first_plan(db, generation, user_id)
    day, item = checkable(plan, checks)
    with db.session_scope() as session:
        analysis = Analysis(user_id=user_id, source="keypoints", status="succeeded",
                            plan_id=plan.id, plan_day=day, plan_exercise_id=item["exercise_id"],
                            result={"performed": {"reps": 5, "counted": True}})
        session.add(analysis)
        session.flush()
        tracking.record_camera_check(session, analysis, "job1", Events(), NOW)
        analysis_id = analysis.id
    with db.session_scope() as session:
        delete_analysis(session, session.get(Analysis, analysis_id), Events())
    with db.session_scope() as session:
        assert session.query(PlanPerformance).count() == 0
        the_day = next(d for d in session.get(Plan, plan.id).days if d["day"] == day)
        done = next(i for i in the_day["exercises"] if i["exercise_id"] == item["exercise_id"])
        assert done["performed"] is None
