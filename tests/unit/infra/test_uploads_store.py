"""A multipart upload streams to this host's disk and goes into the store (web/uploads.py), on
both backends: nothing is left in incoming/, and an upload that is not stored is deleted."""

from __future__ import annotations

import io

import numpy as np
import pytest
from flask import Flask, request


@pytest.fixture
def app(store):
    from web.uploads import StreamingRequest, remove_unclaimed, uploaded_path
    from web.uploads import store as store_upload

    app = Flask(__name__)
    app.request_class = StreamingRequest
    app.teardown_request(remove_unclaimed)

    @app.post("/upload/<key>")
    def upload(key: str):
        part = request.files["file"]
        path = uploaded_path(part)
        assert path.parent == store.incoming_dir()  # on disk, not in memory
        if request.form.get("keep") == "1":
            store_upload(path, f"users/u1/analyses/{key}/original.mp4")
        return {"bytes": path.stat().st_size if path.exists() else None}

    return app


def test_an_accepted_upload_lands_in_the_store(app, store):
    payload = np.random.default_rng(2).bytes(3 * 1024 * 1024)
    client = app.test_client()
    response = client.post("/upload/a1", data={"keep": "1", "file": (io.BytesIO(payload),
                                                                     "clip.mp4")})
    assert response.status_code == 200, response.text
    with store.local_copy("users/u1/analyses/a1/original.mp4") as path:
        assert path.read_bytes() == payload
    assert list(store.incoming_dir().iterdir()) == []


def test_an_upload_not_stored_is_deleted(app, store):
    client = app.test_client()
    response = client.post("/upload/a2", data={"keep": "0", "file": (io.BytesIO(b"x" * 1000),
                                                                     "clip.mp4")})
    assert response.status_code == 200 and response.json["bytes"] == 1000
    assert list(store.incoming_dir().iterdir()) == []
    assert store.list("users") == []


def test_a_web_host_sweeps_its_own_abandoned_uploads(app, store, monkeypatch):
    """With object storage no worker sees a web host's disk: the upload path sweeps it."""
    import os
    import time

    import web.uploads

    abandoned = store.incoming_dir() / "upload-crashed"
    abandoned.write_bytes(b"left by a killed request")
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))
    monkeypatch.setattr(web.uploads, "_last_sweep", 0.0)
    app.test_client().post("/upload/a3", data={"keep": "0", "file": (io.BytesIO(b"x"), "c.mp4")})
    # Local storage: incoming/ is under STORAGE_DIR and the beat's orphan sweeper covers it.
    assert abandoned.exists() == (store.backend().kind == "local")
