"""Per-user storage quota on uploaded originals (STORAGE_QUOTA_BYTES).

What counts: the bytes of every original upload the user still has stored (`media_bytes` of
analyses whose original was not removed by retention). An upload that would take the user past
the quota answers 413 `storage_quota_exceeded` and stores nothing. It is checked three times:
on the declared Content-Length before a byte is streamed, on the streamed file's real size, and
inside the upload's transaction with the user's row locked (PostgreSQL), so that two concurrent
uploads cannot both squeeze under it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from config import settings
from models import Analysis, User
from web.db import db_session
from web.errors import ApiError

#: multipart framing and form fields around the file (form fields are capped at 1 MiB)
MULTIPART_SLACK = 1024 * 1024


def storage_used(user_id: str) -> int:
    return int(db_session().scalar(
        select(func.coalesce(func.sum(Analysis.media_bytes), 0)).where(
            Analysis.user_id == user_id, Analysis.media_path.is_not(None),
            Analysis.original_deleted_at.is_(None))) or 0)


def _mb(n: int) -> str:
    return f"{n / 1024**2:.1f} MB"


def check_quota(user_id: str, incoming: int | None, *, slack: int = 0, lock: bool = False) -> None:
    """413 `storage_quota_exceeded` unless `incoming` more bytes fit in the user's quota."""
    if incoming is None:
        return
    if lock:  # serialize one user's concurrent uploads at commit (no-op on SQLite: one writer)
        db_session().scalar(select(User.id).where(User.id == user_id).with_for_update())
    quota = settings.storage_quota_bytes
    used = storage_used(user_id)
    if used + incoming - slack > quota:
        raise ApiError(413, "storage_quota_exceeded",
                       f"this upload ({_mb(incoming)}) would exceed your storage quota: "
                       f"{_mb(used)} of {_mb(quota)} are in use; delete earlier videos "
                       "(DELETE /api/v1/videos/{id}) to make room")
