"""Engine and session factory. SQLite by default (WAL, busy timeout), PostgreSQL by DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from config import settings


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Web and worker processes share one SQLite file: WAL lets readers run beside a writer,
    # busy_timeout makes a writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL syncs the log at checkpoints, not at every commit: a commit survives
    # any crash of the processes (the WAL is in the OS), only an OS crash or power loss can
    # take the last commits back. FULL (the default) made every job row written by a request
    # wait for an fsync while holding the database's one write lock (issue 13).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine whose errors never carry bound parameters (emails, password hashes, health
    data): a logged database error shows the SQL, not the values (`hide_parameters`)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10,
                         hide_parameters=True)


@cache
def get_engine(url: str | None = None) -> Engine:
    return make_engine(url or settings.database_url)


@cache
def get_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reset_engines() -> None:
    """Forget engines (after fork, or when tests change DATABASE_URL)."""
    for factory in (get_engine, get_sessionmaker):
        factory.cache_clear()
