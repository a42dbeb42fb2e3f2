"""The delivery task with a controlled clock: the spec's retry schedule, and clinic membership.

`tasks.webhooks.deliver` runs for real against a real receiver on loopback and a migrated
SQLite database; the clock is a fake (`tasks.webhooks.utcnow`) and the broker is replaced by a
recorder of the countdown tasks the worker would have sent.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from standardwebhooks import Webhook

from domain.webhooks import signing
from domain.webhooks.audience import LEFT_CLINIC, may_receive
from domain.webhooks.schedule import DEFAULT_RETRY_SCHEDULE
from models import Clinic, Event, User, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models.base import as_utc, utcnow
from tests.unit.tasks import conftest as task_fixtures

db = task_fixtures.db  # the migrated SQLite database that models.db sessions use


class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    import tasks.webhooks

    # Start in the past so the timestamps the receiver checks stay within its 5 min tolerance.
    fake = Clock(utcnow() - timedelta(minutes=5))
    monkeypatch.setattr(tasks.webhooks, "utcnow", fake)
    return fake


@pytest.fixture
def sent(db, monkeypatch) -> list[tuple]:
    """The countdown tasks and fan-out messages the worker would send to the broker."""
    import config
    import tasks.webhooks

    monkeypatch.delenv("WEBHOOK_RETRY_SCHEDULE", raising=False)
    defaults = config.load_settings()  # the schedule `make run` uses
    monkeypatch.setattr(tasks.webhooks, "settings", dataclasses.replace(
        tasks.webhooks.settings, webhook_allow_private=True,
        webhook_retry_schedule_s=defaults.webhook_retry_schedule_s))
    calls: list[tuple] = []
    monkeypatch.setattr(tasks.webhooks.deliver, "apply_async",
                        lambda args, countdown: calls.append(("deliver", args[0], countdown)))
    monkeypatch.setattr(tasks.webhooks.deliver, "delay",
                        lambda delivery_id: calls.append(("deliver", delivery_id, 0)))
    return calls


def add(session, *rows):
    session.add_all(rows)
    session.flush()
    return rows


def test_a_receiver_failing_twice_gets_the_event_about_five_minutes_later(db, clock, sent,
                                                                           receiver):
    secret = signing.generate_secret()
    with db.session_scope() as session:
        (user,) = add(session, User(email="p@example.com", password_hash="x"))
        endpoint, event = add(
            session, WebhookEndpoint(user_id=user.id, url=receiver.url("/flaky?ok_after=3"),
                                     events=["plan.generated"], secret=secret),
            Event(user_id=user.id, type="plan.generated", data={"plan_id": "p1"}))
        (delivery,) = add(session, WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id,
                                                   event_type=event.type,
                                                   next_attempt_at=clock.now))
        delivery_id = delivery.id
    import tasks.webhooks

    first_at = clock.now
    assert tasks.webhooks.deliver(delivery_id) == "retrying"
    for expected_s in (5, 300):  # the spec: 5 s after the first failure, then 5 min
        _, _, countdown = sent[-1]
        assert expected_s * 0.9 <= countdown <= expected_s * 1.1
        with db.session_scope() as session:
            due = as_utc(session.get(WebhookDelivery, delivery_id).next_attempt_at)
        assert due - clock.now == timedelta(seconds=countdown)
        assert tasks.webhooks.deliver(delivery_id) == "skipped"  # not before its time
        clock.now = due  # the countdown task (or the sweeper) runs then
        outcome = tasks.webhooks.deliver(delivery_id)
    assert outcome == "delivered"
    delivered_after = (clock.now - first_at).total_seconds()
    assert 0.9 * 305 <= delivered_after <= 1.1 * 305  # about 5 min after the first attempt
    with db.session_scope() as session:
        attempts = session.query(WebhookAttempt).order_by(WebhookAttempt.attempted_at).all()
        assert [a.status_code for a in attempts] == [503, 503, 200]
    assert len(receiver.requests) == 3
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    last = receiver.requests[-1]
    assert Webhook(secret).verify(last["body"], last["headers"])["type"] == "plan.generated"
    assert DEFAULT_RETRY_SCHEDULE[:3] == (0, 5, 300)


# ------------------------------------------------------------------------- clinic membership


def test_audience_rule():
    own = {"endpoint_user_id": "u", "event_user_id": "u"}
    assert may_receive(endpoint_clinic_id=None, owner_clinic_id=None, **own)
    clinic = {"endpoint_user_id": "clinician", "endpoint_clinic_id": "c", "event_user_id": "p"}
    assert may_receive(owner_clinic_id="c", **clinic)
    assert not may_receive(owner_clinic_id=None, **clinic)  # left
    assert not may_receive(owner_clinic_id="other", **clinic)  # moved to another clinic
    assert not may_receive(endpoint_user_id="someone", endpoint_clinic_id=None,
                           event_user_id="p", owner_clinic_id="c")


@pytest.fixture
def clinic(db):
    """A clinic endpoint, two patients in the clinic and one patient's own endpoint."""
    with db.session_scope() as session:
        (place,) = add(session, Clinic(name="Knee", invite_code="code-1"))
        clinician, patient, other = add(
            session, User(email="c@example.com", password_hash="x", role="clinician",
                          clinic_id=place.id),
            User(email="p@example.com", password_hash="x", clinic_id=place.id),
            User(email="o@example.com", password_hash="x", clinic_id=place.id))
        clinic_hook, own_hook = add(
            session, WebhookEndpoint(user_id=clinician.id, clinic_id=place.id,
                                     url="http://127.0.0.1:9/clinic", events=["plan.generated"],
                                     secret=signing.generate_secret()),
            WebhookEndpoint(user_id=patient.id, url="http://127.0.0.1:9/own",
                            events=["plan.generated"], secret=signing.generate_secret()))
        return {"clinic": place.id, "patient": patient.id, "other": other.id,
                "clinic_hook": clinic_hook.id, "own_hook": own_hook.id}


