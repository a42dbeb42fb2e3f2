from __future__ import annotations

import marshmallow as ma
import numpy as np

from models import JOB_STATUSES
from web.schemas.common import StrictSchema, UtcDateTime
from web.schemas.results import AnalysisResultSchema

MAX_KEYPOINT_FRAMES = 18_000  # 10 minutes at 30 fps
#: an analysis' input: an uploaded video or image, or keypoints (POST /analyses)
ANALYSIS_SOURCES = ("video", "image", "keypoints")


class KeypointFrames(ma.fields.Field):
    """frames: [[[x, y, score] x 17] per frame], checked with numpy (fast for long sequences)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, list) or not value:
            raise ma.ValidationError("must be a non-empty list of frames")
        if len(value) > MAX_KEYPOINT_FRAMES:
            raise ma.ValidationError(f"at most {MAX_KEYPOINT_FRAMES} frames")
        try:
            array = np.asarray(value, dtype=np.float32)
        except (ValueError, TypeError):
            raise ma.ValidationError(
                "each frame must be 17 keypoints of [x, y, score] numbers") from None
        if array.ndim != 3 or array.shape[1:] != (17, 3):
            raise ma.ValidationError(
                f"each frame must be 17 keypoints of [x, y, score]; got shape {list(array.shape)}")
        if not np.isfinite(array).all():
            raise ma.ValidationError("keypoints must be finite numbers")
        if (array[..., 2] < 0).any() or (array[..., 2] > 1).any():
            raise ma.ValidationError("scores must be within 0-1")
        return array


def _prescription_fields(strict: bool) -> tuple[ma.fields.Field, ...]:
    """`plan_id`, `day`, `exercise_id`: the prescribed exercise an upload is checked against
    (all three or none; the day and exercise must be in the caller's own plan)."""
    return (ma.fields.String(validate=ma.validate.Length(min=1, max=32),
                             metadata={"description": "one of your plans"}),
            ma.fields.Integer(strict=strict, validate=ma.validate.Range(1, 7),
                              metadata={"description": "a day of that plan"}),
            ma.fields.String(validate=ma.validate.Length(min=1, max=80),
                             metadata={"description": "an exercise prescribed that day"}))


class KeypointAnalysisSchema(StrictSchema):
    fps = ma.fields.Float(required=True, validate=ma.validate.Range(1, 240))
    width = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(16, 8192))
    height = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(16, 8192))
    layout = ma.fields.String(required=True, validate=ma.validate.OneOf(["coco17"]))
    frames = KeypointFrames(required=True, metadata={
        "type": "array", "description": "frames x 17 x [x, y, score], pixels",
        "items": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}})
    exercise = ma.fields.String(validate=ma.validate.Length(max=64))
    plan_id, day, exercise_id = _prescription_fields(strict=True)


class UploadFormSchema(ma.Schema):
    exercise = ma.fields.String(validate=ma.validate.Length(max=64))
    reference = ma.fields.Boolean(load_default=False,
                                  metadata={"description": "clinicians: a reference performance"})
    plan_id, day, exercise_id = _prescription_fields(strict=False)


class AnalysisSchema(ma.Schema):
    id = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(JOB_STATUSES))
    source = ma.fields.String(validate=ma.validate.OneOf(ANALYSIS_SOURCES))
    created_at = UtcDateTime(required=True)
    job_id = ma.fields.String(allow_none=True)
    exercise_hint = ma.fields.String(allow_none=True)
    plan_id = ma.fields.String(allow_none=True, metadata={
        "description": "the plan whose prescribed exercise this analysis checks"})
    day = ma.fields.Integer(allow_none=True)
    exercise_id = ma.fields.String(allow_none=True)
    original_filename = ma.fields.String(allow_none=True)
    media = ma.fields.Dict(allow_none=True)
    is_reference = ma.fields.Boolean()
    annotated_url = ma.fields.String(allow_none=True)
    result = ma.fields.Nested(AnalysisResultSchema, allow_none=True, metadata={
        "description": "null until the analysis succeeds; answered as stored (every key)"})
    original_available = ma.fields.Boolean(metadata={
        "description": "whether the original upload is still stored (false after retention)"})
    original_deleted_at = UtcDateTime(allow_none=True, metadata={
        "description": "when retention removed the original upload and annotated video"})
    history = ma.fields.List(ma.fields.Dict())


class ReferenceSummarySchema(ma.Schema):
    """An expert reference without its keypoints (GET /references)."""

    id = ma.fields.String(required=True)
    exercise = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    view = ma.fields.String(allow_none=True)
    source = ma.fields.String(allow_none=True)
    clinic_id = ma.fields.String(allow_none=True)
    fps = ma.fields.Float(allow_none=True)
    frames = ma.fields.Integer(allow_none=True)
