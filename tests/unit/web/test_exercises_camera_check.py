"""GET /api/v1/exercises[/{id}] carries the camera check (Flask test client, SQLite, the
exercises blueprint alone; authentication stubbed: it is tested elsewhere)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_smorest import Api
from sqlalchemy.orm import sessionmaker

from domain.plans.library import load_library


@pytest.fixture
def client(tmp_path, monkeypatch):
    from models import Base, Exercise
    from models.db import make_engine
    from web import auth, errors
    from web.errors import ApiError
    from web.views import exercises

    engine = make_engine(f"sqlite:///{tmp_path / 'ex.db'}")
    Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory() as session:
        for ex in load_library():
            session.add(Exercise(id=ex.id, name=ex.name, category=ex.category,
                                 difficulty=ex.difficulty, data=ex.to_dict()))
        session.commit()
    session = factory()
    monkeypatch.setattr(exercises, "db_session", lambda: session)
    monkeypatch.setattr(auth, "_authenticate", lambda: object())
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    Api(app).register_blueprint(exercises.blp)
    app.register_error_handler(ApiError, errors.handle_api_error)
    yield app.test_client()
    session.close()
    engine.dispose()


def test_a_checkable_exercise_says_how_to_film_it_and_what_is_measured(client):
    r = client.get("/api/v1/exercises/sit-to-stand")
    assert r.status_code == 200
    check = r.get_json()["camera_check"]
    assert check["supported"] is True
    assert check["view"] == "side"
    assert "repetitions" in check["measures"]
    assert any(m.startswith("range_of_motion:knee") for m in check["measures"])
    assert "camera" in check["instructions"] and len(check["instructions"]) > 80
    assert check["range_of_motion"]["unit"] == "deg"
    assert set(check["range_of_motion"]["expected"]) == {"beginner", "intermediate", "advanced"}
    assert "reason" not in check


def test_a_hold_lists_hold_time_and_its_target_position(client):
    check = client.get("/api/v1/exercises/wall-sit").get_json()["camera_check"]
    assert check["kind"] == "hold" and "hold_time" in check["measures"]
    low, high = check["position"]["target"]["advanced"]
    assert low < high


def test_an_unsupported_exercise_says_why(client):
    check = client.get("/api/v1/exercises/stationary-bike").get_json()["camera_check"]
    assert check["supported"] is False
    assert check["view"] is None and check["measures"] == []
    assert "bike" in check["reason"]


def test_the_list_carries_camera_checks_too(client):
    r = client.get("/api/v1/exercises?injury=achilles")
    assert r.status_code == 200
    items = r.get_json()
    assert items and all("camera_check" in e for e in items)
    assert any(e["camera_check"]["supported"] for e in items)


def test_unknown_exercise_is_404(client):
    r = client.get("/api/v1/exercises/no-such-thing")
    assert r.status_code == 404
    assert r.get_json()["code"] == "not_found"
