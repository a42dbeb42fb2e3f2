"""Command groups shared by the command modules (web/cli_*.py import from here, never from
web/cli.py, which imports them all: no import circle)."""

from __future__ import annotations

from pathlib import Path

from flask.cli import AppGroup

ml_cli = AppGroup("ml", help="Train the models (plan network, exercise classifier).")


def next_version(root: Path, prefix: str) -> str:
    """The next free artifact version under `root` (prefix1, prefix2, ...)."""
    numbers = [int(p.name[len(prefix):]) for p in root.glob(f"{prefix}*")
               if p.name[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"
