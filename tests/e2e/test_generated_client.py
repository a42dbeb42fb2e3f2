"""A Python client generated (openapi-python-client) from the OpenAPI document a real running
stack serves drives the main flow: register, sign in, profile, plan job, keypoint analysis job,
result, refresh, logout. No hand-written HTTP: if the document is wrong, the client is."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
import uuid
from http import HTTPStatus
from pathlib import Path

import pytest
import requests

from tests.support.stack import BIN, wait_until

PACKAGE = "rehab_client"
PROFILE = {"sex": "female", "age": 24, "height_cm": 168, "weight_kg": 62,
           "fitness_level": "beginner", "injury": "acl", "equipment": [], "workouts_per_week": 3}


@pytest.fixture(scope="module")
def generated(stack, tmp_path_factory):
    """Generate the client from the served document (offline: the generator only reads the
    file) into a temporary folder, and import it."""
    out = tmp_path_factory.mktemp("generated")
    spec = out / "openapi.json"
    served = requests.get(stack.url + "/api/v1/openapi.json", timeout=30)
    assert served.status_code == 200
    spec.write_text(served.text)
    config = out / "config.json"
    # no post hooks (the default runs ruff on the output; not needed to import it)
    config.write_text(json.dumps({"post_hooks": [], "package_name_override": PACKAGE,
                                  "project_name_override": PACKAGE}))
    run = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(spec), "--config",
         str(config), "--meta", "none", "--output-path", str(out / PACKAGE)],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    # The generator warns about every part of the document it could not turn into code.
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _api(name: str):
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _model(name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def _wait_job(client, job_id: str, timeout: float = 180):
    get_job = _api("jobs.get_jobs_job_id")

    def ended():
        job = get_job.sync(job_id=job_id, client=client)
        return job if job.status.value in ("succeeded", "failed", "canceled") else None

    return wait_until(ended, timeout, interval=0.3, message=f"job {job_id} ended")


def test_generated_client_drives_the_main_flow(stack, generated, shared_data):
    Client, AuthenticatedClient = generated.Client, generated.AuthenticatedClient
    anon = Client(base_url=stack.url, raise_on_unexpected_status=True)
    email, password = f"gen-{uuid.uuid4().hex[:10]}@example.com", "correct-horse-1"

    user = _api("accounts.post_auth_register").sync(
        client=anon, body=_model("Register")(email=email, password=password))
    assert user.email == email and user.role == "patient"
    pair = _api("accounts.post_auth_token").sync(
        client=anon, body=_model("TokenRequest")(email=email, password=password))
    assert pair.token_type == "bearer" and pair.refresh_token and pair.expires_in > 0
    me = AuthenticatedClient(base_url=stack.url, token=pair.access_token,
                             raise_on_unexpected_status=True)
    assert _api("accounts.get_me").sync(client=me).id == user.id

    profile = _api("profile.put_profile").sync(client=me, body=_model("Profile").from_dict(PROFILE))
    assert profile.bmi and abs(profile.bmi - 62 / 1.68**2) < 0.1

    accepted = _api("plans.post_plans").sync(client=me, idempotency_key=uuid.uuid4().hex)
    job = _wait_job(me, accepted.job_id)
    assert job.status.value == "succeeded", job.error
    plan_id = job.result["plan_id"]
    plan = _api("plans.get_plans_plan_id").sync(plan_id=plan_id, client=me)
    assert plan.id == plan_id and plan.days and plan.days[0].exercises
    assert plan.days[0].exercises[0].reasons
    current = _api("plans.get_plans_current").sync_detailed(client=me)
    assert current.status_code == HTTPStatus.OK and current.parsed.id == plan_id
    unchanged = _api("plans.get_plans_current").sync_detailed(
        client=me, if_none_match=current.headers["ETag"])
    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED

    frames = json.loads((shared_data / "pushfit_sample" / "correct2.json").read_text())
    body = _model("KeypointAnalysis").from_dict({
        "fps": 25, "width": 640, "height": 360, "layout": "coco17",
        "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]})
    started = _api("videos.post_analyses").sync(client=me, body=body)
    assert started.id and started.job_id
    job = _wait_job(me, started.job_id)
    assert job.status.value == "succeeded", job.error
    analysis = _api("videos.get_analyses_analysis_id").sync(analysis_id=started.id, client=me)
    assert analysis.status.value == "succeeded"
    # the result parsed into typed models, and back to exactly what the server answered
    typed = analysis.result
    assert isinstance(typed, _model("AnalysisResult"))
    assert isinstance(typed.exercise, _model("ResultExercise"))
    assert typed.exercise.label == "pushup" and typed.rep_count >= 1
    assert all(isinstance(rep, _model("ResultRep")) for rep in typed.reps)
    assert isinstance(typed.form.verdict, _model("ResultFormVerdict"))
    served = requests.get(f"{stack.url}/api/v1/analyses/{started.id}", timeout=30,
                          headers={"Authorization": f"Bearer {pair.access_token}"}).json()
    result = typed.to_dict()
    assert result == served["result"]
    assert len(result["reps"]) == result["rep_count"]
    assert result["form"]["verdict"] in ("good", "faulty", "uncertain")

    # a week rated doable with pain 6/10: stored, shown, and adapted as discomfort
    rated = _api("plans.post_plans_plan_id_feedback").sync(
        plan_id=plan_id, client=me, idempotency_key=uuid.uuid4().hex,
        body=_model("Feedback")(rating=_model("FeedbackRating")("doable"), pain=6))
    job = _wait_job(me, rated.job_id)
    assert job.status.value == "succeeded", job.error
    shown = _api("plans.get_plans_plan_id").sync(plan_id=plan_id, client=me)
    assert shown.feedback.pain == 6 and shown.status.value == "completed"
    following = _api("plans.get_plans_plan_id").sync(plan_id=job.result["plan_id"], client=me)
    assert any("pain 6/10" in note for note in following.notes)

    csv_text = _api("reports.get_analyses_analysis_id_reps_csv").sync(
        analysis_id=started.id, client=me)
    assert isinstance(csv_text, str) and csv_text.startswith("analysis_id,exercise,rep_index")
    assert csv_text.count("\r\n") == result["rep_count"] + 1
    report = _api("reports.get_plans_plan_id_report_html").sync(plan_id=plan_id, client=me)
    assert isinstance(report, str) and "training days completed" in report

    # an error comes back as the documented Error model, with the request id to quote
    missing = AuthenticatedClient(base_url=stack.url, token=pair.access_token)
    answer = _api("plans.get_plans_plan_id").sync_detailed(plan_id="nope", client=missing)
    assert answer.status_code == HTTPStatus.NOT_FOUND
    assert answer.parsed.code == "not_found"
    assert answer.parsed.request_id == answer.headers["X-Request-Id"]

    renewed = _api("accounts.post_auth_refresh").sync(
        client=anon, body=_model("RefreshRequest")(refresh_token=pair.refresh_token))
    assert renewed.refresh_token != pair.refresh_token
    again = AuthenticatedClient(base_url=stack.url, token=renewed.access_token,
                                raise_on_unexpected_status=True)
    logout = _api("accounts.post_auth_logout").sync_detailed(client=again)
    assert logout.status_code == HTTPStatus.NO_CONTENT
    time.sleep(0.01)
    after = _api("accounts.get_me").sync_detailed(
        client=AuthenticatedClient(base_url=stack.url, token=renewed.access_token))
    assert after.status_code == HTTPStatus.UNAUTHORIZED


def test_generated_client_has_a_function_per_operation(stack, generated):
    spec = requests.get(stack.url + "/api/v1/openapi.json", timeout=30).json()
    root = Path(generated.__file__).parent / "api"
    functions = {p.stem for p in root.rglob("*.py") if p.stem != "__init__"}
    operations = {op["operationId"] for ops in spec["paths"].values()
                  for method, op in ops.items() if method in ("get", "post", "put", "patch",
                                                               "delete")}
    assert operations <= functions, sorted(operations - functions)
