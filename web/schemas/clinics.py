from __future__ import annotations

import marshmallow as ma

from domain.plans.profile import FEEDBACK_RATINGS, FITNESS_LEVELS, INJURIES
from models.jobs import JOB_STATUSES
from web.schemas.common import StoredSchema, StrictSchema, UtcDateTime
from web.schemas.plans import PLAN_STATUSES


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


class PatientProfileSchema(StoredSchema):
    injury = ma.fields.String(validate=ma.validate.OneOf(INJURIES))
    fitness_level = ma.fields.String(validate=ma.validate.OneOf(FITNESS_LEVELS))
    workouts_per_week = ma.fields.Integer()


class PatientPlanSchema(StoredSchema):
    id = ma.fields.String(required=True)
    week = ma.fields.Integer()
    status = ma.fields.String(validate=ma.validate.OneOf(PLAN_STATUSES))
    days_completed = ma.fields.Integer()
    days = ma.fields.Integer(metadata={"description": "training days in the plan"})


class PatientFeedbackSchema(StoredSchema):
    plan_id = ma.fields.String()
    rating = ma.fields.String(validate=ma.validate.OneOf(FEEDBACK_RATINGS))
    pain = ma.fields.Integer(allow_none=True, metadata={"description": "0 (none) to 10"})
    created_at = ma.fields.String(metadata={"format": "date-time"})


class PatientAnalysisSchema(StoredSchema):
    id = ma.fields.String(required=True)
    status = ma.fields.String(validate=ma.validate.OneOf(JOB_STATUSES))
    label = ma.fields.String(allow_none=True, metadata={"description": "the exercise seen"})
    rep_count = ma.fields.Integer(allow_none=True)


class ShareSchema(StoredSchema):
    prescribed = ma.fields.Integer()
    completed = ma.fields.Integer(metadata={"description": "sessions: training days completed"})
    done = ma.fields.Integer(metadata={"description": "repetitions: done, up to each "
                                                      "prescription"})
    share = ma.fields.Float(allow_none=True, metadata={"description": "0-1; null: none due"})


class PainSchema(StoredSchema):
    at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    exercise_id = ma.fields.String()
    pain = ma.fields.Integer()
    week = ma.fields.Integer(allow_none=True)
    day = ma.fields.Integer()


class AdherenceSummarySchema(StoredSchema):
    sessions = ma.fields.Nested(ShareSchema)
    repetitions = ma.fields.Nested(ShareSchema)
    camera_checks = ma.fields.Integer()
    self_reports = ma.fields.Integer()
    rom_change_deg = ma.fields.Dict(keys=ma.fields.String(),
                                    values=ma.fields.Float(allow_none=True), metadata={
        "description": "per camera-checked exercise: range of motion, last minus first"})
    last_pain = ma.fields.Nested(PainSchema, allow_none=True)


class PatientSummarySchema(ma.Schema):
    id = ma.fields.String(required=True)
    email = ma.fields.String()
    joined_at = UtcDateTime(allow_none=True)
    profile = ma.fields.Nested(PatientProfileSchema, allow_none=True)
    current_plan = ma.fields.Nested(PatientPlanSchema, allow_none=True)
    last_feedback = ma.fields.Nested(PatientFeedbackSchema, allow_none=True)
    last_analysis = ma.fields.Nested(PatientAnalysisSchema, allow_none=True)
    last_activity_at = UtcDateTime(allow_none=True)
    adherence = ma.fields.Nested(AdherenceSummarySchema, allow_none=True, metadata={
        "description": "sessions and repetitions done of those prescribed, camera checks, "
                       "self-reports, range-of-motion change per checked exercise, last pain"})


class RomPointSchema(StoredSchema):
    at = ma.fields.String(allow_none=True, metadata={"format": "date-time"})
    week = ma.fields.Integer(allow_none=True)
    day = ma.fields.Integer()
    rom_deg = ma.fields.Float()
    rom_ratio = ma.fields.Float(allow_none=True)


class RomTrendSchema(StoredSchema):
    points = ma.fields.List(ma.fields.Nested(RomPointSchema))
    change_deg = ma.fields.Float(allow_none=True)


class AdherenceWeekSchema(StoredSchema):
    plan_id = ma.fields.String()
    week = ma.fields.Integer()
    status = ma.fields.String(validate=ma.validate.OneOf(PLAN_STATUSES))
    sessions = ma.fields.Nested(ShareSchema)
    repetitions = ma.fields.Nested(ShareSchema)


class AdherenceSchema(ma.Schema):
    user_id = ma.fields.String(required=True)
    sessions = ma.fields.Nested(ShareSchema, required=True, metadata={
        "description": "{prescribed, completed, share} training days"})
    repetitions = ma.fields.Nested(ShareSchema, required=True, metadata={
        "description": "{prescribed, done, share}: done counted up to each prescription"})
    camera_checks = ma.fields.Integer()
    self_reports = ma.fields.Integer()
    rom_trend = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(RomTrendSchema),
                               metadata={"description": "per camera-checked exercise"})
    last_pain = ma.fields.List(ma.fields.Nested(PainSchema), metadata={
        "description": "newest first"})
    weeks = ma.fields.List(ma.fields.Nested(AdherenceWeekSchema))
