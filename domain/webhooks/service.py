"""The webhook service: endpoints, test events, redelivery, fan-out, attempts and their outcome.

Views call the endpoint functions; the `tasks.webhooks` tasks call `fan_out`, `claim`,
`prepare`, `record_outcome` and `sweep`, and send what these return to the broker. Queries are
the repository functions in `models.webhooks`; settings and the clock arrive as arguments, so
this module imports no Flask, Celery or global settings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import DomainError
from models import webhooks as repo
from models.accounts import User
from models.base import as_utc
from models.jobs import Event
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

from .audience import LEFT_CLINIC, may_receive
from .delivery import DeliveryOutcome
from .events import WEBHOOK_TEST, build_payload
from .schedule import DISABLE_REASON_FAILING, DISABLE_REASON_GONE, next_attempt_delay
from .schedule import should_disable as failing_too_long
from .secret_box import SecretDecryptionError
from .signing import active_secrets, build_headers, generate_secret
from .urls import UnsafeURLError, validate_url

logger = logging.getLogger("domain.webhooks")


def log_event(msg: str, level: int = logging.INFO, **fields) -> None:
    """A structured log line (infra.logs renders `fields`; domain code does not import it)."""
    logger.log(level, msg, extra={"fields": fields})

#: how long the old secret keeps signing after a rotation
ROTATION_OVERLAP = timedelta(hours=24)
#: a delivery whose next attempt is this close counts as due (the countdown fires a bit early)
DUE_SLACK = timedelta(seconds=1)
#: a delivery claimed by a worker that died is released after this long
CLAIM_TIMEOUT = timedelta(seconds=120)
#: events left undispatched this long (and not older than UNDISPATCHED_MAX_AGE) are fanned out
UNDISPATCHED_MIN_AGE = timedelta(seconds=30)
UNDISPATCHED_MAX_AGE = timedelta(days=3)
#: rows one sweep handles; the next sweep takes the rest
SWEEP_DELIVERIES = 500
SWEEP_EVENTS = 200
UNREADABLE_SECRET = "signing secret unreadable: SECRET_KEY changed"


@dataclass(frozen=True)
class WebhookSettings:
    """config.Settings' webhook part."""

    allow_private: bool
    timeout_s: float
    retry_schedule_s: tuple[float, ...]


class InvalidFields(DomainError):
    code = "validation_error"
    http_status = 422

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("the request has invalid fields")
        self.errors = errors


@dataclass(frozen=True)
class WithSecret:
    """An endpoint together with its signing secret, shown once (created or rotated); reads
    through to the endpoint's attributes, so it serializes like one."""

    endpoint: WebhookEndpoint
    shown_secret: str

    def __getattr__(self, name: str):
        return getattr(self.endpoint, name)


# -- endpoints (request side) ---------------------------------------------------------------------

def visible_to(endpoint: WebhookEndpoint, user: User) -> bool:
    """The caller's own endpoint, or (clinicians) their clinic's."""
    return endpoint.user_id == user.id or bool(
        endpoint.clinic_id and user.role == "clinician" and endpoint.clinic_id == user.clinic_id)


