"""Both storage backends through the same tests: the local folder, and S3 through moto's
standalone server started here as a real process (loopback only)."""

from __future__ import annotations

import hashlib
import io
import os
import time

import numpy as np
import pytest
import requests


def test_an_upload_moves_into_the_store(store, tmp_path):
    upload = store.incoming_dir() / "upload-1"
    payload = np.random.default_rng(0).bytes(300_000)
    upload.write_bytes(payload)
    key = store.analysis_key("u1", "a1", "original.mp4")
    store.put_file(upload, key, move=True)
    assert not upload.exists()
    assert store.exists(key) and store.size(key) == len(payload)
    with store.open(key) as handle:
        assert handle.read() == payload
    with store.local_copy(key) as path:
        assert path.read_bytes() == payload


def test_a_stream_is_stored_in_chunks(store):
    """12 MB from a file-like object that refuses reads larger than the copy chunk: the store
    never asks for the whole thing at once (multipart on S3)."""
    data = np.random.default_rng(1).bytes(12 * 1024 * 1024)

    class Chunked(io.RawIOBase):
        def __init__(self):
            self.source = io.BytesIO(data)
            self.largest = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.largest = max(self.largest, len(buffer))
            chunk = self.source.read(len(buffer))
            buffer[:len(chunk)] = chunk
            return len(chunk)

    stream = Chunked()
    store.put_stream(stream, "users/u1/analyses/a1/big.bin")
    assert stream.largest <= store.COPY_CHUNK
    with store.local_copy("users/u1/analyses/a1/big.bin") as path:
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_bytes_and_seekable_reads(store):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, keypoints=np.arange(12.0).reshape(3, 4), fps=10.0)
    store.put_bytes(buffer.getvalue(), "users/u1/analyses/a1/keypoints.npz")
    with store.open("users/u1/analyses/a1/keypoints.npz") as handle, np.load(handle) as data:
        assert data["keypoints"].shape == (3, 4) and float(data["fps"]) == 10.0


def test_writing_stores_a_result_whole_or_not_at_all(store):
    key = store.analysis_key("u1", "a1", "pose/chunk_0000.npz")
    with store.writing(key) as tmp:
        assert tmp.suffix == ".npz"  # numpy would append .npz to any other name
        np.savez_compressed(tmp, times=np.arange(5.0))
    with store.local_copy(key) as path, np.load(path) as data:
        assert data["times"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError), store.writing(key) as tmp:
        tmp.write_bytes(b"half a file")
        raise RuntimeError("the writer died")
    with store.local_copy(key) as path, np.load(path) as data:  # the earlier file stands
        assert data["times"].tolist() == [0, 1, 2, 3, 4]
    assert [o.key for o in store.list("users/u1")] == [key]  # no temporary left behind


def test_list_delete_and_a_users_prefix(store):
    before = time.time() - 5
    for key, body in [("users/u1/analyses/a1/original.mp4", b"x" * 10),
                      ("users/u1/analyses/a2/keypoints.npz", b"y" * 20),
                      ("users/u1/exports/j1.zip", b"z" * 30),
                      ("users/u2/analyses/a3/original.mp4", b"w" * 40)]:
        store.put_bytes(body, key)
    listed = store.list("users/u1")
    assert [(o.key, o.size) for o in listed] == [
        ("users/u1/analyses/a1/original.mp4", 10), ("users/u1/analyses/a2/keypoints.npz", 20),
        ("users/u1/exports/j1.zip", 30)]
    assert all(before < o.mtime < time.time() + 5 for o in listed)
    assert [o.key for o in store.list("users/u1/analyses/a1/")] == [
        "users/u1/analyses/a1/original.mp4"]
    assert len(store.list("")) == 4 and store.list("users/nobody") == []

    store.delete("users/u1/exports/j1.zip")
    store.delete("users/u1/exports/j1.zip")  # absent is fine
    store.delete_prefix(store.analysis_prefix("u1", "a1"))
    assert [o.key for o in store.list("users/u1")] == ["users/u1/analyses/a2/keypoints.npz"]
    store.remove_user_files("u1")
    store.remove_user_files("u1")
    assert store.list("users/u1") == []
    assert [o.key for o in store.list("users")] == ["users/u2/analyses/a3/original.mp4"]
    store.remove("users/u2/analyses/a3/original.mp4")
    assert store.list("") == []


def test_absent_files_and_bad_keys(store):
    with pytest.raises(FileNotFoundError):
        store.open("users/u1/nothing.mp4").read()
    with pytest.raises(FileNotFoundError), store.local_copy("users/u1/nothing.mp4"):
        pass
    with pytest.raises(FileNotFoundError):
        store.size("users/u1/nothing.mp4")
    assert not store.exists("users/u1/nothing.mp4")
    for bad in ("../etc/passwd", "/etc/passwd", "users/../../x", "users//x", "", "a\\b",
                "users/u1/"):
        with pytest.raises(ValueError):
            store.put_bytes(b"x", bad)
        if bad:  # remove(None or "") means: nothing stored
            with pytest.raises(ValueError):
                store.remove(bad)


