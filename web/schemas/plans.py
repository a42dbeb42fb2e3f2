from __future__ import annotations

import datetime as dt

import marshmallow as ma
from webargs.fields import DelimitedList

from domain.plans.library import CATEGORIES, MUSCLE_GROUPS
from domain.plans.profile import (
    AGE_RANGE,
    EQUIPMENT,
    FEEDBACK_RATINGS,
    FITNESS_LEVELS,
    HEIGHT_RANGE_CM,
    INJURIES,
    SEXES,
    WEIGHT_RANGE_KG,
    WORKOUTS_RANGE,
)
from web.schemas.common import StrictSchema, UserIdQuerySchema, UtcDateTime

_range = ma.validate.Range

#: Plan.status (domain/plans/service.py)
PLAN_STATUSES = ("active", "superseded", "completed")
#: query arguments `@blp.paginate()` reads itself
PAGE_ARGUMENTS = ("page", "page_size")


class PagedUserIdQuerySchema(UserIdQuerySchema):
    """`?user_id=` of a paginated list: unknown arguments are still an error, except the page
    arguments that flask-smorest's paginate decorator parses (and documents) on its own."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.validates_schema(pass_original=True)
    def _no_unknown(self, data, original, **_kwargs):
        unknown = set(original) - set(self.fields) - set(PAGE_ARGUMENTS)
        if unknown:
            raise ma.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})


class ProfileSchema(StrictSchema):
    sex = ma.fields.String(required=True, validate=ma.validate.OneOf(SEXES))
    age = ma.fields.Integer(required=True, strict=True, validate=_range(*AGE_RANGE))
    height_cm = ma.fields.Float(required=True, validate=_range(*HEIGHT_RANGE_CM))
    weight_kg = ma.fields.Float(required=True, validate=_range(*WEIGHT_RANGE_KG))
    fitness_level = ma.fields.String(required=True, validate=ma.validate.OneOf(FITNESS_LEVELS))
    injury = ma.fields.String(required=True, validate=ma.validate.OneOf(INJURIES))
    equipment = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(EQUIPMENT)),
                               required=True, validate=ma.validate.Length(max=len(EQUIPMENT)))
    workouts_per_week = ma.fields.Integer(required=True, strict=True,
                                          validate=_range(*WORKOUTS_RANGE))
    bmi = ma.fields.Float(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)


class ExerciseQuerySchema(StrictSchema):
    injury = ma.fields.String(validate=ma.validate.OneOf(INJURIES))
    equipment = DelimitedList(
        ma.fields.String(validate=ma.validate.OneOf([*EQUIPMENT, "none"])),
        metadata={"description": "comma-separated equipment the user has ('none' = bodyweight)"})
    category = ma.fields.String(validate=ma.validate.OneOf(CATEGORIES))
    muscle = ma.fields.String(validate=ma.validate.OneOf(MUSCLE_GROUPS))
    level = ma.fields.String(
        validate=ma.validate.OneOf([*FITNESS_LEVELS, "1", "2", "3", "4", "5"]),
        metadata={"description": "fitness level or maximum difficulty 1-5"})
    q = ma.fields.String(validate=ma.validate.Length(max=100))


class ExerciseSchema(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String()
    instructions = ma.fields.List(ma.fields.String())
    category = ma.fields.String()
    muscle_groups = ma.fields.List(ma.fields.String())
    equipment = ma.fields.List(ma.fields.String())
    difficulty = ma.fields.Integer()
    chain = ma.fields.String(allow_none=True)
    impact = ma.fields.String()
    suitable_for = ma.fields.List(ma.fields.String())
    contraindicated_for = ma.fields.List(ma.fields.String())
    phase = ma.fields.Integer(allow_none=True)
    default_sets = ma.fields.Integer()
    default_reps = ma.fields.Integer(allow_none=True)
    default_duration_s = ma.fields.Integer(allow_none=True)
    tags = ma.fields.List(ma.fields.String())


class PlanExerciseSchema(ma.Schema):
    exercise_id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    sets = ma.fields.Integer(required=True)
    reps = ma.fields.Integer(allow_none=True)
    duration_s = ma.fields.Integer(allow_none=True)
    score = ma.fields.Float(required=True)
    reasons = ma.fields.List(ma.fields.String())
    category = ma.fields.String()
    difficulty = ma.fields.Integer()
    performed = ma.fields.Dict(allow_none=True, metadata={
        "description": "what was performed that day (camera checks and self-reports added "
                       "up): reps or duration_s, sets, hold_s, rom_deg, pain, completed"})


class PlanDaySchema(ma.Schema):
    day = ma.fields.Integer(required=True)
    weekday = ma.fields.String(required=True)
    completed = ma.fields.Boolean(required=True)
    completed_at = ma.fields.String(allow_none=True)
    lighter = ma.fields.Boolean()
    readiness_score = ma.fields.Float()
    notes = ma.fields.List(ma.fields.String())
    exercises = ma.fields.List(ma.fields.Nested(PlanExerciseSchema), required=True)


class PlanFeedbackOutSchema(ma.Schema):
    rating = ma.fields.String(required=True)
    exercise_ids = ma.fields.List(ma.fields.String())
    note = ma.fields.String(allow_none=True)
    pain = ma.fields.Integer(allow_none=True, metadata={"description": "0 (none) to 10"})
    next_plan_id = ma.fields.String(allow_none=True)
    created_at = UtcDateTime()


class PlanSchema(ma.Schema):
    id = ma.fields.String(required=True)
    user_id = ma.fields.String()
    week = ma.fields.Integer(required=True)
    version = ma.fields.Integer()
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(PLAN_STATUSES), metadata={
        "description": "active: this week's; superseded: regenerated; completed: rated"})
    created_at = UtcDateTime(required=True)
    model_version = ma.fields.String(required=True)
    fitness_level = ma.fields.String()
    rep_factor = ma.fields.Float()
    notes = ma.fields.List(ma.fields.String())
    feedback = ma.fields.Nested(PlanFeedbackOutSchema, allow_none=True)
    days = ma.fields.List(ma.fields.Nested(PlanDaySchema), required=True)


class FeedbackSchema(StrictSchema):
    rating = ma.fields.String(required=True, validate=ma.validate.OneOf(FEEDBACK_RATINGS))
    exercise_ids = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=80)),
                                  load_default=list, validate=ma.validate.Length(max=20))
    note = ma.fields.String(validate=ma.validate.Length(max=2000), allow_none=True)
    pain = ma.fields.Integer(strict=True, validate=_range(0, 10), allow_none=True, metadata={
        "description": "0 (none) to 10 (worst); from 5 the week is adapted as discomfort "
                       "whatever the rating"})


class PerformedSchema(StrictSchema):
    """A self-report; what is left out is taken as prescribed."""

    reps = ma.fields.Integer(strict=True, validate=_range(0, 500), allow_none=True,
                             metadata={"description": "repetitions per set"})
    sets = ma.fields.Integer(strict=True, validate=_range(0, 20), allow_none=True)
    duration_s = ma.fields.Float(validate=_range(0, 7200), allow_none=True,
                                 metadata={"description": "seconds per set"})
    pain = ma.fields.Integer(strict=True, validate=_range(0, 10), allow_none=True,
                             metadata={"description": "0 (none) to 10 (worst)"})
    note = ma.fields.String(validate=ma.validate.Length(max=2000), allow_none=True)


class ReadinessSchema(StrictSchema):
    date = ma.fields.Date(load_default=None)
    sleep_hours = ma.fields.Float(required=True, validate=_range(0, 24))
    resting_hr = ma.fields.Float(required=True, validate=_range(25, 220))
    hrv_ms = ma.fields.Float(required=True, validate=_range(1, 400))

    @ma.validates("date")
    def _not_future(self, value, **_kwargs):
        if value is not None and value > dt.date.today() + dt.timedelta(days=1):
            raise ma.ValidationError("date is in the future")


class ReadinessOutSchema(ma.Schema):
    id = ma.fields.String()
    date = ma.fields.Date()
    sleep_hours = ma.fields.Float()
    resting_hr = ma.fields.Float()
    hrv_ms = ma.fields.Float()
    score = ma.fields.Float(required=True)
    band = ma.fields.String()
    # the scoring details are stored together in the entry's `details`
    recommendation = ma.fields.String(attribute="details.recommendation")
    baseline_source = ma.fields.String(attribute="details.baseline_source",
                                       metadata={"description": "personal | population"})
    session_adjusted = ma.fields.Dict(allow_none=True, metadata={
        "description": "the plan day made lighter because readiness is low today"})
    components = ma.fields.Dict(attribute="details.components")
