"""The video analysis service: planning, labels, the bounded reference cache, when an upload
becomes a clinic reference, and a keypoint analysis' pipeline plan (real SQLite)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np
import pytest

from domain.video import service
from models import Analysis, Clinic, Job, Reference, User
from tests.unit.tasks.conftest import db  # noqa: F401 - the migrated SQLite database fixture

CFG = service.VideoConfig()


def test_chunk_plan_and_models_key():
    assert service.chunk_plan(25.0, "video", 10.0) == [(0.0, 10.0), (10.0, 10.0), (20.0, None)]
    assert service.chunk_plan(3.0, "image", 10.0) == [(0.0, None)]
    models = service.models_used("video", CFG)
    assert service.models_key(models) == (
        "pose=yolo11n-pose@320/onnx;classifier=classifier-v2;form=form-v2")
    assert service.models_used("keypoints", CFG)["pose"] is None


def test_config_from_settings_takes_the_named_settings():
    from config import settings

    cfg = service.VideoConfig.from_settings(dataclasses.replace(settings, pose_chunk_s=4.0))
    assert cfg.pose_chunk_s == 4.0 and cfg.classifier_version == settings.classifier_version


def test_frame_labels_name_the_current_repetition():
    result = {"exercise": {"label": "squat_x"}, "rep_count": 2,
              "reps": [{"index": 1, "start_s": 0.0, "end_s": 1.0},
                       {"index": 2, "start_s": 1.5, "end_s": 2.5}]}
    assert service.frame_labels(result, np.array([0.5, 1.2, 2.0])) == [
        "squat x  rep 1/2", "squat x  2 reps", "squat x  rep 2/2"]


def _reference_row(i: int, job_id: str = "j") -> Reference:
    return Reference(id=f"r{i}", exercise="squat", name="n", view="front", source="s", fps=10.0,
                     width=640.0, height=360.0, keypoints=np.zeros((3, 17, 3)).tolist(),
                     meta={"job_id": job_id}, created_at=datetime(2026, 1, 1))


def test_reference_cache_is_bounded_and_keyed_by_version():
    cache = service.ReferenceCache(size=2)
    first = cache.get(_reference_row(1))
    assert cache.get(_reference_row(1)) is first  # same version: parsed once
    assert cache.get(_reference_row(1, job_id="rerun")) is not first  # a new version
    cache.get(_reference_row(2))
    cache.get(_reference_row(3))
    assert len(cache) == 2


def _clinic_user(session, *, clinic: bool) -> User:
    clinic_row = Clinic(name="c", invite_code=f"inv-{clinic}") if clinic else None
    if clinic_row is not None:
        session.add(clinic_row)
        session.flush()
    user = User(email=f"u{clinic}@example.org", password_hash="x", role="clinician",
                clinic_id=clinic_row.id if clinic_row else None)
    session.add(user)
    session.flush()
    return user


@pytest.mark.parametrize(("clinic", "hint", "label", "becomes"), [
    (True, "squat", "pushup", "squat"),  # the clinician's hint wins
    (True, None, "pushup", "pushup"),
    (True, None, "unknown", None),  # nothing recognised: no reference
    (False, "squat", "squat", None),  # no clinic: no reference
])
def test_when_an_upload_becomes_a_clinic_reference(db, clinic, hint, label, becomes):  # noqa: F811
    with db.session_scope() as session:
        user = _clinic_user(session, clinic=clinic)
        analysis = Analysis(user_id=user.id, source="video", is_reference=True,
                            exercise_hint=hint, result={"exercise": {"label": label}})
        outcome = service.reference_exercise(session, analysis)
        assert (outcome[1] if outcome else None) == becomes


def test_a_keypoint_analysis_needs_no_pose(db, tmp_path, monkeypatch):  # noqa: F811
    import infra.storage
    from config import settings

    monkeypatch.setattr(infra.storage, "settings",
                        dataclasses.replace(settings, storage_dir=tmp_path / "storage"))
    with db.session_scope() as session:
        user = _clinic_user(session, clinic=False)
        analysis = Analysis(user_id=user.id, source="keypoints", status="queued")
        session.add(analysis)
        session.flush()
        job = Job(user_id=user.id, kind="keypoints.analyze", status="running", priority=8,
                  params={"analysis_id": analysis.id})
        session.add(job)
        session.flush()
        job_id, analysis_id = job.id, analysis.id
    plan = service.plan_pipeline(job_id, CFG)
    assert plan == service.PipelinePlan(priority=8, chunks=None)
    with db.session_scope() as session:
        assert session.get(Analysis, analysis_id).status == "running"
        assert session.get(Job, job_id).stage == "planning"
