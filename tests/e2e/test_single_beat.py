"""One beat for the whole deployment: two `celery beat` processes against one real Redis, and
only one of them schedules; the other takes over when the first dies; a Redis restart does not
stop the beat (infra/beat.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import redis

from tests.support.stack import BIN, ROOT, RedisServer, wait_until

TASK = "maintenance.sweep_stuck_jobs"
LOCK_TIMEOUT_S = 3


def start_beat(name: str, base: Path, redis_url: str) -> tuple[subprocess.Popen, Path]:
    env = dict(os.environ)
    env.update({
        "REDIS_URL": redis_url, "VAR_DIR": str(base),
        "DATABASE_URL": f"sqlite:///{base / 'app.db'}", "SECRET_KEY": "beat-" + uuid.uuid4().hex,
        "SWEEP_INTERVAL_S": "1", "WEBHOOK_SWEEP_INTERVAL_S": "1",
        "BEAT_LOCK_TIMEOUT_S": str(LOCK_TIMEOUT_S), "PYTHONUNBUFFERED": "1",
    })
    log = base / f"{name}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "workers.celery_app", "beat", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return process, log


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def sent(port: int) -> int:
    """Messages of the periodic TASK waiting in the broker (no worker consumes them here)."""
    client = redis.Redis(port=port)
    count = 0
    for key in client.scan_iter("maintenance*"):
        if client.type(key) != b"list":
            continue
        for raw in client.lrange(key, 0, -1):
            if json.loads(raw)["headers"]["task"] == TASK:
                count += 1
    return count


def holds(log: Path) -> int:
    return log.read_text(errors="replace").count("holding the beat lock")


def test_a_second_beat_waits_and_takes_over(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    first, first_log = start_beat("beat-a", tmp_path, server.url)
    second, second_log = start_beat("beat-b", tmp_path, server.url)
    try:
        wait_until(lambda: holds(first_log) + holds(second_log) >= 1, 90,
                   message="a beat holds the lock")
        wait_until(lambda: all("beat: Starting" in log.read_text(errors="replace")
                               for log in (first_log, second_log)), 90,
                   message="both beats started")
        time.sleep(2)
        before = sent(server.port)
        time.sleep(8)
        during = sent(server.port) - before
        logs = first_log.read_text() + second_log.read_text()
        # One beat sends the 1-second task about 8 times in 8 s; two would send about 16.
        assert 5 <= during <= 11, (during, logs[-3000:])
        assert holds(first_log) + holds(second_log) == 1, logs[-3000:]
        holder, holder_log, standby_log = (first, first_log, second_log) \
            if holds(first_log) else (second, second_log, first_log)
        assert "Sending due task" not in standby_log.read_text()

        # The holder dies without releasing the lock: the standby takes over once it expires.
        stop(holder, signal.SIGKILL)
        wait_until(lambda: holds(standby_log) == 1, LOCK_TIMEOUT_S + 20, interval=0.2,
                   message="the standby takes the lock")
        time.sleep(1)
        before = sent(server.port)
        time.sleep(5)
        after = sent(server.port) - before
        assert 3 <= after <= 8, (after, standby_log.read_text()[-3000:])
    finally:
        stop(first)
        stop(second)
        server.stop()
    assert "Traceback" not in first_log.read_text() + second_log.read_text()


def test_the_beat_outlives_a_redis_restart(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    beat, log = start_beat("beat", tmp_path, server.url)
    try:
        wait_until(lambda: holds(log) == 1, 90, message="the beat holds the lock")
        wait_until(lambda: sent(server.port) >= 2, 30, message="the beat sends")
        server.stop()
        time.sleep(LOCK_TIMEOUT_S + 2)  # longer than the lock lives: it has expired
        assert beat.poll() is None, log.read_text()[-3000:]
        server = RedisServer(server.directory, port=server.port).start()
        before = sent(server.port)
        wait_until(lambda: sent(server.port) >= before + 3, 40, interval=0.5,
                   message="sending again after the restart")
        assert beat.poll() is None
        assert "Redis unavailable" in log.read_text()
    finally:
        stop(beat)
        server.stop()
