"""Delivery outcomes recorded on the delivery and its endpoint (no HTTP, no broker)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from domain.webhooks.delivery import DeliveryOutcome
from models import Event, User, WebhookDelivery, WebhookEndpoint
from models.base import utcnow


@pytest.fixture
def delivery_id(db, monkeypatch):
    import tasks.webhooks

    # Long retry delays: nothing is sent to a broker, the sweeper would pick them up.
    monkeypatch.setattr(tasks.webhooks, "settings", dataclasses.replace(
        tasks.webhooks.settings, webhook_retry_schedule_s=(0, 3600, 7200)))
    with db.session_scope() as session:
        user = User(email="hook@example.com", password_hash="x")
        session.add(user)
        session.flush()
        endpoint = WebhookEndpoint(user_id=user.id, url="http://127.0.0.1:9/hook",
                                   events=["plan.generated"], secret="whsec_x")
        event = Event(user_id=user.id, type="plan.generated", data={})
        session.add_all([endpoint, event])
        session.flush()
        delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id,
                                   event_type=event.type, status="sending")
        session.add(delivery)
        session.flush()
        return delivery.id


def failure(status: int | None = 500, **kwargs) -> DeliveryOutcome:
    return DeliveryOutcome(status_code=status, delivered=False, latency_ms=5,
                           error_code="http_error", **kwargs)


def state(db, delivery_id):
    with db.session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        return delivery, endpoint


def test_failure_schedules_the_next_attempt(db, delivery_id):
    from tasks.webhooks import _record

    assert _record(delivery_id, failure()) == "retrying"
    delivery, endpoint = state(db, delivery_id)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at is not None and endpoint.failing_since is not None


def test_retry_after_is_honoured(db, delivery_id):
    from models.base import as_utc
    from tasks.webhooks import _record

    before = utcnow()
    _record(delivery_id, failure(503, retry_after_s=20000.0))
    delivery, _ = state(db, delivery_id)
    assert as_utc(delivery.next_attempt_at) - before >= timedelta(seconds=20000)


def test_gone_disables_the_endpoint(db, delivery_id):
    from tasks.webhooks import _record

    assert _record(delivery_id, failure(410, disable_endpoint=True)) == "disabled"
    delivery, endpoint = state(db, delivery_id)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert delivery.status == "failed"


def test_failing_for_days_disables_with_a_reason(db, delivery_id):
    from tasks.webhooks import _record

    with db.session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        session.get(WebhookEndpoint, delivery.endpoint_id).failing_since = (
            utcnow() - timedelta(days=6))
    assert _record(delivery_id, failure()) == "disabled"
    _, endpoint = state(db, delivery_id)
    assert not endpoint.enabled and "days" in endpoint.disabled_reason


def test_success_clears_the_failure_streak(db, delivery_id):
    from tasks.webhooks import _record

    _record(delivery_id, failure())
    with db.session_scope() as session:
        session.get(WebhookDelivery, delivery_id).status = "sending"
    ok = DeliveryOutcome(status_code=204, delivered=True, latency_ms=3)
    assert _record(delivery_id, ok) == "delivered"
    delivery, endpoint = state(db, delivery_id)
    assert delivery.status == "delivered" and endpoint.failing_since is None
