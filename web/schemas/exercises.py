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


class MeasureSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(
        ("repetitions", "hold_time", "range_of_motion", "position")))
    name = ma.fields.String(allow_none=True, metadata={"description": "e.g. knee flexion"})
    unit = ma.fields.String(allow_none=True, metadata={
        "description": "count | s | deg | % of body height ..."})
    signal = ma.fields.String(allow_none=True, metadata={
        "description": "the per-frame quantity measured: flexion, elevation, inclination, "
                       "rise, separation, lateral_shift, knee_lift, body_line"})
    joint = ma.fields.String(allow_none=True, metadata={
        "description": "knee | hip | elbow | shoulder when the signal is a joint angle"})


class CameraCheckSchema(ma.Schema):
    supported = ma.fields.Boolean(required=True)
    kind = ma.fields.String(metadata={"description": "reps | hold"})
    view = ma.fields.String(allow_none=True, metadata={"description": "side | front"})
    measures = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "repetitions, hold_time, range_of_motion:<name>, position:<name>"})
    measures_detail = ma.fields.List(ma.fields.Nested(MeasureSchema), dump_default=list,
                                     metadata={"description": "measures, one object each"})
    instructions = ma.fields.String(allow_none=True)
    reason = ma.fields.String(metadata={"description": "why the camera cannot check it"})
    range_of_motion = ma.fields.Nested(RangeOfMotionSchema)
    position = ma.fields.Nested(PositionSchema)


class ExerciseWithCheckSchema(ExerciseSchema):
    camera_check = ma.fields.Nested(CameraCheckSchema, required=True)
