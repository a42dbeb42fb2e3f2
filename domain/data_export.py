"""The user's data export: every row stored about a user (secrets left out) and every stored
file of theirs, as one zip (GET /me/export; the task is tasks/privacy.py accounts.export)."""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import privacy
from domain.jobs.hooks import EXPORT_DIR
from infra import storage
from models import Base
from models.base import utcnow


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


#: already compressed: stored in the zip as they are
_STORED_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".m4v", ".avi", ".jpg", ".jpeg", ".png",
                    ".npz")


def _stored_files(user_id: str) -> list[tuple[storage.StoredObject, str]]:
    """The user's stored files (never an export itself, nor a write in progress), each with
    its path under the user's prefix."""
    prefix = storage.user_prefix(user_id)
    files = []
    for obj in storage.list(prefix):
        relative = obj.key[len(prefix):]
        if relative.split("/", 1)[0] == EXPORT_DIR or storage.TMP_MARK in relative:
            continue
        files.append((obj, relative))
    return files


def write_export(user_id: str, rows: dict[str, list[dict]], out: str) -> dict:
    """The zip, stored at key `out`: data/<table>.json for every table, files/<path> for every
    stored file, and a manifest. Built in a local file, stored only once complete."""
    files = _stored_files(user_id)
    manifest = {"user_id": user_id, "created_at": privacy.jsonable(utcnow()),
                "tables": {name: len(r) for name, r in sorted(rows.items())},
                "files": []}
    with storage.writing(out) as tmp, \
            zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, table_rows in sorted(rows.items()):
            archive.writestr(privacy.export_member("data", name),
                             json.dumps(table_rows, indent=1, sort_keys=True, default=str))
        for obj, relative in files:
            member = zipfile.ZipInfo(privacy.export_member("files", relative),
                                     time.gmtime(obj.mtime or time.time())[:6])
            member.compress_type = zipfile.ZIP_STORED \
                if os.path.splitext(relative)[1].lower() in _STORED_SUFFIXES \
                else zipfile.ZIP_DEFLATED
            try:
                # Streamed from the store in chunks: a large video never sits in memory.
                with storage.open(obj.key) as source, \
                        archive.open(member, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, storage.COPY_CHUNK)
            except FileNotFoundError:
                continue  # removed meanwhile (retention, a deletion)
            manifest["files"].append({"path": member.filename, "bytes": obj.size})
        archive.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
    return manifest
