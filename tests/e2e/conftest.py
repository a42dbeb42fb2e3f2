from __future__ import annotations

import pytest

from tests.support.stack import Client, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """One running system for the end-to-end tests: Redis, SQLite, two workers, gunicorn."""
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture
def anon(stack) -> Client:
    return Client(stack.url)


@pytest.fixture
def patient(anon) -> Client:
    return anon.register()
