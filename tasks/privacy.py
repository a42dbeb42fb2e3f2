"""Privacy operations: deleting an analysis, retention of original uploads, the user's data export.

Functions taking a session are the service the web layer calls (inside its request transaction);
the Celery tasks here run them on a worker:

    accounts.export              GET /me/export: a zip of every row and file stored about the user
    maintenance.apply_retention  beat: remove original uploads older than VIDEO_RETENTION_DAYS
                                 (keypoints and results stay), expired export zips, and the files
                                 of analyses deleted while one of their tasks was still writing
"""

from __future__ import annotations

import logging
import time

from config import settings
from domain import privacy
from domain.data_export import collect_user_rows, write_export
from domain.jobs.hooks import EXPORT_DIR, export_key
from domain.jobs.kinds import ACCOUNT_EXPORT
from domain.video import service as video_service
from domain.video.service import (
    analysis_prefix,
    discard_if_deleted,
    expire_original,
    remove_analysis_files,
    remove_user_references,
)
from infra import storage
from infra.logs import log_event
from models import Job, User
from models import repository as repo
from models.base import utcnow
from models.db import session_scope
from tasks import events
from tasks.jobs import JobTask
from workers.celery_app import app

logger = logging.getLogger("tasks.privacy")

EXPORT_KIND = ACCOUNT_EXPORT
# Re-exported for the web layer and tests: they live in the services now.
__all__ = ["EXPORT_DIR", "EXPORT_KIND", "analysis_prefix", "collect_user_rows",
           "delete_analysis", "discard_if_deleted", "export_key", "remove_analysis_files",
           "remove_user_references", "write_export"]

# ---------------------------------------------------------------- deleting an analysis


def delete_analysis(session, analysis) -> None:
    """Delete an analysis with everything derived from it, in the caller's transaction (the
    rules: domain/video/service.py delete_analysis); call `remove_analysis_files` after the
    commit."""
    video_service.delete_analysis(session, analysis, events.emit)


# ---------------------------------------------------------------- retention


def _remove_files(paths: list[str]) -> None:
    for path in paths:
        try:
            storage.remove(path)
        except ValueError:  # a path outside storage is never touched
            log_event(logger, "stored path outside storage ignored", level=logging.WARNING)


def apply_video_retention(now=None) -> list[str]:
    """Remove the originals of analyses older than the retention period (ended ones only: a
    running job may still read its original). Returns the analysis ids."""
    now = now or utcnow()
    cutoff = privacy.retention_cutoff(now, settings.video_retention_days)
    if cutoff is None:
        return []
    expired: list[str] = []
    files: list[str] = []
    with session_scope() as session:
        for analysis in repo.ended_analyses_with_originals(session, before=cutoff):
            if not privacy.original_expired(analysis.created_at, now,
                                            settings.video_retention_days):
                continue
            # Compare-and-set: of two retention sweeps run at once, one expires it.
            if not repo.claim_original_expiry(session, analysis.id, analysis.media_path):
                continue
            files += expire_original(session, analysis)
            expired.append(analysis.id)
    _remove_files(files)  # after the commit: a failed commit leaves every file in place
    return expired


def remove_expired_exports(now_ts: float | None = None) -> list[str]:
    """Export zips older than EXPORT_TTL_HOURS (their download then answers 410)."""
    now_ts = now_ts or time.time()
    removed = []
    for obj in storage.list("users"):
        parts = obj.key.split("/")  # users/<user>/exports/<job>.zip
        if len(parts) == 4 and parts[2] == EXPORT_DIR and \
                now_ts - obj.mtime > settings.export_ttl_hours * 3600:
            storage.delete(obj.key)
            removed.append(parts[3])
    return removed


def remove_orphan_analysis_folders(grace_s: float, now_ts: float | None = None) -> list[str]:
    """Folders of analyses that no longer exist (a task of a deleted analysis may have written
    after the deletion removed its folder), once older than `grace_s` (an upload in progress
    writes its folder just before its row commits)."""
    now_ts = now_ts or time.time()
    # users/<user>/analyses/<analysis>/, each with its newest file's time
    folders = {prefix: newest for prefix, newest in storage.folders("users", 4).items()
               if prefix.split("/")[2] == "analyses"}
    if not folders:
        return []
    with session_scope() as session:
        known = repo.analysis_ids(session)
    removed = []
    for prefix, newest in sorted(folders.items()):
        analysis_id = prefix.split("/")[3]
        # Deleting twice is harmless (a second sweep run by mistake finds nothing left).
        if analysis_id not in known and now_ts - newest > grace_s:
            storage.delete_prefix(prefix)
            removed.append(analysis_id)
    return removed


@app.task(name="maintenance.apply_retention")
def apply_retention() -> dict:
    originals = apply_video_retention()
    exports = remove_expired_exports()
    orphans = remove_orphan_analysis_folders(settings.orphan_grace_s)
    if originals or exports or orphans:
        log_event(logger, "retention applied", originals=len(originals), exports=len(exports),
                  orphan_folders=len(orphans))
    return {"originals": len(originals), "exports": len(exports), "orphans": len(orphans)}


# ---------------------------------------------------------------- export


class ExportTask(JobTask):
    stage = "exporting"


@app.task(bind=True, base=ExportTask, name="accounts.export")
def export_account(self, job_id: str) -> dict:
    """Everything stored about the job's user, as a zip only that user can download."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        user_id = job.user_id
        if session.get(User, user_id) is None:
            from domain.errors import DomainError

            raise DomainError("the account was deleted", code="account_deleted")
        rows = collect_user_rows(session, user_id)
    out = export_key(user_id, job_id)
    manifest = write_export(user_id, rows, out)
    return {"download_url": f"/api/v1/me/export/{job_id}.zip", "bytes": storage.size(out),
            "tables": manifest["tables"], "files": len(manifest["files"]),
            "expires_in_s": int(settings.export_ttl_hours * 3600)}
