"""The schema comes from migrations only, and its constraints hold on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from models import Base, Event, Job, Plan, PlanFeedback, Profile, User
from tests.unit.db.conftest import alembic_config


def test_migrations_match_models(database_url):
    command.upgrade(alembic_config(database_url), "head")
    from models.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_up_again(database_url):
    config = alembic_config(database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    from models.db import make_engine

    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
    command.upgrade(config, "head")


def _user(session, email="a@example.com") -> User:
    user = User(email=email, password_hash="x", role="patient")
    session.add(user)
    session.flush()
    return user


def test_idempotency_key_unique_per_user(migrated):
    session = migrated()
    alice, bob = _user(session, "alice@example.com"), _user(session, "bob@example.com")
    session.add_all([Job(user_id=alice.id, kind="plan.generate", idempotency_key="k"),
                     Job(user_id=bob.id, kind="plan.generate", idempotency_key="k")])
    session.commit()  # the same key from two users is fine
    session.add(Job(user_id=alice.id, kind="plan.generate", idempotency_key="k"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.close()


def test_one_feedback_per_plan(migrated):
    session = migrated()
    user = _user(session)
    plan = Plan(user_id=user.id, week=1, model_version="v", fitness_level="beginner", days=[])
    session.add(plan)
    session.flush()
    session.add(PlanFeedback(plan_id=plan.id, user_id=user.id, rating="easy"))
    session.commit()
    session.add(PlanFeedback(plan_id=plan.id, user_id=user.id, rating="doable"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
    session.close()


def test_deleting_a_user_deletes_their_rows(migrated):
    session = migrated()
    user, other = _user(session, "gone@example.com"), _user(session, "stays@example.com")
    session.add_all([
        Profile(user_id=user.id, sex="male", age=30, height_cm=180, weight_kg=80,
                fitness_level="beginner", injury="acl", equipment=[], workouts_per_week=3),
        Job(user_id=user.id, kind="plan.generate"), Job(user_id=other.id, kind="plan.generate"),
        Event(user_id=user.id, type="plan.generated", data={}),
        Plan(user_id=user.id, week=1, model_version="v", fitness_level="beginner", days=[]),
    ])
    session.commit()
    session.delete(user)
    session.commit()
    for model in (Profile, Plan, Event):
        assert session.scalar(select(func.count()).select_from(model)) == 0
    assert session.scalar(select(func.count()).select_from(Job)) == 1  # the other user's
    session.close()
