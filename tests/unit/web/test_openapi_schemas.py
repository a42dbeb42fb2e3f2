"""The OpenAPI document's schemas give a generated client clean types (web/openapi.py,
web/schemas/results.py): typed analysis results that still answer every stored key, enums on
statuses, nullable nested objects as one reference, open response schemas, strict requests."""

from __future__ import annotations

import datetime as dt

import pytest

from web.schemas.results import AnalysisResultSchema
from web.schemas.videos import AnalysisSchema


@pytest.fixture(scope="module")
def spec():
    from web import create_app

    return create_app({"RATELIMIT_ENABLED": False}).test_client().get(
        "/api/v1/openapi.json").json


@pytest.fixture(scope="module")
def schemas(spec):
    return spec["components"]["schemas"]


def _ref(prop: dict) -> str:
    return (prop.get("$ref") or prop["allOf"][0]["$ref"]).rsplit("/", 1)[1]


def test_the_analysis_result_is_typed(schemas):
    result = schemas["Analysis"]["properties"]["result"]
    assert result["nullable"] is True and _ref(result) == "AnalysisResult"
    props = schemas["AnalysisResult"]["properties"]
    assert _ref(props["exercise"]) == "ResultExercise"
    assert _ref(props["reps"]["items"]) == "ResultRep"
    rep = schemas["ResultRep"]["properties"]
    assert _ref(rep["angles"]["additionalProperties"]) == "ResultAngle"
    form = schemas[_ref(props["form"])]["properties"]
    assert form["verdict"]["enum"] == ["good", "faulty", "uncertain"]
    assert _ref(form["findings"]["items"]) == "ResultFinding"
    assert schemas["AnalysisResult"]["additionalProperties"] is True  # open: later keys


def test_a_result_is_answered_as_stored():
    stored = {"exercise": {"label": "pushup", "confidence": 0.9,
                           "candidates": [{"label": "pushup", "confidence": 0.9}]},
              "rep_count": 1,
              "reps": [{"index": 1, "start_s": 0, "end_s": 1, "rom_deg": 80,
                        "angles": {"left_knee": {"user": 90, "reference": 80.5, "diff": 9.5}},
                        "issues": [{"joint": "left_knee", "threshold": 25.0}]}],
              "form": {"verdict": "good", "score": None, "near": "left",
                       "findings": [{"rep_index": None, "criterion": "c", "message": "m"}]},
              "feedback": [], "a_later_key": {"x": [1, 2]}, "performed": {"reps": 3}}
    assert AnalysisResultSchema().dump(stored) == stored
    row = {"id": "a", "status": "succeeded", "created_at": dt.datetime(2026, 1, 1)}
    assert AnalysisSchema().dump({**row, "result": stored})["result"] == stored
    assert AnalysisSchema().dump({**row, "result": None})["result"] is None


@pytest.mark.parametrize(("schema", "field", "values"), [
    ("Job", "status", {"queued", "running", "succeeded", "failed", "canceled"}),
    ("JobAccepted", "status", {"queued", "running", "succeeded", "failed", "canceled"}),
    ("Plan", "status", {"active", "superseded", "completed"}),
    ("Delivery", "status", {"pending", "sending", "delivered", "failed", "canceled"}),
    ("Analysis", "status", {"queued", "running", "succeeded", "failed", "canceled"}),
    ("Analysis", "source", {"video", "image", "keypoints"}),
])
def test_statuses_are_enums(schemas, schema, field, values):
    assert set(schemas[schema]["properties"][field]["enum"]) == values


def test_nullable_nested_objects_are_one_reference(schemas):
    for schema, field, target in (("Job", "error", "JobError"),
                                  ("Plan", "feedback", "PlanFeedbackOut")):
        prop = schemas[schema]["properties"][field]
        assert prop == {"allOf": [{"$ref": f"#/components/schemas/{target}"}],
                        "nullable": True}


def test_a_nullable_enum_has_no_null_member(schemas):
    verdict = schemas["ResultPerformed"]["properties"]["form_verdict"]
    assert verdict["nullable"] is True
    assert verdict["anyOf"] == [{"type": "string", "enum": ["good", "faulty", "uncertain"]}]


def test_only_request_bodies_forbid_unknown_fields(schemas):
    closed = {name for name, s in schemas.items() if s.get("additionalProperties") is False}
    assert {"Register", "Feedback", "KeypointAnalysis", "Profile"} <= closed
    assert not closed & {"Job", "Plan", "Analysis", "Error", "Webhook", "PatientSummary"}


def test_patient_summaries_are_typed(schemas):
    props = schemas["PatientSummary"]["properties"]
    assert {field: _ref(props[field]) for field in (
        "profile", "current_plan", "last_feedback", "last_analysis", "adherence")} == {
        "profile": "PatientProfile", "current_plan": "PatientPlan",
        "last_feedback": "PatientFeedback", "last_analysis": "PatientAnalysis",
        "adherence": "AdherenceSummary"}
    assert schemas["PatientPlan"]["properties"]["status"]["enum"] == [
        "active", "superseded", "completed"]


def test_one_patient_is_a_documented_read(spec):
    op = spec["paths"]["/api/v1/clinic/patients/{user_id}"]["get"]
    assert op["operationId"] == "get_clinic_patients_user_id"
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PatientSummary")


def test_every_camera_check_measure_has_its_detail():
    from domain.video.movement import load_camera_checks
    from web.schemas.exercises import MeasureSchema

    kinds = set(MeasureSchema().fields["kind"].validate.choices)
    for check in load_camera_checks().values():
        summary = check.summary()
        detail = summary["measures_detail"]
        assert [d["kind"] for d in detail] == [m.split(":")[0] for m in summary["measures"]]
        assert {d["kind"] for d in detail} <= kinds and all(d["unit"] for d in detail)
        for d in detail:
            if d["kind"] in ("range_of_motion", "position"):
                assert d["name"] and d["signal"], check.exercise_id
