"""The exercise library's responses with their camera check."""

from __future__ import annotations

import marshmallow as ma

from web.schemas.plans import ExerciseSchema


class RangeOfMotionSchema(ma.Schema):
    name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    expected = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Float(),
                              metadata={"description": "expected range per fitness level"})


class PositionSchema(ma.Schema):
    name = ma.fields.String(required=True)
    unit = ma.fields.String(required=True)
    target = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.Float()),
                            metadata={"description": "[low, high] to hold, per fitness level"})


class CameraCheckSchema(ma.Schema):
    supported = ma.fields.Boolean(required=True)
    kind = ma.fields.String(metadata={"description": "reps | hold"})
    view = ma.fields.String(allow_none=True, metadata={"description": "side | front"})
    measures = ma.fields.List(ma.fields.String(), required=True)
    instructions = ma.fields.String(allow_none=True)
    reason = ma.fields.String(metadata={"description": "why the camera cannot check it"})
    range_of_motion = ma.fields.Nested(RangeOfMotionSchema)
    position = ma.fields.Nested(PositionSchema)


class ExerciseWithCheckSchema(ExerciseSchema):
    camera_check = ma.fields.Nested(CameraCheckSchema, required=True)
