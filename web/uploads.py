"""Streaming uploads: multipart file parts go straight to a file in storage.incoming_dir().

Werkzeug asks the request for a file stream per uploaded part; we hand it a file on this host's
disk, so a 1 GB upload never sits in memory (ffprobe then inspects that real file). An accepted
upload goes into the store with `store()`: on the local backend incoming/ lies under STORAGE_DIR
and it is a rename (no second copy); on object storage it is a streamed multipart upload from
that file, which is then deleted. Whatever is not stored is deleted at teardown.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

from flask import Request, g

from config import settings
from infra import storage

logger = logging.getLogger("web.uploads")

#: with object storage, each web host sweeps its own incoming/ this often (from the upload path)
SWEEP_EVERY_S = 600.0
_last_sweep = 0.0


class StreamingRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        _sweep_own_scratch()
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by werkzeug / teardown)
            "wb+", dir=storage.incoming_dir(), prefix="upload-", delete=False)
        g.setdefault("upload_paths", []).append(handle.name)
        return handle


def _sweep_own_scratch() -> None:
    """Uploads a crashed request left on this host. With the local backend incoming/ is under
    STORAGE_DIR and the orphan sweeper (beat) covers it; with object storage each web host has
    its own disk, which no worker sees."""
    global _last_sweep
    if storage.is_local() or time.monotonic() - _last_sweep < SWEEP_EVERY_S:
        return
    _last_sweep = time.monotonic()
    try:
        removed = storage.sweep_scratch(settings.orphan_grace_s)
    except OSError:
        logger.warning("sweeping abandoned uploads failed", exc_info=True)
        return
    if removed:
        logger.info("abandoned uploads removed: %d", len(removed))


def uploaded_path(file_storage) -> Path:
    """The on-disk path of an uploaded part (flushed)."""
    file_storage.stream.flush()
    return Path(file_storage.stream.name)


def store(path: Path, key: str) -> None:
    """Put an accepted upload into the store under `key`; teardown then leaves it alone.

    On object storage this uploads the whole file: call it before opening the database
    transaction that records the upload, and delete the key if that transaction fails.
    """
    storage.put_file(path, key, move=True)
    claim(path)


def claim(path: Path) -> None:
    """The request keeps this file (it was moved into place): don't delete it at teardown."""
    paths = g.get("upload_paths", [])
    if str(path) in paths:
        paths.remove(str(path))


def remove_unclaimed(_exc: BaseException | None = None) -> None:
    """Teardown: any upload not moved into place is deleted: no orphan files, ever."""
    for path in g.pop("upload_paths", []):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
