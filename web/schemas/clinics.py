from __future__ import annotations

import marshmallow as ma

from web.schemas.common import StrictSchema, UtcDateTime


class ClinicCreateSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))


class JoinClinicSchema(StrictSchema):
    invite_code = ma.fields.String(required=True, validate=ma.validate.Length(min=4, max=32))


class ClinicSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    invite_code = ma.fields.String(metadata={"description": "clinicians only"})
    created_at = UtcDateTime()

    @ma.post_dump
    def _code_only_when_shown(self, data: dict, **_kwargs) -> dict:
        if data.get("invite_code") is None:  # the service hides it from patients
            data.pop("invite_code", None)
        return data


class PatientSummarySchema(ma.Schema):
    id = ma.fields.String(required=True)
    email = ma.fields.String()
    joined_at = UtcDateTime(allow_none=True)
    profile = ma.fields.Dict(allow_none=True)
    current_plan = ma.fields.Dict(allow_none=True)
    last_feedback = ma.fields.Dict(allow_none=True)
    last_analysis = ma.fields.Dict(allow_none=True)
    last_activity_at = UtcDateTime(allow_none=True)
    adherence = ma.fields.Dict(allow_none=True, metadata={
        "description": "sessions and repetitions done of those prescribed, camera checks, "
                       "self-reports, range-of-motion change per checked exercise, last pain"})


class AdherenceSchema(ma.Schema):
    user_id = ma.fields.String(required=True)
    sessions = ma.fields.Dict(required=True, metadata={
        "description": "{prescribed, completed, share} training days"})
    repetitions = ma.fields.Dict(required=True, metadata={
        "description": "{prescribed, done, share}: done counted up to each prescription"})
    camera_checks = ma.fields.Integer()
    self_reports = ma.fields.Integer()
    rom_trend = ma.fields.Dict(metadata={
        "description": "per exercise: {points: [{at, week, day, rom_deg, rom_ratio}], "
                       "change_deg}"})
    last_pain = ma.fields.List(ma.fields.Dict(), metadata={
        "description": "newest first: {at, exercise_id, pain, week, day}"})
    weeks = ma.fields.List(ma.fields.Dict())
