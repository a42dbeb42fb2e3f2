"""models.db.write_lock: threads of one process take turns at SQLite's one writer, and a writer
that met another connection's transaction goes in as soon as that one commits."""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from models.db import make_engine, write_lock


def make_session(tmp_path) -> Session:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
    return Session(engine)


def count(tmp_path) -> int:
    return make_session(tmp_path).scalar(text("SELECT COUNT(*) FROM t"))


def test_the_write_lock_is_taken_at_the_start_and_given_back_by_commit_or_rollback(tmp_path):
    a, b = make_session(tmp_path), make_session(tmp_path)
    with write_lock(a):
        # the transaction holds SQLite's write lock before its first write
        assert a.connection().connection.dbapi_connection.in_transaction
        b_conn = b.connection().connection.dbapi_connection
        b_conn.execute("PRAGMA busy_timeout=0")
        try:
            b_conn.execute("BEGIN IMMEDIATE")
            raise AssertionError("a second writer got in while the first held the lock")
        except Exception as exc:  # sqlite3.OperationalError: database is locked
            assert "locked" in str(exc)
        a.execute(text("INSERT INTO t VALUES (1)"))
        a.commit()
    with write_lock(a):
        a.execute(text("INSERT INTO t VALUES (2)"))
        a.rollback()
    with write_lock(b):  # neither the commit nor the rollback left the lock held
        b.execute(text("INSERT INTO t VALUES (3)"))
        b.commit()
    assert count(tmp_path) == 2


def test_a_session_that_already_wrote_does_not_wait_for_itself(tmp_path):
    a, b = make_session(tmp_path), make_session(tmp_path)
    a.execute(text("INSERT INTO t VALUES (1)"))  # a holds SQLite's write lock
    got_in = threading.Event()

    def other_thread_waits():  # holds the process's lock, waits in SQLite for a
        with write_lock(b):
            got_in.set()
            b.execute(text("INSERT INTO t VALUES (2)"))
            b.commit()

    waiter = threading.Thread(target=other_thread_waits)
    waiter.start()
    time.sleep(0.05)
    with write_lock(a):  # no deadlock: a does not queue behind b
        a.execute(text("INSERT INTO t VALUES (3)"))
        a.commit()
    waiter.join(timeout=10)
    assert got_in.is_set() and count(tmp_path) == 3


def test_concurrent_writers_of_one_process_take_turns(tmp_path):
    inside, overlaps = [0], []

    def write(value: int) -> None:
        session = make_session(tmp_path)
        with write_lock(session):
            inside[0] += 1
            overlaps.append(inside[0])
            session.execute(text("INSERT INTO t VALUES (:x)"), {"x": value})
            time.sleep(0.01)
            session.commit()
            inside[0] -= 1
        session.close()

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert max(overlaps) == 1
    assert count(tmp_path) == 8


def test_a_writer_goes_in_soon_after_another_connection_commits(tmp_path):
    """Another process's transaction (here another connection, outside the process's lock)
    holds the write lock for 335 ms. SQLite's busy handler would try again at 328 and then
    428 ms (its sleeps grow to 100 ms); polling goes in within milliseconds of the commit."""
    make_session(tmp_path).close()
    holder = sqlite3.connect(tmp_path / "w.db", isolation_level=None, check_same_thread=False)
    delays = []
    for _ in range(3):
        holder.execute("BEGIN IMMEDIATE")
        released = []

        def release(released=released):
            time.sleep(0.335)
            holder.execute("COMMIT")
            released.append(time.perf_counter())

        releaser = threading.Thread(target=release)
        session = make_session(tmp_path)
        releaser.start()
        with write_lock(session):
            session.execute(text("INSERT INTO t VALUES (1)"))
            got_in = time.perf_counter()  # the insert has the write lock
            session.commit()
        releaser.join()
        delays.append(got_in - released[0])
        session.close()
    assert statistics.median(delays) < 0.03, delays
