"""A stack started the way `make run` starts it: no SECRET_KEY, no test opt-in, default schedule.

Checks the signing key (generated once in VAR_DIR, 0600, shared by every process, stable across
restarts; a token forged with the public development key is refused; a process given that key
refuses to start), webhook secrets at rest (never plain in the database; signatures still verify
with the standardwebhooks library; the old secret is forgotten once its overlap ends), the
Standard Webhooks retry schedule (5 s, then 5 min), and a patient leaving a clinic.

The clock is controlled as in test_stack_webhook_outage.py: a delivery's next attempt time is
moved into the past, and the beat sweeper (every second here) sends what is due.
"""

from __future__ import annotations

import stat
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from standardwebhooks import WebhookVerificationError

from config import DEVELOPMENT_SECRET_KEY
from domain.accounts import issue_token
from tests.e2e.test_jobs_and_plans import make_plan
from tests.e2e.test_webhooks_clinics_ops import Receiver, verify
from tests.faults.conftest import create_user, query, register, running_stack
from tests.support.stack import BIN, ROOT, Stack, free_port, wait_until

pytestmark = pytest.mark.faults


@dataclass
class MakeRunStack(Stack):
    """Every process sees what `make run` gives it: nothing about the key or the schedule."""

    @property
    def env(self) -> dict:
        env = super().env
        for name in ("SECRET_KEY", "ALLOW_DEVELOPMENT_SECRET_KEY", "SECRET_KEY_FALLBACKS",
                     "WEBHOOK_RETRY_SCHEDULE", "WEBHOOK_TIMEOUT_S"):
            env.pop(name, None)
        env["WEBHOOK_SWEEP_INTERVAL_S"] = "1"
        return env


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("faults-secrets"), beat=True,
                       stack_class=MakeRunStack) as running:
        yield running


def key_file(stack) -> str:
    path = stack.base_dir / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, oct(path.stat().st_mode)
    return path.read_text()


def deliveries(client, endpoint_id: str) -> list[dict]:
    return client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries").json()


def advance_clock(stack, delivery_id: str) -> None:
    """As if the wait until the next attempt had passed."""
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    stack.execute_sql("UPDATE webhook_deliveries SET next_attempt_at = :t WHERE id = :id",
                      {"t": past, "id": delivery_id})


def stored_secrets(stack, endpoint_id: str) -> dict:
    return query(stack, "SELECT secret, previous_secret FROM webhook_endpoints WHERE id = :id",
                 {"id": endpoint_id})[0]


