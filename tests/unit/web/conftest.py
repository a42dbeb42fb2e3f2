"""Fixtures for web tests through the real app on a migrated SQLite database."""

from __future__ import annotations

import pytest

from tests.unit.tasks import conftest as task_fixtures

db = task_fixtures.db  # the migrated SQLite database that models.db sessions use

PASSWORD = "correct horse battery staple"


@pytest.fixture
def client(db):
    """A test client signed in as a new patient (its id in ``client.user_id``)."""
    from web import create_app

    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    client.post("/api/v1/auth/register", json={"email": "p@example.com", "password": PASSWORD})
    token = client.post("/api/v1/auth/token", json={"email": "p@example.com",
                                                    "password": PASSWORD}).json["access_token"]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client.user_id = client.get("/api/v1/me").json["id"]
    return client