def new_event(db_module, user_id: str) -> str:
    with db_module.session_scope() as session:
        (event,) = add(session, Event(user_id=user_id, type="plan.generated", data={}))
        return event.id


def deliveries(db_module, event_id: str) -> dict[str, WebhookDelivery]:
    with db_module.session_scope() as session:
        rows = session.query(WebhookDelivery).filter_by(event_id=event_id).all()
        return {row.endpoint_id: row for row in rows}


def leave(db_module, user_id: str) -> None:
    with db_module.session_scope() as session:
        session.get(User, user_id).clinic_id = None


def test_a_pending_retry_is_not_sent_after_the_patient_leaves(db, clinic, sent, receiver):
    import tasks.webhooks

    with db.session_scope() as session:  # the clinic's receiver is where the test one listens
        session.get(WebhookEndpoint, clinic["clinic_hook"]).url = receiver.url("/status/200")
    event_id = new_event(db, clinic["patient"])
    tasks.webhooks.dispatch_event(event_id)
    made = deliveries(db, event_id)
    assert set(made) == {clinic["clinic_hook"], clinic["own_hook"]}  # while in the clinic

    leave(db, clinic["patient"])  # directly, as if the eager cancel had not run
    assert tasks.webhooks.deliver(made[clinic["clinic_hook"]].id) == "canceled"
    row = deliveries(db, event_id)[clinic["clinic_hook"]]
    assert row.status == "canceled" and row.last_error == LEFT_CLINIC
    assert receiver.requests == []


def test_new_events_are_not_fanned_out_to_the_clinic_after_leaving(db, clinic, sent):
    import tasks.webhooks

    leave(db, clinic["patient"])
    event_id = new_event(db, clinic["patient"])
    tasks.webhooks.dispatch_event(event_id)
    assert set(deliveries(db, event_id)) == {clinic["own_hook"]}  # their own endpoint only
    still_in = new_event(db, clinic["other"])
    tasks.webhooks.dispatch_event(still_in)
    assert set(deliveries(db, still_in)) == {clinic["clinic_hook"]}


def test_leaving_cancels_that_patients_pending_clinic_deliveries_only(db, clinic, sent):
    import tasks.webhooks
    from domain.webhooks import service

    events = {who: new_event(db, clinic[who]) for who in ("patient", "other")}
    for event_id in events.values():
        tasks.webhooks.dispatch_event(event_id)
    with db.session_scope() as session:
        canceled = service.cancel_departed_patient_deliveries(
            session, clinic["patient"], clinic["clinic"])
    assert canceled == 1
    mine, theirs = deliveries(db, events["patient"]), deliveries(db, events["other"])
    assert mine[clinic["clinic_hook"]].status == "canceled"
    assert mine[clinic["own_hook"]].status == "pending"  # their own endpoint still gets it
    assert theirs[clinic["clinic_hook"]].status == "pending"