def test_the_key_is_private_and_a_token_forged_with_the_public_key_is_refused(stack):
    key = key_file(stack)
    assert len(key.strip()) >= 48 and DEVELOPMENT_SECRET_KEY not in key
    client = register(stack)
    assert client.get("/api/v1/me").status_code == 200
    forged = issue_token(DEVELOPMENT_SECRET_KEY, client.user_id, 0, 3600)
    response = requests.get(stack.url + "/api/v1/me", timeout=10,
                            headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401, response.text

    stack.stop_process("web")  # a restart reuses the key: tokens issued before still work
    stack.start_web()
    assert key_file(stack) == key
    assert client.get("/api/v1/me").status_code == 200
    assert requests.get(stack.url + "/api/v1/me", timeout=10, headers={
        "Authorization": f"Bearer {forged}"}).status_code == 401


def test_processes_given_the_public_key_refuse_to_start(stack):
    env = dict(stack.env, SECRET_KEY=DEVELOPMENT_SECRET_KEY)
    web = subprocess.run([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{free_port()}",
                          "--workers", "1", "wsgi:app"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert web.returncode != 0
    assert "SECRET_KEY is the public development key" in web.stdout + web.stderr
    migrate = subprocess.run([str(BIN / "alembic"), "upgrade", "head"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    assert migrate.returncode != 0 and "public development key" in migrate.stderr


def test_secret_encrypted_at_rest_and_the_spec_retry_schedule(stack):
    client = register(stack)
    hook = Receiver(answers=[500, 500])  # fails twice, then answers 200
    try:
        created = client.post("/api/v1/webhooks", json={"url": hook.url,
                                                        "events": ["plan.generated"]}).json()
        stored = stored_secrets(stack, created["id"])["secret"]
        assert stored.startswith("fernet:v1:") and "whsec_" not in stored
        assert created["secret"].removeprefix("whsec_") not in stored

        make_plan(client)
        second = wait_until(lambda: (d := deliveries(client, created["id"])[0])["attempts"] == 2
                            and d, 60, message="two failed attempts")
        first_at, second_at = (datetime.fromisoformat(a["attempted_at"]) for a in second["log"])
        assert 4.5 <= (second_at - first_at).total_seconds() <= 10  # 5 s after the first
        wait_s = (datetime.fromisoformat(second["next_attempt_at"]) - first_at).total_seconds()
        assert 0.9 * 300 + 4.5 <= wait_s <= 1.1 * 300 + 10  # then 5 min: ~5 min after the first

        advance_clock(stack, second["id"])
        done = wait_until(lambda: (d := deliveries(client, created["id"])[0])["status"] ==
                          "delivered" and d, 30, message="delivered on the third attempt")
        assert [a["status_code"] for a in done["log"]] == [500, 500, 200]
        # The web process encrypted the secret, a worker decrypted it to sign: one key for all.
        assert verify(created["secret"], hook.received[2])["type"] == "plan.generated"
    finally:
        hook.close()


def test_the_previous_secret_is_forgotten_when_its_overlap_ends(stack):
    client = register(stack)
    hook = Receiver()
    try:
        created = client.post("/api/v1/webhooks", json={"url": hook.url,
                                                        "events": ["plan.generated"]}).json()
        rotated = client.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()
        row = stored_secrets(stack, created["id"])
        assert all(v.startswith("fernet:v1:") and "whsec_" not in v for v in row.values())
        assert client.post(f"/api/v1/webhooks/{created['id']}/test").status_code == 202
        wait_until(lambda: len(hook.received) == 1, 30, message="test delivery")
        assert verify(created["secret"], hook.received[0]) and verify(rotated["secret"],
                                                                      hook.received[0])

        past = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)  # 24 h later
        stack.execute_sql("UPDATE webhook_endpoints SET previous_secret_expires_at = :t "
                          "WHERE id = :id", {"t": past, "id": created["id"]})
        wait_until(lambda: stored_secrets(stack, created["id"])["previous_secret"] is None, 30,
                   message="the sweeper forgets the old secret")
        assert client.post(f"/api/v1/webhooks/{created['id']}/test").status_code == 202
        wait_until(lambda: len(hook.received) == 2, 30, message="second test delivery")
        assert verify(rotated["secret"], hook.received[1])
        with pytest.raises(WebhookVerificationError):
            verify(created["secret"], hook.received[1])
    finally:
        hook.close()


def test_a_patient_who_leaves_a_clinic_stops_reaching_it(stack):
    clinician = create_user(stack, "clinician")
    clinic = clinician.post("/api/v1/clinics", json={"name": "Knee Clinic"}).json()
    clinic_hook, own_hook = Receiver(default=503), Receiver()  # the clinic's is down
    try:
        clinic_endpoint = clinician.post("/api/v1/webhooks", json={
            "url": clinic_hook.url, "events": ["plan.generated"], "scope": "clinic"}).json()
        patient = register(stack)
        assert patient.post("/api/v1/clinic/join",
                            json={"invite_code": clinic["invite_code"]}).status_code == 200
        patient.post("/api/v1/webhooks", json={"url": own_hook.url,
                                               "events": ["plan.generated"]})
        make_plan(patient)
        pending = wait_until(lambda: (d := deliveries(clinician, clinic_endpoint["id"]))
                             and d[0]["attempts"] >= 1 and d[0], 30, message="clinic attempt")
        assert pending["status"] == "pending"  # a retry is scheduled

        assert patient.delete("/api/v1/clinic").status_code == 204
        sent_to_clinic = len(clinic_hook.received)
        row = deliveries(clinician, clinic_endpoint["id"])[0]
        assert row["status"] == "canceled" and "no longer in this clinic" in row["last_error"]
        advance_clock(stack, row["id"])  # its retry time comes: nothing is sent

        make_plan(patient)  # a new event after leaving: the patient's own endpoint only
        wait_until(lambda: len(own_hook.received) == 2, 30, message="own endpoint, twice")
        time.sleep(7)  # past the 5 s retry and several sweeps
        assert len(clinic_hook.received) == sent_to_clinic
        assert len(deliveries(clinician, clinic_endpoint["id"])) == 1
    finally:
        clinic_hook.close()
        own_hook.close()
