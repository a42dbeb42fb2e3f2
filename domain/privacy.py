"""Privacy rules: when an original upload expires, what a data export may hold. No I/O here.

- Retention: an original upload (and the annotated video rendered from its pixels) expires
  ``retention_days`` after the upload; its keypoints and results stay. 0 keeps it.
- Export: every row stored about a user, less the fields that are secrets (password hashes,
  webhook signing secrets, token counters): an export is a copy for its owner, and a leaked
  export must not let anyone sign in or forge webhooks.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

#: a field whose name holds one of these is never exported (password_hash, secret,
#: previous_secret, secret_ciphertext, token_version, ...)
SECRET_FIELD_MARKERS = ("password", "secret", "token", "hash", "ciphertext", "key_id")

#: error code of an analysis whose original video was removed by retention
ORIGINAL_DELETED = "original_deleted"
#: error code of a data export whose zip was removed after its time to live
EXPORT_EXPIRED = "export_expired"


def _aware(value: dt.datetime) -> dt.datetime:
    """Stored times are UTC; SQLite hands them back naive."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def retention_cutoff(now: dt.datetime, retention_days: float) -> dt.datetime | None:
    """Uploads made before this moment have expired; None when retention is off."""
    if not retention_days or retention_days <= 0 or not math.isfinite(retention_days):
        return None
    return _aware(now) - dt.timedelta(days=retention_days)


def original_expired(created_at: dt.datetime, now: dt.datetime, retention_days: float) -> bool:
    cutoff = retention_cutoff(now, retention_days)
    return cutoff is not None and _aware(created_at) < cutoff


def export_expires_at(finished_at: dt.datetime, ttl_hours: float) -> dt.datetime:
    return _aware(finished_at) + dt.timedelta(hours=ttl_hours)


def is_secret_field(name: str) -> bool:
    lowered = name.lower()
    return any(marker in lowered for marker in SECRET_FIELD_MARKERS)


def jsonable(value: Any) -> Any:
    """A stored value as JSON: times in ISO 8601 UTC, bytes left out."""
    if isinstance(value, dt.datetime):
        return _aware(value).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def exportable_row(row: dict) -> dict:
    """One stored row as its owner may receive it: secret fields dropped, values as JSON."""
    return {name: jsonable(value) for name, value in row.items() if not is_secret_field(name)}


def export_member(kind: str, name: str) -> str:
    """Where a table (kind "data") or a stored file (kind "files") goes inside the zip."""
    if kind == "data":
        return f"data/{name}.json"
    if kind == "files":
        clean = "/".join(part for part in name.replace("\\", "/").split("/")
                         if part not in ("", ".", ".."))
        return f"files/{clean}"
    raise ValueError(f"unknown export member kind {kind}")
