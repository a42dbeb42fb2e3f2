"""Hooks of job kinds that have no service of their own (see kinds.py)."""

from __future__ import annotations

from infra import storage

EXPORT_DIR = "exports"


def export_key(user_id: str, job_id: str) -> str:
    """The storage key a data export job writes the user's zip at."""
    return f"{storage.user_prefix(user_id)}{EXPORT_DIR}/{job_id}.zip"


class ExportHooks:
    """A failed export leaves no half-written zip behind."""

    @staticmethod
    def on_succeeded(session, job, emit) -> None:
        pass

    @staticmethod
    def on_failed(session, job, emit) -> None:
        storage.delete(export_key(job.user_id, job.id))
