"""Webhooks to real HTTP receivers on loopback, clinics, and ops batch reprocessing."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from tests.e2e.test_jobs_and_plans import make_plan
from tests.support.stack import BIN, ROOT, Client, wait_until


class Receiver:
    """A real HTTP server on 127.0.0.1 that records deliveries and answers as scripted."""

    def __init__(self, answers: list[int] | None = None, default: int = 200, port: int = 0):
        self.answers, self.default = list(answers or []), default
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append({"headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if receiver.answers else receiver.default
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    made = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def verify(secret: str, delivery: dict) -> dict:
    headers = {k.lower(): v for k, v in delivery["headers"].items()}
    return Webhook(secret).verify(delivery["body"], headers)


def test_registration_validation(patient: Client):
    for body in ({"url": "ftp://x.example/hook", "events": ["plan.generated"]},
                 {"url": "not a url", "events": ["plan.generated"]},
                 {"url": "http://127.0.0.1/hook", "events": ["no.such.event"]},
                 {"url": "http://127.0.0.1/hook", "events": []}):
        response = patient.post("/api/v1/webhooks", json=body)
        assert response.status_code == 422, (body, response.text)


def test_signed_delivery_and_rotation(patient: Client, receiver):
    hook = receiver()
    created = patient.post("/api/v1/webhooks", json={"url": hook.url,
                                                     "events": ["plan.generated"]})
    assert created.status_code == 201
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert "secret" not in patient.get(f"/api/v1/webhooks/{endpoint['id']}").json()

    plan = make_plan(patient)
    wait_until(lambda: hook.received, 30, message="delivery")
    payload = verify(endpoint["secret"], hook.received[0])
    assert payload["type"] == "plan.generated" and payload["data"]["plan_id"] == plan["id"]

    rotated = patient.post(f"/api/v1/webhooks/{endpoint['id']}/rotate-secret").json()
    assert rotated["secret"] != endpoint["secret"]
    test = patient.post(f"/api/v1/webhooks/{endpoint['id']}/test")
    assert test.status_code == 202
    wait_until(lambda: len(hook.received) >= 2, 30, message="test delivery")
    # During the overlap both the old and the new secret verify the same delivery.
    assert verify(rotated["secret"], hook.received[1])["type"] == "webhook.test"
    assert verify(endpoint["secret"], hook.received[1])["type"] == "webhook.test"

    deliveries = patient.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()
    first = [d for d in deliveries if d["event_type"] == "plan.generated"][0]
    assert first["status"] == "delivered" and first["log"][0]["status_code"] == 200
    redo = patient.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{first['id']}/redeliver")
    assert redo.status_code == 202
    wait_until(lambda: len(hook.received) >= 3, 30, message="redelivery")
    assert hook.received[2]["headers"]["webhook-id"] == hook.received[0]["headers"]["webhook-id"]


def test_retries_then_delivered(patient: Client, receiver):
    hook = receiver(answers=[500, 503])
    endpoint = patient.post("/api/v1/webhooks", json={"url": hook.url,
                                                      "events": ["plan.generated"]}).json()
    make_plan(patient)
    wait_until(lambda: len(hook.received) >= 3, 60, message="three attempts")
    ids = {r["headers"]["webhook-id"] for r in hook.received}
    assert len(ids) == 1  # the same message id on every retry

    def delivered():
        rows = patient.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries").json()
        return rows and rows[0]["status"] == "delivered" and rows[0]

    row = wait_until(delivered, 30, message="delivered")
    assert [a["status_code"] for a in row["log"]] == [500, 503, 200]


def test_gone_disables_endpoint(patient: Client, receiver):
    hook = receiver(default=410)
    endpoint = patient.post("/api/v1/webhooks", json={"url": hook.url,
                                                      "events": ["plan.generated"]}).json()
    make_plan(patient)

    def disabled():
        body = patient.get(f"/api/v1/webhooks/{endpoint['id']}").json()
        return body if not body["enabled"] else None

    body = wait_until(disabled, 30, message="endpoint disabled")
    assert "410" in body["disabled_reason"]
    assert len(hook.received) == 1


def test_clinic_flow(stack, anon: Client, receiver):
    email = f"clin-{time.time_ns()}@example.com"
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
                    "--password", "clinician-pass-1", "--role", "clinician"], cwd=ROOT,
                   env=stack.env, check=True, capture_output=True)
    clinician = anon.login(email, "clinician-pass-1")
    clinic = clinician.post("/api/v1/clinics", json={"name": "Knee Clinic"}).json()
    hook = receiver()
    endpoint = clinician.post("/api/v1/webhooks", json={
        "url": hook.url, "events": ["plan.generated"], "scope": "clinic"}).json()

    patient = anon.register()
    stranger = anon.register()
    assert patient.post("/api/v1/clinic/join",
                        json={"invite_code": clinic["invite_code"]}).status_code == 200
    plan = make_plan(patient)
    make_plan(stranger)
    patient_id = patient.get("/api/v1/me").json()["id"]
    stranger_id = stranger.get("/api/v1/me").json()["id"]

    patients = clinician.get("/api/v1/clinic/patients").json()
    assert [p["id"] for p in patients] == [patient_id]
    assert patients[0]["current_plan"]["id"] == plan["id"]
    assert clinician.get("/api/v1/profile", params={"user_id": patient_id}).status_code == 200
    assert clinician.get(f"/api/v1/plans/{plan['id']}").status_code == 200
    # Read-only: a clinician cannot act on the patient's plan.
    assert clinician.post(f"/api/v1/plans/{plan['id']}/feedback",
                          json={"rating": "easy"}).status_code == 404
    # Nobody else's patients.
    assert clinician.get("/api/v1/profile", params={"user_id": stranger_id}).status_code == 404

    wait_until(lambda: hook.received, 30, message="clinic delivery")
    payload = verify(endpoint["secret"], hook.received[0])
    assert payload["data"]["plan_id"] == plan["id"]
    assert all(json.loads(r["body"])["data"]["plan_id"] == plan["id"] for r in hook.received)

    assert patient.delete("/api/v1/clinic").status_code == 204
    assert clinician.get("/api/v1/profile", params={"user_id": patient_id}).status_code == 404


def test_ops_reprocess_twice(stack, anon: Client, patient: Client, shared_data):
    frames = json.loads((shared_data / "pushfit_sample" / "correct3.json").read_text())
    body = {"fps": 25, "width": 640, "height": 360, "layout": "coco17",
            "frames": [[[k["x"], k["y"], k["score"]] for k in f["keypoints"]] for f in frames]}
    first = patient.post("/api/v1/analyses", json=body).json()
    assert patient.wait_job(first["job_id"])["status"] == "succeeded"

    email = f"ops-{time.time_ns()}@example.com"
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "users", "create", "--email", email,
                    "--password", "ops-password-1", "--role", "ops"], cwd=ROOT, env=stack.env,
                   check=True, capture_output=True)
    ops = anon.login(email, "ops-password-1")
    assert patient.post("/api/v1/ops/reprocess", json={}).status_code == 403
    models = ops.get("/api/v1/ops/models").json()
    assert models["classifier"]["active"] and models["plans"]["active"]

    user_id = patient.get("/api/v1/me").json()["id"]
    # As if the analysis had been made by older models: the first batch must redo it.
    stack.execute_sql("DELETE FROM analysis_results WHERE analysis_id = :id", {"id": first["id"]})
    counts = []
    for _ in range(2):
        batch = ops.post("/api/v1/ops/reprocess", json={"user_id": user_id})
        assert batch.status_code == 202
        job = ops.wait_job(batch.json()["job_id"], timeout=120)
        assert job["status"] == "succeeded", job
        history = patient.get(f"/api/v1/analyses/{first['id']}").json()["history"]
        counts.append((job["result"], len(history)))
    assert counts[0][0]["reprocessed"] == 1 and counts[0][1] == 1
    # The second run finds a result from the current models: nothing is duplicated.
    assert counts[1][0]["reprocessed"] == 0 and counts[1][0]["skipped"] == 1
    assert counts[1][1] == 1

    # The same batch from the command line, as ops scripts run it.
    run = subprocess.run([str(BIN / "flask"), "--app", "wsgi", "ops", "reprocess", "--user",
                          user_id, "--ops-email", email], cwd=ROOT, env=stack.env,
                         capture_output=True, text=True, check=True)
    batch_id = run.stdout.split("batch job ")[1].split()[0]
    job = ops.wait_job(batch_id, timeout=120)
    assert job["status"] == "succeeded" and job["result"]["skipped"] == 1
