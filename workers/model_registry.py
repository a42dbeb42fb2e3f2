"""Models held by a worker process: loaded once, after fork, then reused by every task.

`get(name)` loads a model on first use. `warm_up_in_background(names)` starts the loading in a
daemon thread so that a new pool process reports ready to Celery at once: Celery kills a pool
process that has not reported ready within `worker_proc_alive_timeout`, and loading TensorFlow
models takes longer than that on a busy machine. A task that needs a model still loading waits
for it (one lock per model); a task that needs none is not held up.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from infra.logs import log_event

logger = logging.getLogger("workers.models")

_loaders: dict[str, Callable[[], Any]] = {}
_loaded: dict[str, Any] = {}
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def register(name: str, loader: Callable[[], Any]) -> None:
    _loaders[name] = loader


def _lock_for(name: str) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(name, threading.Lock())


def get(name: str) -> Any:
    """The model `name`, loading it now if no one has (waits for a load already under way)."""
    if name not in _loaded:
        with _lock_for(name):
            if name not in _loaded:
                logger.info("loading model %s", name)
                _loaded[name] = _loaders[name]()
    return _loaded[name]


def _names(names: str) -> list[str]:
    return [n for n in (part.strip() for part in names.split(",")) if n]


def warm_up(names: str) -> float:
    """Load the comma-separated models now; returns the seconds it took."""
    started = time.monotonic()
    for name in _names(names):
        get(name)
    return time.monotonic() - started


def warm_up_in_background(names: str) -> threading.Thread | None:
    """Start loading the comma-separated models in a daemon thread and return at once."""
    wanted = _names(names)
    if not wanted:
        return None

    def load() -> None:
        try:
            seconds = warm_up(",".join(wanted))
        except Exception:
            # The first task that needs the model loads it again and fails with the cause.
            logger.exception("loading models failed", extra={"fields": {"models": wanted}})
            return
        log_event(logger, "models loaded", models=wanted, pid=os.getpid(),
                  duration_ms=round(seconds * 1000, 1))
        # The models and the libraries under them live as long as the process: kept out of
        # the collector's full passes, each of which held the GIL for about 190 ms (420,000
        # objects with TensorFlow and the plan model) in the middle of jobs, some of them
        # holding SQLite's write lock that API requests wait for.
        gc.freeze()

    thread = threading.Thread(target=load, name="model-warm-up", daemon=True)
    thread.start()
    return thread


def clear() -> None:
    _loaded.clear()
