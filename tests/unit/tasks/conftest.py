"""A migrated SQLite database that models.db sessions use, for task unit tests."""

from __future__ import annotations

import dataclasses

import pytest
from alembic import command

from tests.unit.db.conftest import alembic_config


@pytest.fixture
def db(tmp_path, monkeypatch):
    import models.db
    from config import settings

    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    command.upgrade(alembic_config(url), "head")
    monkeypatch.setattr(models.db, "settings", dataclasses.replace(settings, database_url=url))
    models.db.reset_engines()
    yield models.db
    models.db.reset_engines()
