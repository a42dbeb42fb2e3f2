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
