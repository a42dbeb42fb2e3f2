"""Privacy services on a migrated SQLite file: retention with a controlled clock, deleting an
analysis, what a user's export holds; and the log settings that keep values out of logs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from domain import privacy
from models import (
    Analysis,
    AnalysisResult,
    Clinic,
    Event,
    Job,
    Plan,
    Profile,
    Reference,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from models.base import utcnow


@pytest.fixture
def storage_dir(tmp_path, monkeypatch):
    import infra.storage

    root = tmp_path / "storage"
    monkeypatch.setattr(infra.storage, "settings",
                        dataclasses.replace(infra.storage.settings, storage_dir=root))
    return root


def retention(monkeypatch, days: float) -> None:
    import tasks.privacy

    monkeypatch.setattr(tasks.privacy, "settings",
                        dataclasses.replace(tasks.privacy.settings, video_retention_days=days))


def _user(session, email: str, **fields) -> User:
    user = User(email=email, password_hash="argon2-hash-of-" + email, **fields)
    session.add(user)
    session.flush()
    return user


def _video(session, storage_dir, user: User, age_days: float, status: str = "succeeded",
           source: str = "video") -> Analysis:
    from infra import storage

    analysis = Analysis(user_id=user.id, source=source, status=status,
                        created_at=utcnow() - dt.timedelta(days=age_days))
    session.add(analysis)
    session.flush()
    folder = storage_dir / "users" / user.id / "analyses" / analysis.id
    folder.mkdir(parents=True)
    for name in ("original.mp4", "annotated.mp4", "keypoints.npz"):
        (folder / name).write_bytes(b"data of " + name.encode())
    analysis.keypoints_path = storage.relative(folder / "keypoints.npz")
    if source != "keypoints":
        analysis.media_path = storage.relative(folder / "original.mp4")
        analysis.annotated_path = storage.relative(folder / "annotated.mp4")
    analysis.result = {"rep_count": 3, "feedback": ["Keep your back straight."]}
    return analysis


def test_retention_removes_old_originals_only(db, storage_dir, monkeypatch):
    from tasks.privacy import apply_video_retention

    retention(monkeypatch, 30)
    with db.session_scope() as session:
        user = _user(session, "r@example.com")
        old = _video(session, storage_dir, user, 40).id
        young = _video(session, storage_dir, user, 10).id
        running = _video(session, storage_dir, user, 40, status="running").id
        points = _video(session, storage_dir, user, 40, source="keypoints").id

    assert apply_video_retention() == [old]
    assert apply_video_retention() == []  # once
    with db.session_scope() as session:
        expired = session.get(Analysis, old)
        assert expired.media_path is None and expired.annotated_path is None
        assert expired.original_deleted_at is not None
        assert expired.result["rep_count"] == 3 and expired.keypoints_path
        for kept in (young, running, points):
            assert session.get(Analysis, kept).original_deleted_at is None
        user_id = expired.user_id
    folder = storage_dir / "users" / user_id / "analyses"
    assert sorted(p.name for p in (folder / old).iterdir()) == ["keypoints.npz"]
    assert (folder / young / "original.mp4").exists()
    assert (folder / running / "original.mp4").exists()

    # A controlled clock: 25 days later the young upload is 35 days old and expires too.
    later = utcnow() + dt.timedelta(days=25)
    assert apply_video_retention(now=later) == [young]
    # Retention off: nothing expires, however old.
    retention(monkeypatch, 0)
    assert apply_video_retention(now=utcnow() + dt.timedelta(days=3650)) == []


def test_delete_analysis_cancels_its_job_and_scrubs_copies(db, storage_dir):
    from tasks.privacy import delete_analysis, remove_analysis_files

    with db.session_scope() as session:
        clinic = Clinic(name="c", invite_code="code-1")
        session.add(clinic)
        session.flush()
        user = _user(session, "d@example.com", role="clinician", clinic_id=clinic.id)
        analysis = _video(session, storage_dir, user, 1)
        session.add(AnalysisResult(analysis_id=analysis.id, models_key="k", result={"x": 1}))
        done = Job(user_id=user.id, kind="video.analyze", status="succeeded",
                   subject_type="analysis", subject_id=analysis.id, result={"rep_count": 3})
        rerun = Job(user_id=user.id, kind="video.analyze", status="running",
                    subject_type="analysis", subject_id=analysis.id)
        session.add_all([done, rerun, Reference(
            id=analysis.id, exercise="pushup", name="n", source="s", clinic_id=clinic.id,
            fps=10.0), Event(user_id=user.id, type="video.analysis.succeeded",
                             data={"analysis_id": analysis.id, "rep_count": 3}),
            Event(user_id=user.id, type="plan.generated", data={"plan_id": "p"})])
        session.flush()
        ids = (user.id, analysis.id, done.id, rerun.id)

    user_id, analysis_id, done_id, rerun_id = ids
    with db.session_scope() as session:
        delete_analysis(session, session.get(Analysis, analysis_id))
    remove_analysis_files(user_id, analysis_id)

    with db.session_scope() as session:
        assert session.get(Analysis, analysis_id) is None
        assert session.query(AnalysisResult).count() == 0
        assert session.get(Reference, analysis_id) is None
        assert [e.type for e in session.query(Event)] == ["plan.generated"]
        assert session.get(Job, done_id).result is None
        rerun = session.get(Job, rerun_id)
        assert rerun.status == "canceled" and rerun.error_code == "analysis_deleted"
    assert not (storage_dir / "users" / user_id / "analyses" / analysis_id).exists()


def test_export_rows_hold_the_user_and_nothing_of_others(db, storage_dir):
    from tasks.privacy import collect_user_rows, write_export

    with db.session_scope() as session:
        clinic = Clinic(name="c", invite_code="code-2")
        session.add(clinic)
        session.flush()
        alice = _user(session, "alice@example.com", clinic_id=clinic.id)
        bob = _user(session, "bob@example.com")
        carol = _user(session, "carol@example.com", role="clinician", clinic_id=clinic.id)
        session.add_all([Profile(user_id=alice.id, sex="female", age=30, height_cm=170,
                                 weight_kg=60, fitness_level="beginner", injury="acl",
                                 equipment=[], workouts_per_week=3),
                         Plan(user_id=alice.id, week=1, model_version="m", fitness_level="b"),
                         Plan(user_id=bob.id, week=1, model_version="m", fitness_level="b")])
        mine = WebhookEndpoint(user_id=alice.id, url="https://a.example/hook",
                               secret="whsec_alice-secret-value")
        clinics = WebhookEndpoint(user_id=carol.id, clinic_id=clinic.id,
                                  url="https://clinic.example/hook",
                                  secret="whsec_clinic-secret-value")
        event = Event(user_id=alice.id, type="plan.generated", data={"plan_id": "x"})
        session.add_all([mine, clinics, event])
        session.flush()
        session.add_all([WebhookDelivery(endpoint_id=mine.id, event_id=event.id,
                                         event_type=event.type),
                         WebhookDelivery(endpoint_id=clinics.id, event_id=event.id,
                                         event_type=event.type)])
        _video(session, storage_dir, alice, 1)
        _video(session, storage_dir, bob, 1)
        ids = {"alice": alice.id, "bob": bob.id, "carol": carol.id, "mine": mine.id,
               "clinic_endpoint": clinics.id}

    with db.session_scope() as session:
        alice_rows = collect_user_rows(session, ids["alice"])
        carol_rows = collect_user_rows(session, ids["carol"])
    dumped = json.dumps(alice_rows)
    assert [u["email"] for u in alice_rows["users"]] == ["alice@example.com"]
    assert "password_hash" not in alice_rows["users"][0]
    assert len(alice_rows["plans"]) == 1 and len(alice_rows["analyses"]) == 1
    assert [e["id"] for e in alice_rows["webhook_endpoints"]] == [ids["mine"]]
    # Her own endpoint's delivery of her event; not the clinic's delivery of it.
    assert [d["endpoint_id"] for d in alice_rows["webhook_deliveries"]] == [ids["mine"]]
    for foreign in ("bob@example.com", ids["bob"], ids["carol"], ids["clinic_endpoint"],
                    "secret-value", "argon2-hash"):
        assert foreign not in dumped, foreign
    # The clinician's export has her endpoint, not the deliveries of her patient's events.
    assert [e["id"] for e in carol_rows["webhook_endpoints"]] == [ids["clinic_endpoint"]]
    assert carol_rows["webhook_deliveries"] == []
    assert ids["alice"] not in json.dumps(carol_rows)

    out = f"users/{ids['alice']}/exports/job.zip"  # a storage key
    manifest = write_export(ids["alice"], alice_rows, out)
    import zipfile

    names = zipfile.ZipFile(storage_dir / out).namelist()
    assert "data/users.json" in names and "manifest.json" in names
    assert [n for n in names if n.endswith("original.mp4")]
    assert not [n for n in names if "exports/" in n]  # never the export itself
    assert manifest["tables"]["plans"] == 1


def test_privacy_rules():
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    assert privacy.retention_cutoff(now, 0) is None
    assert privacy.retention_cutoff(now, 30) == now - dt.timedelta(days=30)
    assert privacy.original_expired(dt.datetime(2026, 10, 1), now, 30)  # naive = UTC
    assert not privacy.original_expired(dt.datetime(2026, 11, 10), now, 30)
    assert not privacy.original_expired(dt.datetime(2000, 1, 1), now, 0)
    assert [f for f in ("password_hash", "secret", "previous_secret", "token_version", "email",
                        "url", "models_key", "idempotency_key") if privacy.is_secret_field(f)] \
        == ["password_hash", "secret", "previous_secret", "token_version"]
    row = privacy.exportable_row({"email": "e", "password_hash": "h", "at": now,
                                  "day": dt.date(2026, 1, 2), "blob": b"x"})
    assert row == {"email": "e", "at": "2026-11-30T00:00:00+00:00", "day": "2026-01-02",
                   "blob": None}
    assert privacy.export_member("files", "../../etc/passwd") == "files/etc/passwd"
    assert privacy.export_member("data", "plans") == "data/plans.json"


def test_logs_never_carry_task_results_or_sql_parameters(tmp_path):
    from celery.app import trace
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    import celery_config  # noqa: F401  (sets the success log format)
    from models.db import make_engine

    assert "return_value" not in trace.LOG_SUCCESS and "%(runtime)s" in trace.LOG_SUCCESS
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (email TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:e)"), {"e": "someone@example.com"})
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:e)"), {"e": "someone@example.com"})
    assert "someone@example.com" not in str(caught.value)
    assert "hide_parameters" in str(caught.value)
    engine.dispose()


def test_expired_exports_and_orphan_analysis_folders_go(db, storage_dir, monkeypatch):
    import os
    import time

    import tasks.privacy
    from tasks.privacy import remove_expired_exports, remove_orphan_analysis_folders

    monkeypatch.setattr(tasks.privacy, "settings",
                        dataclasses.replace(tasks.privacy.settings, export_ttl_hours=1))
    with db.session_scope() as session:
        user = _user(session, "o@example.com")
        kept = _video(session, storage_dir, user, 1).id
        user_id = user.id
    analyses = storage_dir / "users" / user_id / "analyses"
    orphan, young_orphan = analyses / "deleted-one", analyses / "being-uploaded"
    for folder in (orphan, young_orphan):
        (folder / "pose").mkdir(parents=True)
        (folder / "pose" / "chunk_0000.npz").write_bytes(b"x")
    exports = storage_dir / "users" / user_id / "exports"
    exports.mkdir()
    (exports / "old.zip").write_bytes(b"zip")
    (exports / "new.zip").write_bytes(b"zip")
    old = time.time() - 2 * 3600
    # A folder's age is its newest file's (object storage has no folders).
    for path in (orphan / "pose" / "chunk_0000.npz", *(analyses / kept).rglob("*"),
                 exports / "old.zip"):
        os.utime(path, (old, old))

    assert remove_orphan_analysis_folders(grace_s=3600) == ["deleted-one"]
    assert remove_expired_exports() == ["old.zip"]
    assert (analyses / kept).is_dir() and young_orphan.is_dir() and not orphan.exists()
    assert sorted(p.name for p in exports.iterdir()) == ["new.zip"]
