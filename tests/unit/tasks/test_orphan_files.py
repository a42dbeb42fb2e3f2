"""Storage hygiene: files of deleted users and abandoned uploads go; everything else stays."""

from __future__ import annotations

import dataclasses
import os
import time

from models import User


def test_orphans_are_removed_after_the_grace_period(db, tmp_path, monkeypatch):
    import infra.storage
    import tasks.maintenance

    storage_dir = tmp_path / "storage"
    monkeypatch.setattr(infra.storage, "settings", dataclasses.replace(
        infra.storage.settings, storage_dir=storage_dir))
    with db.session_scope() as session:
        user = User(email="kept@example.com", password_hash="x")
        session.add(user)
        session.flush()
        kept_id = user.id
    old = time.time() - 2 * tasks.maintenance.settings.orphan_grace_s
    paths = {
        "kept": storage_dir / "users" / kept_id / "analyses" / "a" / "original.mp4",
        "deleted": storage_dir / "users" / "deadbeef" / "analyses" / "b" / "original.mp4",
        "fresh_deleted": storage_dir / "users" / "cafe" / "x.npz",
        "stale_upload": storage_dir / "incoming" / "upload-old",
        "fresh_upload": storage_dir / "incoming" / "upload-new",
    }
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for name in ("kept", "deleted", "stale_upload"):
        os.utime(paths[name], (old, old))
        os.utime(paths[name].parent, (old, old))
    for folder in (storage_dir / "users" / kept_id, storage_dir / "users" / "deadbeef"):
        os.utime(folder, (old, old))

    result = tasks.maintenance.sweep_orphan_files.apply().get()
    assert sorted(result["removed"]) == ["incoming/upload-old", "users/deadbeef"]
    assert paths["kept"].exists() and paths["fresh_deleted"].exists()
    assert paths["fresh_upload"].exists()
    assert not paths["deleted"].exists() and not paths["stale_upload"].exists()
