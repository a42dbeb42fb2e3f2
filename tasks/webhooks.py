"""Webhook deliveries (Standard Webhooks): fan-out, signed delivery, retries, disabling.

The database is the scheduler: each delivery row holds its next attempt time. Short delays are
also sent as countdown tasks; the periodic `webhooks.sweep_due` sends whatever is due, so a
delivery survives worker and broker restarts and multi-day retry schedules.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from config import settings
from domain.webhooks.audience import LEFT_CLINIC, may_receive
from domain.webhooks.delivery import deliver as http_deliver
from domain.webhooks.events import build_payload
from domain.webhooks.schedule import (
    DISABLE_REASON_FAILING,
    DISABLE_REASON_GONE,
    next_attempt_delay,
    should_disable,
)
from domain.webhooks.secret_box import SecretDecryptionError
from domain.webhooks.signing import active_secrets, build_headers
from infra.logs import log_event
from models import Event, User, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models.base import as_utc, utcnow
from models.db import session_scope
from workers.celery_app import app

logger = logging.getLogger("tasks.webhooks")

#: delays up to this long are also scheduled as countdown tasks; longer ones wait for the sweeper.
#: It covers the spec's 5-minute retry with its +10% jitter (330 s), well under the broker's
#: visibility timeout (3600 s) that a countdown message must not outlive.
COUNTDOWN_LIMIT_S = 600
#: a delivery claimed by a worker that died is released after this long
CLAIM_TIMEOUT_S = 120


def _owner_clinic_id(session, event: Event) -> str | None:
    owner = session.get(User, event.user_id) if event.user_id else None
    return owner.clinic_id if owner is not None else None


def may_send(session, endpoint: WebhookEndpoint, event: Event) -> bool:
    """The endpoint belongs to the event's owner, or to the clinic the owner is in now."""
    return may_receive(endpoint_user_id=endpoint.user_id, endpoint_clinic_id=endpoint.clinic_id,
                       event_user_id=event.user_id,
                       owner_clinic_id=_owner_clinic_id(session, event))


def subscribed_endpoints(session, event: Event) -> list[WebhookEndpoint]:
    """The owner's endpoints and, for a clinic's patient, the clinic's endpoints."""
    clinic_id = _owner_clinic_id(session, event)
    conditions = [WebhookEndpoint.user_id == event.user_id]
    if clinic_id:
        conditions.append(WebhookEndpoint.clinic_id == clinic_id)
    rows = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True),
                                                         or_(*conditions))).all()
    return [ep for ep in rows if event.type in ep.events and may_receive(
        endpoint_user_id=ep.user_id, endpoint_clinic_id=ep.clinic_id,
        event_user_id=event.user_id, owner_clinic_id=clinic_id)]


def cancel_departed_patient_deliveries(session, user_id: str, clinic_id: str) -> int:
    """Cancel pending deliveries of ``user_id``'s events to ``clinic_id``'s endpoints (the
    patient left it). `deliver` re-checks membership anyway; this makes the log say so now."""
    clinic_endpoints = select(WebhookEndpoint.id).where(WebhookEndpoint.clinic_id == clinic_id,
                                                        WebhookEndpoint.user_id != user_id)
    user_events = select(Event.id).where(Event.user_id == user_id)
    result = session.execute(update(WebhookDelivery).where(
        WebhookDelivery.status == "pending",
        WebhookDelivery.endpoint_id.in_(clinic_endpoints),
        WebhookDelivery.event_id.in_(user_events),
    ).values(status="canceled", next_attempt_at=None, last_error=LEFT_CLINIC)
        .execution_options(synchronize_session=False))
    return result.rowcount


def expire_previous_secrets(now=None) -> int:
    """Forget secrets whose rotation overlap has ended (conditional, so a rotation that happens
    at the same moment keeps its fresh previous secret)."""
    now = now or utcnow()
    with session_scope() as session:
        result = session.execute(update(WebhookEndpoint).where(
            WebhookEndpoint.previous_secret_expires_at.is_not(None),
            WebhookEndpoint.previous_secret_expires_at <= now,
        ).values(previous_secret=None, previous_secret_expires_at=None)
            .execution_options(synchronize_session=False))
        return result.rowcount


@app.task(name="webhooks.dispatch_event", acks_late=True)
def dispatch_event(event_id: str, endpoint_id: str | None = None) -> list[str]:
    """Make one delivery per subscribed endpoint (once: a unique row per endpoint and event)."""
    made = []
    with session_scope() as session:
        event = session.get(Event, event_id)
        if event is None:
            return []
        endpoints = ([session.get(WebhookEndpoint, endpoint_id)] if endpoint_id
                     else subscribed_endpoints(session, event))
        existing = set(session.scalars(select(WebhookDelivery.endpoint_id)
                                       .where(WebhookDelivery.event_id == event_id)))
        for endpoint in endpoints:
            if endpoint is None or endpoint.id in existing:
                continue
            delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id,
                                       event_type=event.type, next_attempt_at=utcnow())
            try:
                with session.begin_nested():
                    session.add(delivery)
            except IntegrityError:  # a concurrent run made it: once per endpoint
                continue
            made.append(delivery.id)
        if endpoint_id is None:
            event.dispatched_at = utcnow()
    for delivery_id in made:
        deliver.delay(delivery_id)
    return made


