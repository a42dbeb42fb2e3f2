"""The plan service (domain/plans/service.py) on a real migrated SQLite database: plans built
through the committed plans-v1 network, versions, weeks, feedback rules, readiness, and the
repository reads in models/plans.py (a fixed number of queries per page)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from domain.errors import DomainError
from domain.plans import service
from models import Exercise, Job, Plan, PlanFeedback, Profile, ReadinessEntry, User
from models import plans as repo
from tests.unit.tasks import conftest as task_fixtures

db = task_fixtures.db  # the migrated SQLite database that models.db sessions use

PROFILE = {"sex": "female", "age": 24, "height_cm": 168, "weight_kg": 62,
           "fitness_level": "beginner", "injury": "acl", "equipment": [],
           "workouts_per_week": 3}


class Events:
    """Records what the service emits (tasks.events.emit in the worker)."""

    def __init__(self):
        self.emitted: list[tuple[str, dict]] = []

    def __call__(self, session, event_type, user_id, data, key=None):
        self.emitted.append((event_type, data))


@pytest.fixture
def user_id(db, library) -> str:
    with db.session_scope() as session:
        user = User(email="plan@example.com", password_hash="x")
        session.add(user)
        session.flush()
        session.add(Profile(user_id=user.id, **PROFILE))
        for exercise in library:
            session.add(Exercise(id=exercise.id, name=exercise.name, category=exercise.category,
                                 difficulty=exercise.difficulty, data=exercise.to_dict()))
        return user.id


@pytest.fixture
def generation(scorer) -> service.PlanGeneration:
    return service.PlanGeneration(scorer=scorer, model_version="plans-v1", emit=Events())


def new_job(db, user_id: str) -> str:
    with db.session_scope() as session:
        job = Job(user_id=user_id, kind="plan.generate")
        session.add(job)
        session.flush()
        return job.id


def generate(db, generation, user_id: str) -> dict:
    job_id = new_job(db, user_id)
    with db.session_scope() as session:
        return service.generate_for_job(session, generation, job_id=job_id, user_id=user_id)


def give_feedback(db, generation, plan_id: str, rating: str) -> dict:
    with db.session_scope() as session:
        job_id = new_job(db, session.get(Plan, plan_id).user_id)
    with db.session_scope() as session:
        plan = session.get(Plan, plan_id)
        service.check_feedback(plan, [])
        session.add(service.new_feedback(plan, rating=rating, exercise_ids=[], note=None,
                                         job_id=job_id))
    with db.session_scope() as session:
        service.record_feedback(session, job_id=job_id, emit=generation.emit)
        return service.regenerate_after_feedback(session, generation, job_id=job_id)


def test_a_new_plan_is_week_one_and_a_second_is_its_next_version(db, generation, user_id):
    first = generate(db, generation, user_id)
    second = generate(db, generation, user_id)
    assert (first["week"], first["version"]) == (1, 1)
    assert (second["week"], second["version"]) == (1, 2)
    with db.session_scope() as session:
        assert session.get(Plan, first["plan_id"]).status == "superseded"
        plan = session.get(Plan, second["plan_id"])
        assert plan.status == "active" and plan.model_version == "plans-v1"
        assert len(plan.days) == PROFILE["workouts_per_week"]
        assert service.DISCLAIMER in plan.notes
    assert [name for name, _ in generation.emit.emitted] == ["plan.generated"] * 2
    assert generation.emit.emitted[0][1]["links"] == {"plan": f"/api/v1/plans/{first['plan_id']}"}


def test_the_same_job_never_writes_a_second_plan(db, generation, user_id):
    job_id = new_job(db, user_id)
    with db.session_scope() as session:
        once = service.generate_for_job(session, generation, job_id=job_id, user_id=user_id)
    with db.session_scope() as session:
        again = service.generate_for_job(session, generation, job_id=job_id, user_id=user_id)
        assert again == once and repo.plans_of_user(session, user_id)[1] == 1


def test_feedback_completes_the_week_and_builds_the_next(db, generation, user_id):
    week1 = generate(db, generation, user_id)
    week2 = give_feedback(db, generation, week1["plan_id"], "easy")
    assert week2["week"] == 2 and week2["previous_plan_id"] == week1["plan_id"]
    with db.session_scope() as session:
        assert session.get(Plan, week1["plan_id"]).status == "completed"
        assert repo.feedback_of_plan(session, week1["plan_id"]).next_plan_id == week2["plan_id"]
        assert service.next_week(session, user_id) == 2  # week 2 has no feedback yet
        assert service.plan_basis(session, user_id, 2)[1] == {"rating": "easy",
                                                              "exercise_ids": [], "pain": None}
    kinds = [name for name, _ in generation.emit.emitted]
    assert kinds == ["plan.generated", "feedback.received", "plan.generated"]


def test_easy_twice_moves_the_profile_level_up(db, generation, user_id):
    plan = generate(db, generation, user_id)
    for _week in range(2):
        plan = give_feedback(db, generation, plan["plan_id"], "easy")
    with db.session_scope() as session:
        assert session.get(Plan, plan["plan_id"]).fitness_level == "intermediate"
        assert session.get(Profile, user_id).fitness_level == "intermediate"


def test_feedback_rules(db, generation, user_id):
    plan_id = generate(db, generation, user_id)["plan_id"]
    newer_id = generate(db, generation, user_id)["plan_id"]
    with db.session_scope() as session:
        superseded, plan = session.get(Plan, plan_id), session.get(Plan, newer_id)
        with pytest.raises(DomainError) as refused:
            service.check_feedback(superseded, [])
        assert (refused.value.code, refused.value.http_status) == ("plan_superseded", 409)
        with pytest.raises(service.InvalidFields) as invalid:
            service.check_feedback(plan, ["not-an-exercise"])
        assert invalid.value.errors == {"exercise_ids": ["not in this plan: not-an-exercise"]}
        planned = plan.days[0]["exercises"][0]["exercise_id"]
        service.check_feedback(plan, [planned])  # allowed
        session.add(service.new_feedback(plan, rating="doable", exercise_ids=[planned],
                                         note=None, job_id="j1"))
    with db.session_scope() as session:
        with pytest.raises(DomainError) as twice:
            service.check_feedback(session.get(Plan, newer_id), [])
        assert twice.value.code == "feedback_exists"
        assert service.feedback_examples(session) == [
            {**PROFILE, "exercise_id": planned, "rating": "doable"}]


def test_without_profile_or_library_nothing_is_built(db, generation, user_id):
    with db.session_scope() as session:
        session.query(Exercise).delete()
    job_id = new_job(db, user_id)
    with db.session_scope() as session, pytest.raises(DomainError) as empty:
        service.generate_for_job(session, generation, job_id=job_id, user_id=user_id)
    assert empty.value.code == "library_empty"
    with db.session_scope() as session:
        session.delete(session.get(Profile, user_id))
    with db.session_scope() as session, pytest.raises(DomainError) as missing:
        service.require_profile(session, user_id)
    assert (missing.value.code, missing.value.http_status) == ("profile_required", 409)


def test_low_readiness_today_lightens_the_next_open_day_once(db, generation, user_id):
    plan_id = generate(db, generation, user_id)["plan_id"]
    with db.session_scope() as session:
        service.complete_day(session.get(Plan, plan_id), 1, dt.datetime.now(dt.UTC))
        low = {"sleep_hours": 3.0, "resting_hr": 90.0, "hrv_ms": 12.0}
        recorded = service.record_readiness(session, user_id, low)
        assert recorded.band == "low"
        assert recorded.session_adjusted == {"plan_id": plan_id, "day": 2,
                                             "weekday": recorded.session_adjusted["weekday"]}
    with db.session_scope() as session:
        days = session.get(Plan, plan_id).days
        assert days[1]["lighter"] and not days[0].get("lighter")
        again = service.record_readiness(session, user_id, low)  # replaces today's entry
        assert again.session_adjusted is None
        assert repo.readiness_history(session, user_id)[1] == 1
        yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        assert service.record_readiness(session, user_id, low,
                                        day=yesterday).session_adjusted is None


def test_complete_day(db, generation, user_id):
    plan_id = generate(db, generation, user_id)["plan_id"]
    now = dt.datetime.now(dt.UTC)
    with db.session_scope() as session:
        plan = session.get(Plan, plan_id)
        assert service.complete_day(plan, 1, now) is True
        assert service.complete_day(plan, 1, now) is False
        with pytest.raises(DomainError) as missing:
            service.complete_day(plan, 9, now)
        assert missing.value.http_status == 404
        assert plan.days[0]["completed_at"] == now.isoformat()


def count_queries(session) -> list[str]:
    statements: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    return statements


def test_plan_history_pages_with_feedback_in_a_fixed_number_of_queries(db, user_id):
    with db.session_scope() as session:
        for week in range(1, 8):
            plan = Plan(user_id=user_id, week=week, version=1, status="completed",
                        model_version="plans-v1", fitness_level="beginner", days=[], notes=[])
            session.add(plan)
            session.flush()
            session.add(PlanFeedback(plan_id=plan.id, user_id=user_id, rating="doable"))
    with db.session_scope() as session:
        statements = count_queries(session)
        page, total = repo.plans_of_user(session, user_id, offset=2, limit=3)
        ratings = [plan.feedback.rating for plan in page]
    assert total == 7 and [plan.week for plan in page] == [5, 4, 3]
    assert ratings == ["doable"] * 3
    assert len(statements) == 3  # plans, their feedback (selectin), the count


def test_readiness_history_is_newest_first_and_counted(db, user_id):
    today = dt.date(2026, 11, 30)
    with db.session_scope() as session:
        for back in range(5):
            session.add(ReadinessEntry(user_id=user_id, date=today - dt.timedelta(days=back),
                                       sleep_hours=8, resting_hr=60, hrv_ms=45, score=70,
                                       band="high", details={}))
    with db.session_scope() as session:
        page, total = repo.readiness_history(session, user_id, offset=1, limit=2)
        assert total == 5 and [e.date.day for e in page] == [29, 28]
        baseline = repo.readiness_before(session, user_id, today, 28)
        assert len(baseline) == 4
