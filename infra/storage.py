"""File storage under STORAGE_DIR. Paths stored in the database are relative to it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from config import settings


def root() -> Path:
    path = settings.storage_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_dir(user_id: str) -> Path:
    return root() / "users" / user_id


def absolute(relative: str) -> Path:
    path = (root() / relative).resolve()
    if not path.is_relative_to(root().resolve()):
        raise ValueError("path escapes the storage directory")
    return path


def relative(path: Path) -> str:
    return str(path.resolve().relative_to(root().resolve()))


def incoming_dir() -> Path:
    """Uploads stream here first; a file is moved into place only once the request is accepted."""
    path = root() / "incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_user_files(user_id: str) -> None:
    shutil.rmtree(user_dir(user_id), ignore_errors=True)


def remove(relative_path: str | None) -> None:
    if relative_path:
        try:
            os.unlink(absolute(relative_path))
        except FileNotFoundError:
            pass
