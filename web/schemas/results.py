"""The analysis ``result`` (GET /videos/{id}, /analyses/{id}) described field by field, so that
a generated client has typed models for it (domain/video/analysis.py, domain/video/service.py
``checked_against_prescription``, domain/video/form, domain/video/movement/prescribed.py).

The stored result is answered exactly as stored: these schemas document it, they do not filter
it. Each one dumps its input unchanged (a result written by an older or newer version keeps every
key, numbers keep their type) and says ``additionalProperties: true``. Nothing is required
except what every result since the first version holds.
"""

from __future__ import annotations

import marshmallow as ma

from web.schemas.common import StoredSchema

F = ma.fields

#: result.form.verdict (shared/API.md)
VERDICTS = ("good", "faulty", "uncertain")


class ResultCandidateSchema(StoredSchema):
    label = F.String(required=True)
    confidence = F.Float(required=True)


class ResultExerciseSchema(StoredSchema):
    label = F.String(required=True, metadata={
        "description": "`unknown` when no class is confident enough"})
    confidence = F.Float(required=True)
    candidates = F.List(F.Nested(ResultCandidateSchema), required=True)


class ResultAngleSchema(StoredSchema):
    user = F.Float(allow_none=True, metadata={"description": "degrees"})
    reference = F.Float(allow_none=True)
    diff = F.Float(allow_none=True, metadata={"description": "user - reference, degrees"})


class ResultIssueSchema(StoredSchema):
    source = F.String(metadata={"description": "form | angles"})
    criterion = F.String(metadata={"description": "form: the criterion found faulty"})
    joint = F.String(metadata={"description": "angles: the joint off the reference"})
    diff = F.Float(allow_none=True)
    phase = F.String(allow_none=True)
    message = F.String()


class ResultRepSchema(StoredSchema):
    index = F.Integer(required=True)
    start_s = F.Float(required=True)
    end_s = F.Float(required=True)
    bottom_s = F.Float(allow_none=True)
    rom_deg = F.Float(allow_none=True, metadata={"description": "range of motion, degrees"})
    rom_joint = F.String(allow_none=True)
    angles = F.Dict(keys=F.String(), values=F.Nested(ResultAngleSchema), metadata={
        "description": "per joint, at the bottom phase"})
    issues = F.List(F.Nested(ResultIssueSchema), metadata={
        "description": "empty for a repetition judged good"})


class ResultFindingSchema(StoredSchema):
    rep_index = F.Integer(allow_none=True, metadata={
        "description": "null: the whole clip (a hold)"})
    criterion = F.String(required=True)
    message = F.String(required=True)


class ResultFormSchema(StoredSchema):
    verdict = F.String(required=True, validate=ma.validate.OneOf(VERDICTS))
    score = F.Float(allow_none=True, metadata={
        "description": "probability (0-1) that the form is correct; null when not judged"})
    findings = F.List(F.Nested(ResultFindingSchema), required=True)
    view = F.String(allow_none=True, metadata={"description": "side | front | three_quarter"})
    judged = F.List(F.String(), metadata={"description": "criteria the view allowed judging"})
    not_judged = F.List(F.String())
    method = F.String(allow_none=True)


class ResultModelsSchema(StoredSchema):
    pose = F.String(allow_none=True, metadata={"description": "null for keypoint uploads"})
    classifier = F.String(allow_none=True)
    form = F.String(allow_none=True)


class ResultPrescribedSchema(StoredSchema):
    exercise_id = F.String(required=True)
    name = F.String()
    sets = F.Integer(allow_none=True)
    reps = F.Integer(allow_none=True)
    duration_s = F.Float(allow_none=True)


class ResultPerformedSchema(StoredSchema):
    reps = F.Integer(allow_none=True)
    sets = F.Integer(allow_none=True)
    duration_s = F.Float(allow_none=True)
    hold_s = F.Float(allow_none=True)
    rom_deg = F.Float(allow_none=True)
    rom_expected = F.Float(allow_none=True)
    rom_ratio = F.Float(allow_none=True)
    form_verdict = F.String(allow_none=True, validate=ma.validate.OneOf(VERDICTS))
    counted = F.Boolean(metadata={"description": "false: nothing could be counted (reasons)"})
    completed = F.Boolean()
    reasons = F.List(F.String())


class AnalysisResultSchema(StoredSchema):
    exercise = F.Nested(ResultExerciseSchema, required=True)
    rep_count = F.Integer(required=True)
    reps = F.List(F.Nested(ResultRepSchema), required=True)
    form = F.Nested(ResultFormSchema)
    feedback = F.List(F.String(), required=True, metadata={
        "description": "human-readable sentences"})
    reference_id = F.String(allow_none=True)
    reference_distance = F.Float(allow_none=True)
    models = F.Nested(ResultModelsSchema)
    person_detected = F.Boolean()
    analyzed_as = F.String(allow_none=True)
    exercise_hint = F.String(allow_none=True)
    prescribed = F.Nested(ResultPrescribedSchema, metadata={
        "description": "checked analyses: the plan item it was measured against"})
    performed = F.Nested(ResultPerformedSchema)
    not_measured = F.List(F.String())
    movement = F.Dict(metadata={"description": "checked analyses: the measurement itself"})
    classifier_view = F.Dict(metadata={
        "description": "checked analyses: the classifier's own count and feedback"})
