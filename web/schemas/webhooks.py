from __future__ import annotations

import marshmallow as ma

from domain.webhooks.events import EVENT_TYPES, validate_event_types
from web.schemas.common import StrictSchema, UtcDateTime


class ComputedString(ma.fields.String):
    """A dump-only string computed from the object (documented as a string, unlike Function)."""

    def __init__(self, compute, **kwargs):
        super().__init__(dump_only=True, **kwargs)
        self.compute = compute

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return self.compute(obj)


#: WebhookDelivery.status (domain/webhooks/service.py, models/webhooks.py)
DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed", "canceled")
SUBSCRIBABLE = tuple(e for e in EVENT_TYPES if e != "webhook.test")


def _events(value: list) -> None:
    try:
        validate_event_types(value)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None
    if "webhook.test" in value:
        raise ma.ValidationError("webhook.test is sent only by POST /webhooks/{id}/test")


class WebhookCreateSchema(StrictSchema):
    url = ma.fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                        validate=ma.validate.Length(max=2048))
    events = ma.fields.List(ma.fields.String(), required=True, validate=_events,
                            metadata={"description": f"any of {', '.join(SUBSCRIBABLE)}"})
    description = ma.fields.String(validate=ma.validate.Length(max=500), allow_none=True)
    scope = ma.fields.String(load_default="user", validate=ma.validate.OneOf(["user", "clinic"]),
                             metadata={"description": "clinic: events of all the clinic's "
                                                      "patients (clinicians only)"})


class WebhookUpdateSchema(StrictSchema):
    url = ma.fields.Url(schemes={"http", "https"}, require_tld=False,
                        validate=ma.validate.Length(max=2048))
    events = ma.fields.List(ma.fields.String(), validate=_events)
    description = ma.fields.String(validate=ma.validate.Length(max=500), allow_none=True)
    enabled = ma.fields.Boolean()


class WebhookSchema(ma.Schema):
    id = ma.fields.String(required=True)
    url = ma.fields.String(required=True)
    events = ma.fields.List(ma.fields.String(), required=True)
    description = ma.fields.String(allow_none=True)
    scope = ComputedString(lambda endpoint: "clinic" if endpoint.clinic_id else "user",
                           metadata={"description": "user | clinic"})
    enabled = ma.fields.Boolean()
    disabled_reason = ma.fields.String(allow_none=True)
    # never the stored (deferred, encrypted) column: only a secret just made is shown
    secret = ma.fields.String(attribute="shown_secret",
                              metadata={"description": "shown only when created or rotated"})
    created_at = UtcDateTime()


class AttemptSchema(ma.Schema):
    attempted_at = UtcDateTime()
    status_code = ma.fields.Integer(allow_none=True)
    latency_ms = ma.fields.Float(allow_none=True)
    error_code = ma.fields.String(allow_none=True)
    error_message = ma.fields.String(allow_none=True)
    next_attempt_at = UtcDateTime(allow_none=True)


class DeliverySchema(ma.Schema):
    id = ma.fields.String(required=True)
    event_id = ma.fields.String()
    webhook_id = ComputedString(lambda delivery: f"msg_{delivery.event_id}",
                                metadata={"description": "the webhook-id header sent"})
    event_type = ma.fields.String()
    status = ma.fields.String(validate=ma.validate.OneOf(DELIVERY_STATUSES))
    attempts = ma.fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    last_status_code = ma.fields.Integer(allow_none=True)
    last_error = ma.fields.String(allow_none=True)
    delivered_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class DeliveryWithLogSchema(DeliverySchema):
    log = ma.fields.List(ma.fields.Nested(AttemptSchema),
                         metadata={"description": "every attempt, oldest first"})
