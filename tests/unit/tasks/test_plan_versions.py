"""Two plan jobs of one user finishing together: the loser takes the next version number
(domain/plans/service.py `store_plan` on a real migrated SQLite database)."""

from __future__ import annotations

from sqlalchemy import select

from models import Job, Plan, Profile, User

#: the model version stored on the plan and an event sink that records nothing
WRITER = {"model_version": "plans-test", "emit": lambda *args, **kwargs: None}


def _user_with_jobs(db, n: int) -> tuple[str, list[str]]:
    with db.session_scope() as session:
        user = User(email="race@example.com", password_hash="x")
        session.add(user)
        session.flush()
        session.add(Profile(user_id=user.id, sex="female", age=30, height_cm=170, weight_kg=65,
                            fitness_level="beginner", injury="acl", equipment=[],
                            workouts_per_week=3))
        jobs = [Job(user_id=user.id, kind="plans.generate") for _ in range(n)]
        session.add_all(jobs)
        session.flush()
        return user.id, [job.id for job in jobs]


def test_lost_version_race_takes_the_next_number(db, monkeypatch):
    import domain.plans.service as plans

    user_id, (mine, rival) = _user_with_jobs(db, 2)
    draft = {"days": [], "notes": []}
    real = plans.plan_from_draft
    raced = []

    def racing_plan_from_draft(draft, **kwargs):
        if not raced:
            # Another worker writes the same version number between our read and our insert.
            raced.append(kwargs["version"])
            with db.session_scope() as other:
                profile = other.get(Profile, user_id)
                other.add(real(draft, **{**kwargs, "job_id": rival, "profile": profile}))
        return real(draft, **kwargs)

    monkeypatch.setattr(plans, "plan_from_draft", racing_plan_from_draft)
    with db.session_scope() as session:
        profile = session.get(Profile, user_id)
        plan = plans.store_plan(session, draft, user_id=user_id, week=1, job_id=mine,
                                profile=profile, previous_plan_id=None, **WRITER)
        assert plan.version == raced[0] + 1
    with db.session_scope() as session:
        rows = session.execute(select(Plan.job_id, Plan.version, Plan.status)
                               .where(Plan.user_id == user_id).order_by(Plan.version)).all()
    assert [(r.job_id, r.version, r.status) for r in rows] == [
        (rival, 1, "superseded"), (mine, 2, "active")]


def test_consecutive_versions_supersede_the_earlier(db):
    import domain.plans.service as plans

    user_id, job_ids = _user_with_jobs(db, 3)
    for job_id in job_ids:
        with db.session_scope() as session:
            plans.store_plan(session, {"days": [], "notes": []}, user_id=user_id, week=1,
                             job_id=job_id, profile=session.get(Profile, user_id),
                             previous_plan_id=None, **WRITER)
    with db.session_scope() as session:
        statuses = session.scalars(select(Plan.status).where(Plan.user_id == user_id)
                                   .order_by(Plan.version)).all()
    assert statuses == ["superseded", "superseded", "active"]
