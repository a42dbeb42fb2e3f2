"""The job-kind registry: every kind has a pipeline of registered tasks and resolvable hooks."""

from __future__ import annotations

import pytest

from domain.jobs import kinds


def test_every_kind_runs_registered_tasks():
    from workers.celery_app import app

    app.loader.import_default_modules()
    for kind in kinds.KINDS.values():
        assert kind.pipeline and all(name in app.tasks for name in kind.pipeline), kind.name


def test_hooks_resolve_and_take_session_job_emit():
    for name in kinds.KINDS:
        hooks = kinds.hooks_for(name)
        if kinds.KINDS[name].hooks is None:
            assert hooks is None
        else:
            assert callable(hooks.on_succeeded) and callable(hooks.on_failed)


def test_the_job_kind_and_the_task_no_longer_share_a_name():
    from workers.celery_app import app

    app.loader.import_default_modules()
    assert kinds.VIDEO_ANALYZE in kinds.KINDS and kinds.VIDEO_ANALYZE not in app.tasks
    assert "video.classify" in app.tasks


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown job kind"):
        kinds.get("nope")
    assert kinds.hooks_for("nope") is None


def test_pipeline_canvas_from_the_registry():
    from tasks.enqueue import pipeline

    assert pipeline("plan.generate", "j1").task == "plans.generate"
    chained = pipeline("feedback.process", "j1")
    assert [t.task for t in chained.tasks] == ["feedback.record", "plans.regenerate"]
    assert all(t.immutable for t in chained.tasks)
    assert kinds.analysis_kind("keypoints") == "keypoints.analyze"
    assert kinds.analysis_kind("image") == "video.analyze"


def test_batch_kinds_get_batch_priority(db):
    from domain.jobs.service import create_job
    from models import User

    with db.session_scope() as session:
        user = User(email="ops@example.org", password_hash="x", role="ops")
        session.add(user)
        session.flush()
        batch = create_job(session, user_id=user.id, kind="batch.reprocess", batch_priority=8)
        live = create_job(session, user_id=user.id, kind="plan.generate", batch_priority=8)
        assert (batch.priority, live.priority) == (8, None)
