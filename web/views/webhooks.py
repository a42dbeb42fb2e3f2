"""Webhook endpoints, their delivery logs, redelivery, test events and secret rotation.

Each route parses, authorizes (the endpoint must be visible to the caller), calls the webhook
service (domain/webhooks/service.py) and returns rows the webhook schemas serialize."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from config import settings
from domain.webhooks import service
from models import webhooks as repo
from models.base import utcnow
from models.webhooks import WebhookEndpoint
from tasks.webhooks import send_now
from web.auth import current_user, login_required
from web.db import db_session
from web.pages import page_slice, paginated
from web.ratelimit import webhook_test_limit
from web.schemas.webhooks import (
    DeliverySchema,
    DeliveryWithLogSchema,
    WebhookCreateSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)
from web.service_errors import answered_as_api_errors

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks",
                description="Webhooks to clinic systems (Standard Webhooks)")


def load_endpoint(endpoint_id: str) -> WebhookEndpoint:
    """The caller's endpoint, or their clinic's (clinicians); 404 otherwise."""
    with answered_as_api_errors():
        return service.endpoint_of(db_session(), current_user(), endpoint_id)


@blp.route("")
class Webhooks(MethodView):
    @login_required()
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookSchema)
    def post(self, body: dict):
        """Register an endpoint; the signing secret (`whsec_...`) is shown only now."""
        with answered_as_api_errors():
            created = service.create_endpoint(
                db_session(), current_user(), url=body["url"], events=body["events"],
                description=body.get("description"), scope=body["scope"],
                allow_private=settings.webhook_allow_private)
        db_session().commit()
        return created

    @login_required()
    @blp.response(200, WebhookSchema(many=True))
    @paginated(blp)
    def get(self, pagination_parameters):
        """The caller's endpoints and (clinicians) their clinic's, oldest first."""
        user = current_user()
        rows, total = repo.visible_endpoints(db_session(), user.id,
                                             service.visible_clinic_id(user),
                                             **page_slice(pagination_parameters))
        pagination_parameters.item_count = total
        return rows


@blp.route("/<endpoint_id>")
class WebhookView(MethodView):
    @login_required()
    @blp.response(200, WebhookSchema)
    def get(self, endpoint_id: str):
        return load_endpoint(endpoint_id)

    @login_required()
    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, body: dict, endpoint_id: str):
        """Change url, events or description; `enabled: true` re-enables a disabled endpoint."""
        endpoint = load_endpoint(endpoint_id)
        with answered_as_api_errors():
            service.update_endpoint(endpoint, body, allow_private=settings.webhook_allow_private)
        db_session().commit()
        return endpoint

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
    rotated = service.rotate_secret(load_endpoint(endpoint_id), utcnow())
    db_session().commit()
    return rotated


@blp.route("/<endpoint_id>/test", methods=["POST"])
@login_required()
@blp.response(202, DeliverySchema)
@webhook_test_limit
def send_test(endpoint_id: str):
    """Send a `webhook.test` event to this endpoint only."""
    delivery = service.create_test_delivery(db_session(), load_endpoint(endpoint_id),
                                            current_user().id, utcnow())
    db_session().commit()
    send_now(delivery.id)
    return delivery


@blp.route("/<endpoint_id>/deliveries")
@login_required()
@blp.response(200, DeliveryWithLogSchema(many=True))
@paginated(blp)
def list_deliveries(endpoint_id: str, pagination_parameters):
    """The delivery log: each event sent to this endpoint, newest first, with every attempt."""
    endpoint = load_endpoint(endpoint_id)
    rows, total = repo.deliveries_of_endpoint(db_session(), endpoint.id,
                                              **page_slice(pagination_parameters))
    pagination_parameters.item_count = total
    return rows


@blp.route("/<endpoint_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
@login_required()
@blp.response(202, DeliverySchema)
def redeliver(endpoint_id: str, delivery_id: str):
    """Send this delivery again now (same webhook-id, so receivers can dedupe)."""
    endpoint = load_endpoint(endpoint_id)
    with answered_as_api_errors():
        delivery = service.redeliver(db_session(), endpoint, delivery_id, utcnow())
    db_session().commit()
    send_now(delivery.id)
    return delivery