def test_a_replaced_file_is_fetched_again(store):
    """Workers' copies follow the store: reprocessing replaces keypoints under the same key."""
    key = "users/u1/analyses/a1/keypoints.npz"
    store.put_bytes(b"first version", key)
    with store.local_copy(key) as path:
        first = path
        assert path.read_bytes() == b"first version"
    with store.local_copy(key) as path:
        assert path == first and path.read_bytes() == b"first version"
    time.sleep(1.1)  # S3 modification times have one-second resolution
    store.put_bytes(b"second, longer version", key)
    with store.local_copy(key) as path:
        assert path.read_bytes() == b"second, longer version"


def test_download_urls(store):
    key = "users/u1/analyses/a1/annotated.mp4"
    store.put_bytes(b"\x00\x00\x00\x18ftypmp42" + b"v" * 100, key)
    url = store.url_for_download(key, 60, filename="a1.mp4", content_type="video/mp4")
    if store.backend().kind == "local":
        assert url is None  # the app streams the file itself
        return
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content.endswith(b"v" * 100)
    assert response.headers["Content-Type"] == "video/mp4"
    assert 'filename="a1.mp4"' in response.headers["Content-Disposition"]


def test_local_paths_only_on_the_local_backend(store):
    key = "users/u1/analyses/a1/original.mp4"
    store.put_bytes(b"abc", key)
    if store.backend().kind == "local":
        path = store.absolute(key)
        assert path.read_bytes() == b"abc"
        assert store.relative(path) == key
        assert store.user_dir("u1") == store.root() / "users" / "u1"
        with pytest.raises(ValueError):
            store.absolute("../outside")
    else:
        with pytest.raises(store.NotLocalStorage):
            store.absolute(key)
        with pytest.raises(store.NotLocalStorage):
            store.user_dir("u1")
        # Uploads are received on this host's scratch disk (ffprobe needs a real file).
        assert store.incoming_dir().is_relative_to(store.settings.scratch_dir)


def test_storage_settings_are_checked_together(tmp_path):
    from config import _storage_settings

    assert _storage_settings(tmp_path, {})["storage_backend"] == "local"
    s3 = _storage_settings(tmp_path, {"STORAGE_URL": "s3://bucket/prefix"})
    assert s3["storage_backend"] == "s3" and s3["storage_url"] == "s3://bucket/prefix"
    assert _storage_settings(tmp_path, {"STORAGE_URL": "file:///srv/x"})["storage_backend"] \
        == "local"
    for bad in ({"STORAGE_BACKEND": "s3"}, {"STORAGE_BACKEND": "local",
                                            "STORAGE_URL": "s3://b/p"},
                {"STORAGE_URL": "ftp://host/x"}, {"STORAGE_BACKEND": "gcs"}):
        with pytest.raises(ValueError):
            _storage_settings(tmp_path, bad)


def test_folders_for_the_sweepers(store):
    """The orphan and retention sweeps see analysis folders as key prefixes on both backends."""
    for key in ("users/u1/analyses/a1/original.mp4", "users/u1/analyses/a1/pose/chunk_0000.npz",
                "users/u1/analyses/a2/keypoints.npz", "users/u2/exports/j1.zip",
                "users/u2/profile.json"):
        store.put_bytes(b"x", key)
    analyses = store.folders("users", 4)
    assert sorted(analyses) == ["users/u1/analyses/a1/", "users/u1/analyses/a2/"]
    assert all(abs(mtime - time.time()) < 60 for mtime in analyses.values())
    assert sorted(store.folders("users", 2)) == ["users/u1/", "users/u2/"]


def test_this_hosts_leftovers_are_swept(store):
    old = store.incoming_dir() / "upload-old"
    new = store.incoming_dir() / "upload-new"
    old.write_bytes(b"a")
    new.write_bytes(b"b")
    hour_ago = time.time() - 7200
    os.utime(old, (hour_ago, hour_ago))
    expected = ["incoming/upload-old"]
    if store.backend().kind == "s3":  # a writer killed mid-write left its output folder
        dead = store.settings.scratch_dir / "out-dead"
        dead.mkdir()
        (dead / "annotated.mp4").write_bytes(b"partial")
        os.utime(dead, (hour_ago, hour_ago))
        expected.append("scratch/out-dead")
    assert sorted(store.sweep_scratch(3600)) == sorted(expected)
    assert new.exists() and not old.exists()
    assert store.sweep_scratch(3600) == []
