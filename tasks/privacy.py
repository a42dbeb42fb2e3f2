"""Privacy operations: deleting an analysis, retention of original uploads, the user's data export.

Functions taking a session are the service the web layer calls (inside its request transaction);
the Celery tasks here run them on a worker:

    accounts.export              GET /me/export: a zip of every row and file stored about the user
    maintenance.apply_retention  beat: remove original uploads older than VIDEO_RETENTION_DAYS
                                 (keypoints and results stay), expired export zips, and the files
                                 of analyses deleted while one of their tasks was still writing
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
import zipfile
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from config import settings
from domain import privacy
from domain.jobs import service as jobs
from domain.jobs.hooks import EXPORT_DIR, export_path
from domain.jobs.kinds import ACCOUNT_EXPORT
from domain.video.service import analysis_dir, discard_if_deleted, remove_analysis_files
from infra import storage
from infra.logs import log_event
from models import TERMINAL_STATUSES, Analysis, Base, Event, Job, Reference, User
from models import repository as repo
from models.base import utcnow
from models.db import session_scope
from tasks import events
from tasks.jobs import JobTask
from workers.celery_app import app

logger = logging.getLogger("tasks.privacy")

EXPORT_KIND = ACCOUNT_EXPORT
# Re-exported for the web layer and tests: they live in the services now.
__all__ = ["EXPORT_DIR", "EXPORT_KIND", "analysis_dir", "delete_analysis", "discard_if_deleted",
           "export_path", "remove_analysis_files"]

# ---------------------------------------------------------------- deleting an analysis


def delete_analysis(session: Session, analysis: Analysis) -> None:
    """Delete an analysis with everything derived from it, in the caller's transaction.

    Its jobs that have not ended are canceled first (their remaining tasks stop at their next
    step), every job's copy of the result is cleared, the events announcing it and the expert
    reference built from it go, then the analysis row (its result history goes with it by
    ON DELETE CASCADE). Call `remove_analysis_files` after the commit.
    """
    now = utcnow()
    parents: set[str] = set()
    for job in repo.jobs_of_subject(session, "analysis", analysis.id):
        if job.status not in TERMINAL_STATUSES:
            job.status, job.finished_at = "canceled", now
            job.error_code, job.error_message = "analysis_deleted", "the analysis was deleted"
            if job.parent_id:
                parents.add(job.parent_id)
        job.result = None
    for event in session.scalars(select(Event).where(Event.user_id == analysis.user_id)):
        if (event.data or {}).get("analysis_id") == analysis.id:
            session.delete(event)  # its webhook deliveries go by ON DELETE CASCADE
    session.execute(delete(Reference).where(Reference.id == analysis.id))
    session.delete(analysis)
    session.flush()
    for parent_id in parents:
        jobs.child_job_ended(session, parent_id, events.emit)


def remove_user_references(session: Session, user_id: str) -> int:
    """Expert references built from this user's uploads (a clinician's reference videos)."""
    ids = select(Analysis.id).where(Analysis.user_id == user_id)
    return session.execute(delete(Reference).where(Reference.id.in_(ids))).rowcount or 0


# ---------------------------------------------------------------- retention


def expire_original(session: Session, analysis: Analysis) -> list[str]:
    """Forget the original upload and its annotated rendering; returns the files to remove
    once committed. Keypoints and results stay."""
    paths = [p for p in (analysis.media_path, analysis.annotated_path) if p]
    analysis.media_path = None
    analysis.annotated_path = None
    analysis.original_deleted_at = utcnow()
    return paths


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
        rows = session.scalars(select(Analysis).where(
            Analysis.created_at < cutoff, Analysis.media_path.is_not(None),
            Analysis.status.in_(tuple(TERMINAL_STATUSES)))).all()
        for analysis in rows:
            if privacy.original_expired(analysis.created_at, now, settings.video_retention_days):
                files += expire_original(session, analysis)
                expired.append(analysis.id)
    _remove_files(files)  # after the commit: a failed commit leaves every file in place
    return expired


def remove_expired_exports(now_ts: float | None = None) -> list[str]:
    """Export zips older than EXPORT_TTL_HOURS (their download then answers 410)."""
    now_ts = now_ts or time.time()
    removed = []
    users_root = storage.root() / "users"
    if not users_root.is_dir():
        return removed
    for path in users_root.glob(f"*/{EXPORT_DIR}/*"):
        if path.is_file() and now_ts - path.stat().st_mtime > settings.export_ttl_hours * 3600:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def remove_orphan_analysis_folders(grace_s: float, now_ts: float | None = None) -> list[str]:
    """Folders of analyses that no longer exist (a task of a deleted analysis may have written
    after the deletion removed its folder), once older than `grace_s` (an upload in progress
    writes its folder just before its row commits)."""
    now_ts = now_ts or time.time()
    users_root = storage.root() / "users"
    if not users_root.is_dir():
        return []
    folders = [p for p in users_root.glob("*/analyses/*") if p.is_dir()]
    if not folders:
        return []
    with session_scope() as session:
        known = set(session.scalars(select(Analysis.id)))
    removed = []
    for folder in folders:
        if folder.name not in known and now_ts - folder.stat().st_mtime > grace_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
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


def _owned_tables() -> dict[str, list[tuple[str, str, str]]]:
    """Every table whose rows belong to a user: reached from `users` through foreign keys that
    delete with their parent (ON DELETE CASCADE), i.e. what account deletion removes.
    table name -> [(column, parent table, parent column)]."""
    owned: dict[str, list[tuple[str, str, str]]] = {"users": []}
    changed = True
    while changed:
        changed = False
        for table in Base.metadata.sorted_tables:
            for fk in table.foreign_keys:
                parent = fk.column.table.name
                if table.name == "users" or parent not in owned \
                        or (fk.ondelete or "").upper() != "CASCADE":
                    continue
                link = (fk.parent.name, parent, fk.column.name)
                links = owned.setdefault(table.name, [])
                if link not in links:
                    links.append(link)
                    changed = True
    return owned


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def collect_user_rows(session: Session, user_id: str) -> dict[str, list[dict]]:
    """Every row stored about the user, by table, secrets left out.

    A row with several owner links (a webhook delivery: its endpoint and its event) is the
    user's only when every such link leads to the user's rows, so a clinic endpoint's deliveries
    of patients' events are in neither the clinician's nor (as delivery records) the patient's
    export. Expert references built from the user's uploads are included too.
    """
    owned = _owned_tables()
    found: dict[str, list[dict]] = {}

    def select_public(table):
        # Secret columns are not even read (an encrypted webhook secret is never decrypted).
        return select(*[c for c in table.columns if not privacy.is_secret_field(c.name)])

    for table in Base.metadata.sorted_tables:  # parents before children
        if table.name == "users":
            found["users"] = [dict(r._mapping) for r in session.execute(
                select_public(table).where(table.c.id == user_id))]
            continue
        links = owned.get(table.name)
        if not links:
            continue
        keysets = {link: {r[link[2]] for r in found.get(link[1], [])} for link in links}
        candidates: dict[tuple, dict] = {}
        for (column, _parent, _parent_column), keys in keysets.items():
            for chunk in _chunks(sorted(keys, key=str)):
                for r in session.execute(
                        select_public(table).where(table.c[column].in_(chunk))):
                    mapping = dict(r._mapping)
                    candidates[tuple(mapping[c.name] for c in table.primary_key.columns)] = mapping
        found[table.name] = [row for row in candidates.values() if all(
            row[column] is None or row[column] in keysets[(column, parent, parent_column)]
            for column, parent, parent_column in links)]
    analysis_ids = [r["id"] for r in found.get("analyses", [])]
    refs = Base.metadata.tables["references"]
    found["references"] = [dict(r._mapping) for chunk in _chunks(analysis_ids) for r in
                           session.execute(select_public(refs).where(refs.c.id.in_(chunk)))]
    return {name: [privacy.exportable_row(r) for r in rows] for name, rows in found.items()}


def _stored_files(user_id: str) -> list[tuple[Path, str]]:
    base = storage.user_dir(user_id)
    if not base.is_dir():
        return []
    files = []
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base)
        if (not path.is_file() or path.is_symlink() or relative.parts[0] == EXPORT_DIR
                or ".tmp." in path.name):
            continue
        files.append((path, relative.as_posix()))
    return files


def write_export(user_id: str, rows: dict[str, list[dict]], out: Path) -> dict:
    """The zip: data/<table>.json for every table, files/<path> for every stored file, and a
    manifest. Written to a temporary name, then moved into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.stem}.{uuid.uuid4().hex[:8]}.tmp.zip")
    files = _stored_files(user_id)
    manifest = {"user_id": user_id, "created_at": privacy.jsonable(utcnow()),
                "tables": {name: len(r) for name, r in sorted(rows.items())},
                "files": []}
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, table_rows in sorted(rows.items()):
                archive.writestr(privacy.export_member("data", name),
                                 json.dumps(table_rows, indent=1, sort_keys=True, default=str))
            for path, relative in files:
                try:
                    # Media is already compressed: store it as is.
                    archive.write(path, privacy.export_member("files", relative),
                                  compress_type=zipfile.ZIP_STORED
                                  if path.suffix.lower() in (".mp4", ".mov", ".webm", ".mkv",
                                                             ".m4v", ".avi", ".jpg", ".jpeg",
                                                             ".png", ".npz")
                                  else zipfile.ZIP_DEFLATED)
                except FileNotFoundError:
                    continue  # removed meanwhile (retention, a deletion)
                manifest["files"].append({"path": privacy.export_member("files", relative),
                                          "bytes": path.stat().st_size if path.exists() else 0})
            archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


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
    out = export_path(user_id, job_id)
    manifest = write_export(user_id, rows, out)
    return {"download_url": f"/api/v1/me/export/{job_id}.zip", "bytes": out.stat().st_size,
            "tables": manifest["tables"], "files": len(manifest["files"]),
            "expires_in_s": int(settings.export_ttl_hours * 3600)}
