"""A clinic's receiver down for a long outage: deliveries resume on schedule afterwards.

The retry schedule is the real one's shape, in hours; the test controls the clock by moving a
delivery's next attempt time into the past, as if the hours had gone by, and the beat sweeper
(every second here) sends what is due.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.test_jobs_and_plans import make_plan
from tests.e2e.test_webhooks_clinics_ops import Receiver, verify
from tests.faults.conftest import query, register, running_stack
from tests.support.stack import free_port, wait_until

pytestmark = pytest.mark.faults

HOURS = "0,3600,7200,18000,36000"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    env = {"WEBHOOK_RETRY_SCHEDULE": HOURS, "WEBHOOK_SWEEP_INTERVAL_S": "1"}
    with running_stack(tmp_path_factory.mktemp("faults-outage"), beat=True,
                       extra_env=env) as running:
        yield running


def delivery(client, endpoint_id: str) -> dict:
    return client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries").json()[0]


def advance_clock(stack, delivery_id: str) -> None:
    """As if the wait until the next attempt had passed."""
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    stack.execute_sql("UPDATE webhook_deliveries SET next_attempt_at = :t WHERE id = :id",
                      {"t": past, "id": delivery_id})


def test_deliveries_resume_after_a_long_outage(stack):
    client = register(stack)
    port = free_port()  # nothing listens there yet: the receiver is down
    created = client.post("/api/v1/webhooks", json={
        "url": f"http://127.0.0.1:{port}/hook", "events": ["plan.generated"]}).json()
    make_plan(client)

    first = wait_until(lambda: (d := delivery(client, created["id"]))["attempts"] == 1 and d,
                       30, message="first attempt")
    assert first["status"] == "pending" and first["log"][0]["error_code"] == "connection_error"
    wait_s = (datetime.fromisoformat(first["next_attempt_at"])
              - datetime.fromisoformat(first["log"][0]["attempted_at"])).total_seconds()
    assert 3600 * 0.85 <= wait_s <= 3600 * 1.15  # the schedule, with ±10% jitter

    time.sleep(4)  # several sweeps: nothing is sent before its time
    assert delivery(client, created["id"])["attempts"] == 1

    advance_clock(stack, first["id"])  # an hour later, still down
    second = wait_until(lambda: (d := delivery(client, created["id"]))["attempts"] == 2 and d,
                        30, message="second attempt")
    assert second["status"] == "pending"

    receiver = Receiver(port=port)
    try:
        advance_clock(stack, first["id"])  # two hours later the receiver is back
        done = wait_until(lambda: (d := delivery(client, created["id"]))["status"] ==
                          "delivered" and d, 30, message="delivered after the outage")
        assert [a["error_code"] for a in done["log"]] == ["connection_error",
                                                          "connection_error", None]
        assert len(receiver.received) == 1
        assert verify(created["secret"], receiver.received[0])["type"] == "plan.generated"
        endpoint = client.get(f"/api/v1/webhooks/{created['id']}").json()
        assert endpoint["enabled"] is True
    finally:
        receiver.close()
    rows = query(stack, "SELECT COUNT(*) AS n FROM webhook_attempts")
    assert rows[0]["n"] == 3

