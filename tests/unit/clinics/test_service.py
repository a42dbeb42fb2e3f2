"""The clinic service (domain/clinics/service.py) on a real migrated SQLite database: create,
join, leave, and the patients overview in a fixed number of queries whatever the page size."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event

from domain.clinics import service
from domain.errors import DomainError
from models import Analysis, Plan, PlanFeedback, PlanPerformance, Profile, User
from models.base import utcnow
from tests.unit.tasks import conftest as task_fixtures

db = task_fixtures.db  # the migrated SQLite database that models.db sessions use


@pytest.fixture
def clinic(db) -> dict:
    with db.session_scope() as session:
        doc = User(email="doc@example.com", password_hash="x", role="clinician")
        session.add(doc)
        session.flush()
        made = service.create_clinic(session, doc, "Knee clinic")
        assert made.invite_code and doc.clinic_id == made.id
        with pytest.raises(DomainError) as again:
            service.create_clinic(session, doc, "Second")
        assert again.value.code == "already_in_clinic"
        return {"doc": doc.id, "clinic": made.id, "code": made.invite_code}


def add_patient(session, n: int, code: str, minutes_ago: int | None) -> str:
    patient = User(email=f"p{n}@example.com", password_hash="x")
    session.add(patient)
    session.flush()
    service.join_clinic(session, patient, code)
    if minutes_ago is None:
        return patient.id
    at = utcnow() - timedelta(minutes=minutes_ago)
    session.add(Profile(user_id=patient.id, sex="female", age=30, height_cm=170, weight_kg=60,
                        fitness_level="beginner", injury="acl", equipment=[],
                        workouts_per_week=3))
    plan = Plan(user_id=patient.id, week=1, version=1, status="active", model_version="v",
                fitness_level="beginner", created_at=at - timedelta(minutes=1),
                days=[{"day": 1, "completed": True}, {"day": 2, "completed": False}])
    session.add(plan)
    session.flush()
    session.add(PlanFeedback(plan_id=plan.id, user_id=patient.id, rating="easy", created_at=at))
    session.add(Analysis(user_id=patient.id, status="succeeded", created_at=at,
                         source="keypoints",
                         result={"exercise": {"label": "squat"}, "rep_count": 5}))
    return patient.id


def test_patients_overview_is_ordered_and_paged_in_fixed_queries(db, clinic):
    with db.session_scope() as session:
        ids = [add_patient(session, n, clinic["code"], minutes_ago)
               for n, minutes_ago in enumerate([30, None, 5, 60, 10])]
    with db.session_scope() as session:
        doc = session.get(User, clinic["doc"])
        statements: list[str] = []
        event.listen(session.get_bind(), "before_cursor_execute",
                     lambda *args: statements.append(args[2]))
        page, total = service.patients(session, doc, offset=0, limit=10)
        queries_for_five = len(statements)
    assert total == 5
    assert [p.id for p in page] == [ids[2], ids[4], ids[0], ids[3], ids[1]]  # idle one last
    first = page[0]
    assert first.current_plan == {"id": first.current_plan["id"], "week": 1, "status": "active",
                                  "days_completed": 1, "days": 2}
    assert first.last_feedback["rating"] == "easy" and first.profile["injury"] == "acl"
    assert first.last_analysis["label"] == "squat" and first.last_analysis["rep_count"] == 5
    assert page[-1].current_plan is None and page[-1].last_activity_at is None
    # page, count, profiles, plans, feedback, analyses (+ user), and for adherence every plan
    # and performed record of the page's patients
    assert queries_for_five <= 9
    with db.session_scope() as session:
        page, total = service.patients(session, session.get(User, clinic["doc"]), offset=3,
                                       limit=2)
    assert total == 5 and [p.id for p in page] == [ids[3], ids[1]]


def test_leaving_and_no_clinic(db, clinic):
    with db.session_scope() as session:
        patient_id = add_patient(session, 1, clinic["code"], None)
    with db.session_scope() as session:
        patient = session.get(User, patient_id)
        assert service.clinic_of(session, patient).invite_code is None  # patients don't see it
        service.leave_clinic(session, patient)
        assert patient.clinic_id is None
        with pytest.raises(DomainError) as none:
            service.clinic_of(session, patient)
        assert none.value.code == "no_clinic"
        with pytest.raises(DomainError) as bad:
            service.join_clinic(session, patient, "wrong-code")
        assert bad.value.code == "invalid_invite_code"


def test_adherence_per_patient_and_in_the_overview(db, clinic):
    squats = {"exercise_id": "mini-squats", "name": "Mini squats", "sets": 2, "reps": 10}
    with db.session_scope() as session:
        patient_id = add_patient(session, 1, clinic["code"], None)
        plan = Plan(user_id=patient_id, week=1, version=1, status="active", model_version="v",
                    fitness_level="beginner",
                    days=[{"day": 1, "completed": True, "exercises": [squats]},
                          {"day": 2, "completed": False, "exercises": [squats]}])
        session.add(plan)
        session.flush()
        for day, reps, rom, pain in ((1, 20, 28.0, None), (2, 6, 33.5, None), (2, None, None, 4)):
            session.add(PlanPerformance(
                plan_id=plan.id, user_id=patient_id, day=day, exercise_id="mini-squats",
                source="camera" if pain is None else "self", valid=True, reps=reps,
                rom_deg=rom, rom_ratio=rom / 30 if rom else None, pain=pain))
        outsider = User(email="out@example.com", password_hash="x")
        session.add(outsider)
    with db.session_scope() as session:
        doc = session.get(User, clinic["doc"])
        full = service.patient_adherence(session, doc, patient_id)
        assert full["sessions"] == {"prescribed": 2, "completed": 1, "share": 0.5}
        assert full["repetitions"] == {"prescribed": 40, "done": 26, "share": 0.65}
        assert full["rom_trend"]["mini-squats"]["change_deg"] == 5.5
        assert full["last_pain"][0]["pain"] == 4 and full["weeks"][0]["week"] == 1
        (summary,), _total = service.patients(session, doc)
        assert summary.adherence["repetitions"]["share"] == 0.65
        assert summary.adherence["rom_change_deg"] == {"mini-squats": 5.5}
        with pytest.raises(DomainError) as other:
            service.patient_adherence(session, doc, outsider.id)
        assert other.value.http_status == 404


def test_one_patient_summary_as_in_the_list(db, clinic):
    with db.session_scope() as session:
        ids = [add_patient(session, n, clinic["code"], minutes_ago)
               for n, minutes_ago in enumerate([30, None])]
        outsider = User(email="out@example.com", password_hash="x")
        session.add(outsider)
        session.flush()
        outsider_id = outsider.id
    with db.session_scope() as session:
        doc = session.get(User, clinic["doc"])
        listed = {p.id: p for p in service.patients(session, doc)[0]}
        for patient_id in ids:
            assert service.patient_summary(session, doc, patient_id) == listed[patient_id]
        for someone in (outsider_id, clinic["doc"], "nope"):
            with pytest.raises(DomainError) as missing:
                service.patient_summary(session, doc, someone)
            assert missing.value.http_status == 404
