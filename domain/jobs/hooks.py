"""Hooks of job kinds that have no service of their own (see kinds.py)."""

from __future__ import annotations

from pathlib import Path

from infra import storage

EXPORT_DIR = "exports"


def export_path(user_id: str, job_id: str) -> Path:
    """Where a data export job writes the user's zip."""
    return storage.user_dir(user_id) / EXPORT_DIR / f"{job_id}.zip"


class ExportHooks:
    """A failed export leaves no half-written zip behind."""

    @staticmethod
    def on_succeeded(session, job, emit) -> None:
        pass

    @staticmethod
    def on_failed(session, job, emit) -> None:
        export_path(job.user_id, job.id).unlink(missing_ok=True)
