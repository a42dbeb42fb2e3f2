from __future__ import annotations

import pytest

from tests.support.stack import Client, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """One running system for the end-to-end tests: Redis, SQLite, two workers, gunicorn."""
    running = Stack(tmp_path_factory.mktemp("stack"))
    try:
        running.start()
    except Exception:
        for name in list(running.processes):
            print(f"---- {name} log ----\n{running.logs(name)[-4000:]}")
        running.stop()
        raise
    yield running
    running.stop()


@pytest.fixture
def anon(stack) -> Client:
    return Client(stack.url)


@pytest.fixture
def patient(anon) -> Client:
    return anon.register()