def endpoint_of(session: Session, user: User, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not visible_to(endpoint, user):
        raise DomainError("no such webhook", code="not_found", http_status=404)
    return endpoint


def visible_clinic_id(user: User) -> str | None:
    """The clinic whose endpoints the user sees next to their own."""
    return user.clinic_id if user.role == "clinician" else None


def checked_url(url: str, *, allow_private: bool) -> str:
    try:
        return validate_url(url, allow_private=allow_private)
    except UnsafeURLError as exc:
        raise InvalidFields({"url": [f"{exc.code}: {exc.message}"]}) from None


def create_endpoint(session: Session, user: User, *, url: str, events: list[str],
                    description: str | None, scope: str, allow_private: bool) -> WithSecret:
    """Register an endpoint of the user or (clinicians, scope "clinic") of their clinic."""
    clinic_id = None
    if scope == "clinic":
        if user.role != "clinician" or not user.clinic_id:
            raise DomainError("only clinicians of a clinic may do this", code="forbidden",
                              http_status=403)
        clinic_id = user.clinic_id
    secret = generate_secret()
    endpoint = WebhookEndpoint(user_id=user.id, clinic_id=clinic_id,
                               url=checked_url(url, allow_private=allow_private), events=events,
                               description=description, secret=secret)
    session.add(endpoint)
    session.flush()
    return WithSecret(endpoint, secret)


def update_endpoint(endpoint: WebhookEndpoint, changes: dict, *, allow_private: bool) -> None:
    """Change url, events or description; `enabled: true` re-enables a disabled endpoint."""
    if "url" in changes:
        endpoint.url = checked_url(changes["url"], allow_private=allow_private)
    if "events" in changes:
        endpoint.events = changes["events"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes:
        endpoint.enabled = changes["enabled"]
        if changes["enabled"]:
            endpoint.disabled_reason, endpoint.failing_since = None, None
        else:
            endpoint.disabled_reason = "disabled by its owner"


def rotate_secret(endpoint: WebhookEndpoint, now: datetime) -> WithSecret:
    """A new secret; until the overlap ends deliveries carry signatures by both."""
    secret = generate_secret()
    try:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    except SecretDecryptionError:  # SECRET_KEY changed: the old secret is gone, start afresh
        endpoint.previous_secret, endpoint.previous_secret_expires_at = None, None
    endpoint.secret = secret
    return WithSecret(endpoint, secret)


def create_test_delivery(session: Session, endpoint: WebhookEndpoint, user_id: str,
                         now: datetime) -> WebhookDelivery:
    """A `webhook.test` event for this endpoint only, and its delivery, due now."""
    event = Event(type=WEBHOOK_TEST, user_id=user_id,
                  data={"webhook_id": endpoint.id, "message": "test event"}, dispatched_at=now)
    session.add(event)
    session.flush()
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id,
                               event_type=event.type, next_attempt_at=now)
    session.add(delivery)
    session.flush()
    return delivery


def redeliver(session: Session, endpoint: WebhookEndpoint, delivery_id: str,
              now: datetime) -> WebhookDelivery:
    """Make a delivery due again now (same webhook-id, so receivers can dedupe)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise DomainError("no such delivery", code="not_found", http_status=404)
    if not endpoint.enabled:
        raise DomainError("enable the endpoint first", code="endpoint_disabled", http_status=409)
    if delivery.status == "sending":
        raise DomainError("this delivery is being sent right now", code="delivery_in_progress",
                          http_status=409)
    delivery.status, delivery.next_attempt_at = "pending", now
    return delivery


def cancel_departed_patient_deliveries(session: Session, user_id: str, clinic_id: str) -> int:
    """The patient left the clinic: its pending deliveries of their events are canceled now
    (`prepare` re-checks membership anyway; this makes the log say so at once)."""
    return repo.cancel_pending_clinic_deliveries(session, user_id, clinic_id, LEFT_CLINIC)


# -- fan-out and attempts (worker side) -----------------------------------------------------------

def may_send(session: Session, endpoint: WebhookEndpoint, event: Event) -> bool:
    """The endpoint belongs to the event's owner, or to the clinic the owner is in now."""
    return may_receive(endpoint_user_id=endpoint.user_id, endpoint_clinic_id=endpoint.clinic_id,
                       event_user_id=event.user_id,
                       owner_clinic_id=repo.clinic_of_user(session, event.user_id))


def subscribed_endpoints(session: Session, event: Event) -> list[WebhookEndpoint]:
    """The owner's endpoints and, for a clinic's patient, the clinic's endpoints."""
    clinic_id = repo.clinic_of_user(session, event.user_id)
    return [ep for ep in repo.enabled_endpoints_of(session, event.user_id, clinic_id)
            if event.type in ep.events and may_receive(
                endpoint_user_id=ep.user_id, endpoint_clinic_id=ep.clinic_id,
                event_user_id=event.user_id, owner_clinic_id=clinic_id)]


def fan_out(session: Session, event_id: str, endpoint_id: str | None,
            now: datetime) -> list[str]:
    """One delivery per subscribed endpoint (or only ``endpoint_id``), made once: a unique row
    per endpoint and event. Returns the ids of the deliveries made now."""
    event = session.get(Event, event_id)
    if event is None:
        return []
    endpoints = ([session.get(WebhookEndpoint, endpoint_id)] if endpoint_id
                 else subscribed_endpoints(session, event))
    existing = repo.endpoint_ids_with_delivery(session, event_id)
    made = []
    for endpoint in endpoints:
        if endpoint is None or endpoint.id in existing:
            continue
        delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id,
                                   event_type=event.type, next_attempt_at=now)
        try:
            with session.begin_nested():
                session.add(delivery)
        except IntegrityError:  # a concurrent run made it: once per endpoint
            continue
        made.append(delivery.id)
    if endpoint_id is None:
        event.dispatched_at = now
    return made


