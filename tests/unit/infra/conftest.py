"""Fixtures of the storage tests: each test runs on both backends."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.moto_server import ACCESS_KEY, REGION, SECRET_KEY, MotoServer


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, monkeypatch):
    """The storage module set to one backend (as callers use it: module functions)."""
    import infra.storage

    base = dataclasses.replace(infra.storage.settings, storage_dir=tmp_path / "storage",
                               scratch_dir=tmp_path / "scratch", storage_backend="local",
                               storage_url="")
    if request.param == "s3":
        moto = request.getfixturevalue("moto")
        bucket = f"test-{tmp_path.name.lower().replace('_', '-')[-40:]}"
        moto.create_bucket(bucket)
        base = dataclasses.replace(
            base, storage_backend="s3", storage_url=f"s3://{bucket}/some/prefix",
            s3_endpoint_url=moto.endpoint_url, s3_access_key_id=ACCESS_KEY,
            s3_secret_access_key=SECRET_KEY, s3_region=REGION)
    monkeypatch.setattr(infra.storage, "settings", base)
    assert infra.storage.backend().kind == request.param
    return infra.storage