def _claim(delivery_id: str) -> bool:
    """Atomically take a due delivery, so two runs never send it twice at once."""
    now = utcnow()
    with session_scope() as session:
        result = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
                   or_(WebhookDelivery.next_attempt_at.is_(None),
                       WebhookDelivery.next_attempt_at <= now + timedelta(seconds=1)))
            .values(status="sending", claimed_at=now)
        )
        return result.rowcount == 1


@app.task(name="webhooks.deliver", acks_late=True)
def deliver(delivery_id: str) -> str:
    if not _claim(delivery_id):
        return "skipped"
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        event = session.get(Event, delivery.event_id)
        if endpoint is None or event is None or not endpoint.enabled:
            delivery.status = "canceled"
            delivery.last_error = "endpoint disabled or deleted"
            return "canceled"
        if not may_send(session, endpoint, event):  # the patient left the clinic
            delivery.status, delivery.next_attempt_at = "canceled", None
            delivery.last_error = LEFT_CLINIC
            return "canceled"
        body = build_payload(event.type, event.data, as_utc(event.created_at))
        msg_id = f"msg_{event.id}"  # the same id on every retry: receivers dedupe by it
        try:
            secrets = active_secrets(endpoint.secret, endpoint.previous_secret,
                                     as_utc(endpoint.previous_secret_expires_at))
        except SecretDecryptionError as exc:
            delivery.status, delivery.next_attempt_at = "failed", None
            delivery.last_error = "signing secret unreadable: SECRET_KEY changed"
            log_event(logger, "webhook secret cannot be decrypted", level=logging.ERROR,
                      endpoint=endpoint.id, error=str(exc))
            return "failed"
        headers = build_headers(msg_id, utcnow(), body, secrets)
        url = endpoint.url
    outcome = http_deliver(url, body, headers, timeout_s=settings.webhook_timeout_s,
                           allow_private=settings.webhook_allow_private)
    return _record(delivery_id, outcome)


def _record(delivery_id: str, outcome) -> str:
    now = utcnow()
    with session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        attempt = WebhookAttempt(delivery_id=delivery.id, attempted_at=now,
                                 status_code=outcome.status_code, latency_ms=outcome.latency_ms,
                                 error_code=outcome.error_code,
                                 error_message=(outcome.error_message or "")[:1000] or None,
                                 response_excerpt=outcome.response_excerpt)
        session.add(attempt)
        if outcome.delivered:
            delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
            delivery.next_attempt_at = None
            endpoint.failing_since = None
            log_event(logger, "webhook delivered", delivery=delivery.id,
                      status=outcome.status_code)
            return "delivered"
        delivery.last_error = (outcome.error_code or "error") + (
            f" {outcome.status_code}" if outcome.status_code else "")
        endpoint.failing_since = endpoint.failing_since or now
        if outcome.disable_endpoint:
            _disable(endpoint, DISABLE_REASON_GONE)
            delivery.status, delivery.next_attempt_at = "failed", None
            return "disabled"
        if should_disable(as_utc(endpoint.failing_since), now):
            _disable(endpoint, DISABLE_REASON_FAILING.format(days=5))
            delivery.status, delivery.next_attempt_at = "failed", None
            return "disabled"
        delay = next_attempt_delay(delivery.attempts, settings.webhook_retry_schedule_s,
                                   retry_after_s=outcome.retry_after_s)
        if delay is None:
            delivery.status, delivery.next_attempt_at = "failed", None
            return "gave_up"
        delivery.status = "pending"
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        attempt.next_attempt_at = delivery.next_attempt_at
    if delay <= COUNTDOWN_LIMIT_S:
        deliver.apply_async(args=[delivery_id], countdown=delay)
    return "retrying"


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    log_event(logger, "webhook endpoint disabled", level=logging.WARNING, endpoint=endpoint.id,
              reason=reason)


@app.task(name="webhooks.sweep_due")
def sweep_due() -> int:
    """Send deliveries whose time has come; release claims of workers that died; forget
    secrets whose rotation overlap has ended."""
    now = utcnow()
    expire_previous_secrets(now)
    with session_scope() as session:
        session.execute(update(WebhookDelivery).where(
            WebhookDelivery.status == "sending",
            WebhookDelivery.claimed_at < now - timedelta(seconds=CLAIM_TIMEOUT_S),
        ).values(status="pending"))
        due = session.scalars(select(WebhookDelivery.id).where(
            WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .limit(500)).all()
        undispatched = session.scalars(select(Event.id).where(
            Event.dispatched_at.is_(None), Event.created_at < now - timedelta(seconds=30),
            Event.created_at > now - timedelta(days=3),
        ).limit(200)).all()
    for delivery_id in due:
        deliver.delay(delivery_id)
    for event_id in undispatched:  # events whose dispatch message was lost (broker down)
        dispatch_event.delay(event_id)
    return len(due)