def claim(session: Session, delivery_id: str, now: datetime) -> bool:
    """Atomically take a due delivery, so two runs never send it twice at once."""
    return repo.claim_delivery(session, delivery_id, now, DUE_SLACK)


@dataclass(frozen=True)
class Outgoing:
    """A signed request ready to send."""

    url: str
    body: bytes
    headers: dict[str, str]


def _end(delivery: WebhookDelivery, status: str, error: str) -> str:
    delivery.status, delivery.next_attempt_at, delivery.last_error = status, None, error
    return status


def prepare(session: Session, delivery_id: str, now: datetime) -> Outgoing | str:
    """The signed request of a claimed delivery, or why it is not sent ("canceled", "failed")."""
    delivery = session.get(WebhookDelivery, delivery_id)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    event = session.get(Event, delivery.event_id)
    if endpoint is None or event is None or not endpoint.enabled:
        return _end(delivery, "canceled", "endpoint disabled or deleted")
    if not may_send(session, endpoint, event):  # the patient left the clinic
        return _end(delivery, "canceled", LEFT_CLINIC)
    body = build_payload(event.type, event.data, as_utc(event.created_at))
    try:
        secrets = active_secrets(endpoint.secret, endpoint.previous_secret,
                                 as_utc(endpoint.previous_secret_expires_at))
    except SecretDecryptionError as exc:
        log_event("webhook secret cannot be decrypted", level=logging.ERROR,
                  endpoint=endpoint.id, error=str(exc))
        return _end(delivery, "failed", UNREADABLE_SECRET)
    # the same webhook-id on every retry: receivers dedupe by it
    headers = build_headers(f"msg_{event.id}", now, body, secrets)
    return Outgoing(endpoint.url, body, headers)


def _add_attempt(session: Session, delivery: WebhookDelivery, outcome: DeliveryOutcome,
                 now: datetime) -> WebhookAttempt:
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    attempt = WebhookAttempt(delivery_id=delivery.id, attempted_at=now,
                             status_code=outcome.status_code, latency_ms=outcome.latency_ms,
                             error_code=outcome.error_code,
                             error_message=(outcome.error_message or "")[:1000] or None,
                             response_excerpt=outcome.response_excerpt)
    session.add(attempt)
    return attempt


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    log_event("webhook endpoint disabled", level=logging.WARNING, endpoint=endpoint.id,
              reason=reason)


@dataclass(frozen=True)
class Recorded:
    """What became of an attempt: delivered | disabled | gave_up | retrying (after `delay_s`)."""

    result: str
    delay_s: float | None = None


def record_outcome(session: Session, delivery_id: str, outcome: DeliveryOutcome, now: datetime,
                   retry_schedule_s: tuple[float, ...]) -> Recorded:
    """Log the attempt; then the delivery is done, given up, or due again later."""
    delivery = session.get(WebhookDelivery, delivery_id)
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    attempt = _add_attempt(session, delivery, outcome, now)
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        log_event("webhook delivered", delivery=delivery.id, status=outcome.status_code)
        return Recorded("delivered")
    error = (outcome.error_code or "error") + (
        f" {outcome.status_code}" if outcome.status_code else "")
    endpoint.failing_since = endpoint.failing_since or now
    reason = (DISABLE_REASON_GONE if outcome.disable_endpoint else
              DISABLE_REASON_FAILING.format(days=5)
              if failing_too_long(as_utc(endpoint.failing_since), now) else None)
    if reason is not None:
        _disable(endpoint, reason)
        _end(delivery, "failed", error)
        return Recorded("disabled")
    delay = next_attempt_delay(delivery.attempts, retry_schedule_s,
                               retry_after_s=outcome.retry_after_s)
    if delay is None:
        _end(delivery, "failed", error)
        return Recorded("gave_up")
    delivery.status, delivery.last_error = "pending", error
    delivery.next_attempt_at = attempt.next_attempt_at = now + timedelta(seconds=delay)
    return Recorded("retrying", delay)


def sweep(session: Session, now: datetime) -> tuple[list[str], list[str]]:
    """Forget secrets whose overlap ended, release claims of dead workers; return the deliveries
    that are due and the events whose fan-out message was lost."""
    repo.forget_expired_previous_secrets(session, now)
    repo.release_stale_claims(session, now - CLAIM_TIMEOUT)
    due = repo.due_delivery_ids(session, now, SWEEP_DELIVERIES)
    lost = repo.undispatched_event_ids(session, created_after=now - UNDISPATCHED_MAX_AGE,
                                       created_before=now - UNDISPATCHED_MIN_AGE,
                                       limit=SWEEP_EVENTS)
    return due, lost
