"""Engine and session factory. SQLite by default (WAL, busy timeout), PostgreSQL by DATABASE_URL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
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


_SQLITE_WRITE_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def write_lock(session: Session) -> AbstractContextManager:
    """Held around a short write transaction (first write to commit) by code that many threads
    of one process run at once (the web's job insert): SQLite lets one writer in at a time,
    and a writer that finds the database locked waits in SQLite's busy handler, which sleeps
    in growing steps (1, 2, 5, 10 ... 100 ms) and so answers late even when the lock was
    freed at once (job insert p99 85 ms at 200 POST/s, issue 13). Threads of the process wait
    on this lock instead and go in as soon as the one before commits; other processes still
    meet in SQLite. No lock for other databases (they have row locks)."""
    engine = session.get_bind()
    if engine.dialect.name != "sqlite":
        return nullcontext()
    if session.in_transaction() and session.connection().connection.dbapi_connection \
            .in_transaction:
        # This session already wrote (SQLite's lock is its own): it must not wait here for a
        # thread that waits in SQLite for it.
        return nullcontext()
    key = str(engine.url)
    with _LOCKS_LOCK:
        return _SQLITE_WRITE_LOCKS.setdefault(key, threading.Lock())


def reset_engines() -> None:
    """Forget engines (after fork, or when tests change DATABASE_URL)."""
    for factory in (get_engine, get_sessionmaker):
        factory.cache_clear()
