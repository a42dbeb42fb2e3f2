"""The webhook service (domain/webhooks/service.py) on a real migrated SQLite database: endpoint
rules, test events, redelivery, fan-out, attempt outcomes and the sweep (no HTTP, no broker)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import DomainError
from domain.webhooks import service
from domain.webhooks.delivery import DeliveryOutcome
from models import Clinic, Event, User, WebhookDelivery, WebhookEndpoint
from models import webhooks as repo
from models.base import utcnow
from tests.unit.tasks import conftest as task_fixtures

db = task_fixtures.db  # the migrated SQLite database that models.db sessions use

SCHEDULE = (0.0, 3600.0, 7200.0)


@pytest.fixture
def people(db) -> dict[str, str]:
    """A clinic with a clinician and a patient, and a patient outside it."""
    with db.session_scope() as session:
        clinic = Clinic(name="C", invite_code="code1234")
        session.add(clinic)
        session.flush()
        rows = {"doc": User(email="doc@example.com", password_hash="x", role="clinician",
                            clinic_id=clinic.id),
                "patient": User(email="p@example.com", password_hash="x", clinic_id=clinic.id),
                "stranger": User(email="s@example.com", password_hash="x")}
        session.add_all(rows.values())
        session.flush()
        return {"clinic": clinic.id, **{name: user.id for name, user in rows.items()}}


def make_endpoint(db, user_id: str, *, scope: str = "user") -> str:
    with db.session_scope() as session:
        created = service.create_endpoint(
            session, session.get(User, user_id), url="http://127.0.0.1:9/hook",
            events=["plan.generated"], description=None, scope=scope, allow_private=True)
        assert created.shown_secret.startswith("whsec_")
        return created.id


def test_clinic_endpoints_are_for_clinicians_and_seen_by_them_only(db, people):
    with db.session_scope() as session, pytest.raises(DomainError) as refused:
        service.create_endpoint(session, session.get(User, people["patient"]),
                                url="http://127.0.0.1:9/", events=["plan.generated"],
                                description=None, scope="clinic", allow_private=True)
    assert refused.value.http_status == 403
    clinic_hook = make_endpoint(db, people["doc"], scope="clinic")
    own_hook = make_endpoint(db, people["patient"])
    with db.session_scope() as session:
        doc, patient = session.get(User, people["doc"]), session.get(User, people["patient"])
        assert service.endpoint_of(session, doc, clinic_hook).clinic_id == people["clinic"]
        with pytest.raises(DomainError) as hidden:
            service.endpoint_of(session, doc, own_hook)
        assert hidden.value.http_status == 404
        rows, total = repo.visible_endpoints(session, doc.id, service.visible_clinic_id(doc))
        assert total == 1 and [r.id for r in rows] == [clinic_hook]
        assert repo.visible_endpoints(session, patient.id,
                                      service.visible_clinic_id(patient))[1] == 1


def test_unsafe_urls_are_field_errors(db, people):
    with db.session_scope() as session, pytest.raises(service.InvalidFields) as invalid:
        service.create_endpoint(session, session.get(User, people["patient"]),
                                url="http://127.0.0.1:9/", events=["plan.generated"],
                                description=None, scope="user", allow_private=False)
    assert list(invalid.value.errors) == ["url"]


def test_update_and_rotation(db, people):
    endpoint_id = make_endpoint(db, people["patient"])
    now = utcnow()
    with db.session_scope() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        service.update_endpoint(endpoint, {"enabled": False}, allow_private=True)
        assert endpoint.disabled_reason == "disabled by its owner"
        service.update_endpoint(endpoint, {"enabled": True, "events": ["feedback.received"]},
                                allow_private=True)
        assert endpoint.enabled and endpoint.disabled_reason is None
        old = endpoint.secret
        rotated = service.rotate_secret(endpoint, now)
        assert rotated.shown_secret != old and endpoint.previous_secret == old
        assert endpoint.previous_secret_expires_at == now + service.ROTATION_OVERLAP


def test_test_event_and_redelivery(db, people):
    endpoint_id = make_endpoint(db, people["patient"])
    now = utcnow()
    with db.session_scope() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        delivery = service.create_test_delivery(session, endpoint, people["patient"], now)
        assert delivery.event_type == "webhook.test" and delivery.status == "pending"
        delivery_id = delivery.id
    with db.session_scope() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        session.get(WebhookDelivery, delivery_id).status = "sending"
        with pytest.raises(DomainError) as busy:
            service.redeliver(session, endpoint, delivery_id, now)
        assert busy.value.code == "delivery_in_progress"
        session.get(WebhookDelivery, delivery_id).status = "failed"
        assert service.redeliver(session, endpoint, delivery_id, now).status == "pending"
        endpoint.enabled = False
        with pytest.raises(DomainError) as disabled:
            service.redeliver(session, endpoint, delivery_id, now)
        assert disabled.value.code == "endpoint_disabled"
        with pytest.raises(DomainError):
            service.redeliver(session, endpoint, "nope", now)


def new_event(db, user_id: str) -> str:
    with db.session_scope() as session:
        event = Event(user_id=user_id, type="plan.generated", data={"plan_id": "p"})
        session.add(event)
        session.flush()
        return event.id


def test_fan_out_once_per_subscribed_endpoint(db, people):
    clinic_hook = make_endpoint(db, people["doc"], scope="clinic")
    own_hook = make_endpoint(db, people["patient"])
    make_endpoint(db, people["stranger"])
    event_id = new_event(db, people["patient"])
    now = utcnow()
    with db.session_scope() as session:
        made = service.fan_out(session, event_id, None, now)
        assert session.get(Event, event_id).dispatched_at is not None
    with db.session_scope() as session:
        assert service.fan_out(session, event_id, None, now) == []  # once
        endpoints = repo.endpoint_ids_with_delivery(session, event_id)
    assert len(made) == 2 and endpoints == {clinic_hook, own_hook}


def pending_delivery(db, people) -> str:
    endpoint_id = make_endpoint(db, people["patient"])
    with db.session_scope() as session:
        delivery = WebhookDelivery(endpoint_id=endpoint_id,
                                   event_id=new_event(db, people["patient"]),
                                   event_type="plan.generated", next_attempt_at=utcnow())
        session.add(delivery)
        session.flush()
        return delivery.id


def test_claim_prepare_and_record(db, people):
    delivery_id = pending_delivery(db, people)
    now = utcnow()
    with db.session_scope() as session:
        assert service.claim(session, delivery_id, now)
        assert not service.claim(session, delivery_id, now)  # taken
        outgoing = service.prepare(session, delivery_id, now)
    assert outgoing.headers["webhook-id"].startswith("msg_") and b"plan.generated" in outgoing.body
    failed = DeliveryOutcome(status_code=503, delivered=False, latency_ms=3,
                             error_code="http_error")
    with db.session_scope() as session:
        recorded = service.record_outcome(session, delivery_id, failed, now, SCHEDULE)
    assert recorded.result == "retrying" and recorded.delay_s >= 3600 * 0.9
    with db.session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery.status == "pending" and delivery.last_error == "http_error 503"
        assert [a.status_code for a in delivery.log] == [503]
        ok = DeliveryOutcome(status_code=204, delivered=True, latency_ms=2)
        assert service.record_outcome(session, delivery_id, ok, now, SCHEDULE).result == (
            "delivered")


def test_disabled_endpoint_cancels_and_a_patient_who_left_is_not_sent(db, people):
    delivery_id = pending_delivery(db, people)
    with db.session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        session.get(WebhookEndpoint, delivery.endpoint_id).enabled = False
        assert service.prepare(session, delivery_id, utcnow()) == "canceled"
        assert delivery.last_error == "endpoint disabled or deleted"


def test_sweep_releases_stale_claims_and_finds_lost_events(db, people):
    delivery_id = pending_delivery(db, people)
    now = utcnow()
    with db.session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        delivery.status, delivery.claimed_at = "sending", now - timedelta(minutes=5)
        session.get(Event, delivery.event_id).created_at = now - timedelta(minutes=1)
    with db.session_scope() as session:
        due, lost = service.sweep(session, now + timedelta(seconds=1))
    assert due == [delivery_id] and len(lost) == 1
