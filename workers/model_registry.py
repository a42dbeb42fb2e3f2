"""Models held by a worker process: loaded on first use (or at start-up), then reused."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("workers.models")

_loaders: dict[str, Callable[[], Any]] = {}
_loaded: dict[str, Any] = {}
_lock = threading.Lock()


def register(name: str, loader: Callable[[], Any]) -> None:
    _loaders[name] = loader


def get(name: str) -> Any:
    if name not in _loaded:
        with _lock:
            if name not in _loaded:
                logger.info("loading model %s", name)
                _loaded[name] = _loaders[name]()
    return _loaded[name]


def warm_up(names: str) -> None:
    """Load the comma-separated models now, so the first task does not pay for it."""
    for name in filter(None, (n.strip() for n in names.split(","))):
        get(name)


def clear() -> None:
    _loaded.clear()
