"""Every endpoint of the served OpenAPI document × every role, against someone else's objects:
401 for anonymous callers, 404 (or 403 for a role check) for everyone else, never the data."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.test_jobs_and_plans import make_plan
from tests.faults.conftest import assert_error_shape, create_user, register
from tests.support.stack import Client, wait_until

pytestmark = pytest.mark.faults

#: (method, path) that act on the caller's own account only; not someone else's object
OWN_ONLY = {("DELETE", "/api/v1/me"), ("PATCH", "/api/v1/me"), ("DELETE", "/api/v1/clinic"),
            ("PUT", "/api/v1/profile"), ("POST", "/api/v1/plans"), ("POST", "/api/v1/readiness"),
            ("POST", "/api/v1/videos"), ("POST", "/api/v1/analyses"),
            ("POST", "/api/v1/webhooks"), ("POST", "/api/v1/clinics"),
            ("POST", "/api/v1/clinic/join"),
            # ends the caller's own session; it touches nobody else's objects
            ("POST", "/api/v1/auth/logout")}
BODIES = {("POST", "/api/v1/plans/{plan_id}/feedback"): {"rating": "easy"},
          ("PATCH", "/api/v1/webhooks/{endpoint_id}"): {"description": "pwned"},
          ("POST", "/api/v1/ops/reprocess"): {}}


@pytest.fixture(scope="module")
def world(shared_stack, shared_data):
    stack = shared_stack
    clinician_x, clinician_y = create_user(stack, "clinician"), create_user(stack, "clinician")
    clinic_x = clinician_x.post("/api/v1/clinics", json={"name": "Clinic X"}).json()
    clinician_y.post("/api/v1/clinics", json={"name": "Clinic Y"})
    owner = register(stack)
    assert owner.post("/api/v1/clinic/join",
                      json={"invite_code": clinic_x["invite_code"]}).status_code == 200
    plan = make_plan(owner)
    feedback = owner.post(f"/api/v1/plans/{plan['id']}/feedback",
                          json={"rating": "too_difficult", "note": "owner-secret-note"})
    assert feedback.status_code == 202, feedback.text
    assert owner.wait_job(feedback.json()["job_id"])["status"] == "succeeded"
    readiness = owner.post("/api/v1/readiness",
                           json={"sleep_hours": 7.5, "resting_hr": 58, "hrv_ms": 61})
    assert readiness.status_code == 201, readiness.text
    frames = json.loads((shared_data / "pushfit_sample" / "correct2.json").read_text())
    analysis = owner.post("/api/v1/analyses", json={
        "fps": 25, "width": 640, "height": 360, "layout": "coco17",
        "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]})
    assert analysis.status_code == 202, analysis.text
    assert owner.wait_job(analysis.json()["job_id"])["status"] == "succeeded"
    hook = owner.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/owner-hook",
                                                "events": ["plan.generated"],
                                                "description": "owner-hook"})
    assert hook.status_code == 201, hook.text
    hook = hook.json()
    test = owner.post(f"/api/v1/webhooks/{hook['id']}/test")
    assert test.status_code == 202, test.text
    jobs = owner.get("/api/v1/jobs").json()
    ids = {"plan_id": plan["id"], "day": "1", "analysis_id": analysis.json()["id"],
           "job_id": jobs[0]["id"], "endpoint_id": hook["id"], "delivery_id": test.json()["id"],
           "exercise_id": owner.get("/api/v1/exercises").json()[0]["id"],
           "user_id": owner.user_id}
    return {"stack": stack, "owner": owner, "ids": ids, "hook": hook, "plan": plan,
            "clinician_x": clinician_x,
            "roles": {"patient": register(stack), "clinician_other_clinic": clinician_y,
                      "ops": create_user(stack, "ops")}}


def operations(client: Client) -> list[tuple[str, str, dict]]:
    spec = client.get("/api/v1/openapi.json").json()
    ops = []
    for path, items in spec["paths"].items():
        for method, op in items.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method.upper(), path, op))
    assert len(ops) > 30
    return ops


def fill(path: str, ids: dict) -> str:
    names = re.findall(r"{(\w+)}", path)
    unknown = [n for n in names if n not in ids]
    assert not unknown, f"new path parameter(s) {unknown} in {path}: add an owner's object"
    return re.sub(r"{(\w+)}", lambda m: ids[m.group(1)], path)


def leaks(text: str, world) -> list[str]:
    owner = world["owner"]
    secrets = [owner.user_id, owner.email, world["hook"]["secret"], "owner-secret-note",
               *[v for k, v in world["ids"].items() if k not in ("day", "exercise_id")]]
    return [s for s in secrets if s in text]


def test_authorization_matrix(world):
    stack, ids = world["stack"], world["ids"]
    anon = Client(stack.url)
    owner_id = world["owner"].user_id
    problems, checked = [], 0
    for method, path, op in operations(anon):
        if not op.get("security"):
            continue  # public: register, token
        url = fill(path, ids) if "{" in path else path
        body = BODIES.get((method, path))
        kwargs = {"json": body} if body is not None else {}
        response = anon.request(method, url, **kwargs)
        checked += 1
        if response.status_code != 401:
            problems.append(("anonymous", method, url, response.status_code))
        else:
            assert_error_shape(response)
        if (method, path) in OWN_ONLY or path.startswith("/api/v1/exercises") or \
                path == "/api/v1/equipment":
            continue
        params = {p["name"] for p in op.get("parameters", [])}
        for role, client in world["roles"].items():
            if path.startswith("/api/v1/ops/") and role == "ops":
                continue  # their own function
            query = {"user_id": owner_id} if "user_id" in params else None
            if path == "/api/v1/videos" and method == "GET":
                query = {"user_id": owner_id}  # used by the view, though undocumented
            response = client.request(method, url, params=query,
                                      json={"user_id": owner_id, **body}
                                      if path == "/api/v1/ops/reprocess" else body)
            checked += 1
            found = leaks(response.text, world)
            if found:
                problems.append((role, method, url, response.status_code, "LEAK", found))
            if "{" in path or query or path.startswith("/api/v1/ops/"):
                if response.status_code not in (403, 404):
                    problems.append((role, method, url, response.status_code))
                else:
                    assert_error_shape(response)
            elif response.status_code >= 500:
                problems.append((role, method, url, response.status_code))
    assert checked > 100
    assert not problems, "authorization holes:\n" + "\n".join(map(str, problems))

    # The owner's objects are untouched by all of the above.
    owner = world["owner"]
    hook = owner.get(f"/api/v1/webhooks/{ids['endpoint_id']}")
    assert hook.status_code == 200 and hook.json()["description"] == "owner-hook"
    plan = owner.get(f"/api/v1/plans/{ids['plan_id']}").json()
    assert not plan["days"][0]["completed"]
    assert owner.get(f"/api/v1/analyses/{ids['analysis_id']}").status_code == 200
    # And the owner's own clinician can read (the matrix is not passing by refusing everyone).
    clinician = world["clinician_x"]
    assert clinician.get(f"/api/v1/plans/{ids['plan_id']}").status_code == 200
    assert clinician.get("/api/v1/profile", params={"user_id": owner_id}).status_code == 200
    wait_until(lambda: True, 1)
