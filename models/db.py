"""Engine and session factory. SQLite by default (WAL, busy timeout), PostgreSQL by DATABASE_URL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from config import settings

#: how long a SQLite writer waits for the database's one write lock before it fails "locked"
SQLITE_LOCK_WAIT_S = 30.0
_BUSY_TIMEOUT = f"PRAGMA busy_timeout={SQLITE_LOCK_WAIT_S * 1000:.0f}"
#: connections kept open per process: at least the web process's threads (8 in the Procfile).
#: Beyond it a connection is opened for one checkout and closed after it: with 5 kept, three
#: of the eight threads opened a new PostgreSQL connection (a new server process) per request.
POOL_SIZE = 10
POOL_OVERFLOW = 10


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Web and worker processes share one SQLite file: WAL lets readers run beside a writer,
    # busy_timeout makes a writer wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    # WAL is kept in the file: set it once. Setting it takes a lock that does not wait in the
    # busy handler: a connection opened while another process wrote, or while another
    # connection was setting WAL on a new file, failed with "database is locked".
    def use_wal() -> None:
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")

    _until_unlocked(use_wal)
    # In WAL mode NORMAL syncs the log at checkpoints, not at every commit: a commit survives
    # any crash of the processes (the WAL is in the OS), only an OS crash or power loss can
    # take the last commits back. FULL (the default) made every job row written by a request
    # wait for an fsync while holding the database's one write lock (issue 13).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(_BUSY_TIMEOUT)
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
        engine = create_engine(url, connect_args={"timeout": SQLITE_LOCK_WAIT_S,
                                                   "check_same_thread": False},
                               pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                               hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
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


#: between two tries: SQLite's own busy handler sleeps 1, 2, 5 ... 100 ms between tries, so a
#: writer that has waited a while goes in up to 100 ms after the lock was freed
SQLITE_LOCK_POLL_S = 0.001


@contextmanager
def write_lock(session: Session) -> Iterator[None]:
    """Held around a short write transaction (first write to commit) by code that many threads
    and processes run at once (the web's job insert): SQLite lets one writer in at a time.

    Threads of one process wait on a lock of the process and go in as soon as the one before
    commits. Then the transaction is begun with SQLite's write lock taken (`BEGIN IMMEDIATE`),
    tried every millisecond: a writer that met another process's transaction (the other web
    process, a worker) goes in within a millisecond of its commit instead of at the busy
    handler's next step (POST /plans p99 180 ms at 200/s beside the plan workers, issue 13).
    No lock for other databases (they have row locks)."""
    engine = session.get_bind()
    if engine.dialect.name != "sqlite":
        yield
        return
    dbapi = session.connection().connection.dbapi_connection
    if dbapi.in_transaction:
        # This session already wrote (SQLite's lock is its own): it must not wait here for a
        # thread that waits in SQLite for it.
        yield
        return
    key = str(engine.url)
    with _LOCKS_LOCK:
        lock = _SQLITE_WRITE_LOCKS.setdefault(key, threading.Lock())
    with lock:
        _begin_immediate(dbapi)
        yield


def _begin_immediate(dbapi) -> None:
    """BEGIN IMMEDIATE on a pysqlite connection, polled (the module sends no BEGIN of its own
    once a transaction is open, and commits it on commit())."""
    cursor = dbapi.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=0")
        _until_unlocked(lambda: cursor.execute("BEGIN IMMEDIATE"))
    finally:
        cursor.execute(_BUSY_TIMEOUT)
        cursor.close()


def _until_unlocked(statement: Callable[[], object]) -> None:
    """Run `statement` again every SQLITE_LOCK_POLL_S while it fails with "database is
    locked" (statements that take a lock without SQLite's busy handler, or with it turned
    off); that error is raised after SQLITE_LOCK_WAIT_S."""
    deadline = time.monotonic() + SQLITE_LOCK_WAIT_S
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(SQLITE_LOCK_POLL_S)


def reset_engines() -> None:
    """Forget engines (after fork, or when tests change DATABASE_URL)."""
    for factory in (get_engine, get_sessionmaker):
        factory.cache_clear()
