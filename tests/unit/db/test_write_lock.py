"""models.db.write_lock: threads of one process take turns at SQLite's one writer."""

from __future__ import annotations

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


def test_one_lock_per_database_and_none_once_the_session_has_written(tmp_path):
    a, b = make_session(tmp_path), make_session(tmp_path)
    assert write_lock(a) is write_lock(b)
    a.execute(text("SELECT 1"))
    assert write_lock(a) is write_lock(b)  # a read holds no write lock
    a.execute(text("INSERT INTO t VALUES (1)"))
    # a holds SQLite's write lock: it must not wait for a thread that waits in SQLite for it
    assert write_lock(a) is not write_lock(b)
    a.commit()
    assert write_lock(a) is write_lock(b)


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
    assert make_session(tmp_path).scalar(text("SELECT COUNT(*) FROM t")) == 8
