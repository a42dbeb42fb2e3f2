"""What makes two requests "the same" for an Idempotency-Key (web/jobs.py)."""

from __future__ import annotations

import io

import pytest
from flask import Flask

from web.jobs import request_fingerprint
from web.uploads import StreamingRequest


@pytest.fixture
def app(tmp_path, monkeypatch):
    from infra import storage

    monkeypatch.setattr(storage, "incoming_dir", lambda: tmp_path)
    app = Flask(__name__)
    app.request_class = StreamingRequest
    return app


def fingerprint(app: Flask, path: str = "/api/v1/analyses", **kwargs) -> str:
    with app.test_request_context(path, method="POST", **kwargs):
        return request_fingerprint()


def as_json(text: str) -> dict:
    return {"data": text, "content_type": "application/json"}


def test_json_bodies_compare_by_value_not_by_spelling(app):
    a = fingerprint(app, **as_json('{"fps": 10, "layout": "coco17"}'))
    assert a == fingerprint(app, **as_json('{ "layout":"coco17",\n "fps":10 }'))
    assert a != fingerprint(app, **as_json('{"fps": 12, "layout": "coco17"}'))
    assert a != fingerprint(app, path="/api/v1/plans", **as_json('{"fps": 10, "layout": "coco17"}'))
    assert len(a) == 64


def test_no_body_and_an_unparsable_body_are_fingerprinted_too(app):
    empty = fingerprint(app)
    assert empty == fingerprint(app)
    assert empty != fingerprint(app, data=b"not json", content_type="text/plain")
    assert fingerprint(app, data=b"a", content_type="text/plain") != fingerprint(
        app, data=b"b", content_type="text/plain")


def upload(app: Flask, content: bytes, filename: str = "clip.mp4", **fields) -> str:
    data = {"file": (io.BytesIO(content), filename), **fields}
    return fingerprint(app, path="/api/v1/videos", data=data, content_type="multipart/form-data")


def test_uploads_compare_by_file_digest_name_and_fields(app):
    base = upload(app, b"x" * 5000, exercise="pushup", reference="false")
    assert base == upload(app, b"x" * 5000, reference="false", exercise="pushup")
    assert base != upload(app, b"x" * 4999 + b"y", exercise="pushup", reference="false")
    assert base != upload(app, b"x" * 5000, exercise="squat", reference="false")
    assert base != upload(app, b"x" * 5000, "other.mp4", exercise="pushup", reference="false")
    assert base != upload(app, b"x" * 5000, exercise="pushup")


def test_the_fingerprint_leaves_the_upload_readable(app):
    from flask import request

    data = {"file": (io.BytesIO(b"abc" * 1000), "a.mp4")}
    with app.test_request_context("/api/v1/videos", method="POST", data=data,
                                  content_type="multipart/form-data"):
        request_fingerprint()
        assert request.files["file"].stream.read() == b"abc" * 1000
