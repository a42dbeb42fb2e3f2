"""Streaming uploads: multipart file parts go straight to a file under storage/incoming.

Werkzeug asks the request for a file stream per uploaded part; we hand it a file on the storage
volume, so a 1 GB upload never sits in memory and never needs a second copy to move into place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flask import Request, g

from infra import storage


class StreamingRequest(Request):
    def _get_file_stream(self, total_content_length, content_type, filename=None,
                         content_length=None):
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by werkzeug / teardown)
            "wb+", dir=storage.incoming_dir(), prefix="upload-", delete=False)
        g.setdefault("upload_paths", []).append(handle.name)
        return handle


def uploaded_path(file_storage) -> Path:
    """The on-disk path of an uploaded part (flushed)."""
    file_storage.stream.flush()
    return Path(file_storage.stream.name)


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
