"""Webhook endpoints, their delivery logs, redelivery, test events and secret rotation."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from config import settings
from domain.webhooks.secret_box import SecretDecryptionError
from domain.webhooks.signing import generate_secret
from domain.webhooks.urls import UnsafeURLError, validate_url
from models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from models.base import utcnow
from web.auth import current_user, login_required
from web.db import db_session
from web.errors import ApiError
from web.ratelimit import webhook_test_limit
from web.schemas.webhooks import (
    DeliverySchema,
    WebhookCreateSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Webhooks to clinic systems (Standard Webhooks)")

#: how long the old secret keeps signing after a rotation
ROTATION_OVERLAP = timedelta(hours=24)


def endpoint_to_dict(endpoint: WebhookEndpoint, secret: str | None = None) -> dict:
    body = {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events,
            "description": endpoint.description, "enabled": endpoint.enabled,
            "scope": "clinic" if endpoint.clinic_id else "user",
            "disabled_reason": endpoint.disabled_reason, "created_at": endpoint.created_at}
    if secret:
        body["secret"] = secret
    return body


def checked_url(url: str) -> str:
    try:
        return validate_url(url, allow_private=settings.webhook_allow_private)
    except UnsafeURLError as exc:
        raise ApiError(422, "validation_error", "the request has invalid fields",
                       errors={"url": [f"{exc.code}: {exc.message}"]}) from None


def load_endpoint(endpoint_id: str) -> WebhookEndpoint:
    """The caller's endpoint, or their clinic's (clinicians); 404 otherwise."""
    endpoint = db_session().get(WebhookEndpoint, endpoint_id)
    user = current_user()
    if endpoint is not None and (endpoint.user_id == user.id or (
            endpoint.clinic_id and user.role == "clinician"
            and endpoint.clinic_id == user.clinic_id)):
        return endpoint
    raise ApiError(404, "not_found", "no such webhook")


@blp.route("")
class Webhooks(MethodView):
    @login_required()
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookSchema)
    def post(self, body: dict):
        """Register an endpoint; the signing secret (`whsec_...`) is shown only now."""
        user = current_user()
        clinic_id = None
        if body["scope"] == "clinic":
            if user.role != "clinician" or not user.clinic_id:
                raise ApiError(403, "forbidden", "only clinicians of a clinic may do this")
            clinic_id = user.clinic_id
        secret = generate_secret()
        endpoint = WebhookEndpoint(user_id=user.id, clinic_id=clinic_id,
                                   url=checked_url(body["url"]), events=body["events"],
                                   description=body.get("description"), secret=secret)
        db_session().add(endpoint)
        db_session().commit()
        return endpoint_to_dict(endpoint, secret)

    @login_required()
    @blp.response(200, WebhookSchema(many=True))
    def get(self):
        user = current_user()
        condition = WebhookEndpoint.user_id == user.id
        if user.role == "clinician" and user.clinic_id:
            condition = or_(condition, WebhookEndpoint.clinic_id == user.clinic_id)
        rows = db_session().scalars(select(WebhookEndpoint).where(condition)
                                    .order_by(WebhookEndpoint.created_at))
        return [endpoint_to_dict(e) for e in rows]


@blp.route("/<endpoint_id>")
class WebhookView(MethodView):
    @login_required()
    @blp.response(200, WebhookSchema)
    def get(self, endpoint_id: str):
        return endpoint_to_dict(load_endpoint(endpoint_id))

    @login_required()
    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, body: dict, endpoint_id: str):
        """Change url, events or description; `enabled: true` re-enables a disabled endpoint."""
        endpoint = load_endpoint(endpoint_id)
        if "url" in body:
            endpoint.url = checked_url(body["url"])
        if "events" in body:
            endpoint.events = body["events"]
        if "description" in body:
            endpoint.description = body["description"]
        if "enabled" in body:
            endpoint.enabled = body["enabled"]
            if body["enabled"]:
                endpoint.disabled_reason, endpoint.failing_since = None, None
            else:
                endpoint.disabled_reason = "disabled by its owner"
        db_session().commit()
        return endpoint_to_dict(endpoint)

    @login_required()
    @blp.response(204)
    def delete(self, endpoint_id: str):
        db_session().delete(load_endpoint(endpoint_id))
        db_session().commit()
        return None


@blp.route("/<endpoint_id>/rotate-secret", methods=["POST"])
@login_required()
@blp.response(200, WebhookSchema)
def rotate_secret(endpoint_id: str):
    """A new secret; for 24 hours deliveries carry signatures by both the old and the new one."""
    endpoint = load_endpoint(endpoint_id)
    secret = generate_secret()
    try:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = utcnow() + ROTATION_OVERLAP
    except SecretDecryptionError:  # SECRET_KEY changed: the old secret is gone, start afresh
        endpoint.previous_secret, endpoint.previous_secret_expires_at = None, None
    endpoint.secret = secret
    db_session().commit()
    return endpoint_to_dict(endpoint, secret)


@blp.route("/<endpoint_id>/test", methods=["POST"])
@login_required()
@blp.response(202, DeliverySchema)
@webhook_test_limit
def send_test(endpoint_id: str):
    """Send a `webhook.test` event to this endpoint only."""
    endpoint = load_endpoint(endpoint_id)
    session = db_session()
    event = Event(type="webhook.test", user_id=current_user().id,
                  data={"webhook_id": endpoint.id, "message": "test event"},
                  dispatched_at=utcnow())
    session.add(event)
    session.flush()
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id,
                               event_type=event.type, next_attempt_at=utcnow())
    session.add(delivery)
    session.commit()
    from tasks.webhooks import deliver

    deliver.delay(delivery.id)
    return delivery_to_dict(delivery)


def delivery_to_dict(delivery: WebhookDelivery, with_log: bool = False) -> dict:
    body = {c: getattr(delivery, c) for c in (
        "id", "event_id", "event_type", "status", "attempts", "next_attempt_at",
        "last_status_code", "last_error", "delivered_at", "created_at")}
    body["webhook_id"] = f"msg_{delivery.event_id}"
    if with_log:
        body["log"] = db_session().scalars(select(WebhookAttempt).where(
            WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.attempted_at)
        ).all()
    return body


@blp.route("/<endpoint_id>/deliveries")
@login_required()
@blp.response(200, DeliverySchema(many=True))
def list_deliveries(endpoint_id: str):
    """The delivery log: each event sent to this endpoint, with every attempt."""
    endpoint = load_endpoint(endpoint_id)
    rows = db_session().scalars(select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id).order_by(WebhookDelivery.created_at.desc())
        .limit(200))
    return [delivery_to_dict(d, with_log=True) for d in rows]


@blp.route("/<endpoint_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
@login_required()
@blp.response(202, DeliverySchema)
def redeliver(endpoint_id: str, delivery_id: str):
    """Send this delivery again now (same webhook-id, so receivers can dedupe)."""
    endpoint = load_endpoint(endpoint_id)
    delivery = db_session().get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise ApiError(404, "not_found", "no such delivery")
    if not endpoint.enabled:
        raise ApiError(409, "endpoint_disabled", "enable the endpoint first")
    if delivery.status == "sending":
        raise ApiError(409, "delivery_in_progress", "this delivery is being sent right now")
    delivery.status, delivery.next_attempt_at = "pending", utcnow()
    db_session().commit()
    from tasks.webhooks import deliver

    deliver.delay(delivery.id)
    return delivery_to_dict(delivery)

