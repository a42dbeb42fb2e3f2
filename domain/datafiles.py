"""Reviewed JSON data files beside the code (exercise library, camera checks)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_PARSED: dict[tuple[str, str, float], object] = {}


def load_json_cached(path: Path, parse: Callable[[object], T]) -> T:
    """``parse(json of path)``, cached per parser, path and mtime (an edited file is re-read).
    Raises ``ValueError`` for invalid JSON. Callers copy the result before handing it out."""
    key = (parse.__qualname__, str(path.resolve()), path.stat().st_mtime)
    if key not in _PARSED:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: invalid JSON: {exc}") from exc
        _PARSED[key] = parse(data)
    return _PARSED[key]  # type: ignore[return-value]
