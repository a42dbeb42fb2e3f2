"""Webhook event catalogue and payload serialisation."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

VIDEO_ANALYSIS_SUCCEEDED = "video.analysis.succeeded"
VIDEO_ANALYSIS_FAILED = "video.analysis.failed"
PLAN_GENERATED = "plan.generated"
FEEDBACK_RECEIVED = "feedback.received"
BATCH_COMPLETED = "batch.completed"
EXERCISE_CHECKED = "exercise.checked"
PLAN_DAY_COMPLETED = "plan.day.completed"
WEBHOOK_TEST = "webhook.test"

EVENT_TYPES: tuple[str, ...] = (
    VIDEO_ANALYSIS_SUCCEEDED,
    VIDEO_ANALYSIS_FAILED,
    PLAN_GENERATED,
    FEEDBACK_RECEIVED,
    BATCH_COMPLETED,
    EXERCISE_CHECKED,
    PLAN_DAY_COMPLETED,
    WEBHOOK_TEST,
)


def validate_event_types(event_types: Iterable[Any]) -> list[str]:
    """Return the event types de-duplicated in their given order.

    Raises ``ValueError`` if the value is not a non-empty list of strings or if it
    names unknown event types (all unknown names are listed in the message).
    """
    if isinstance(event_types, (str, bytes)) or not isinstance(event_types, Iterable):
        raise ValueError("events must be a list of event type names")  # noqa: TRY004 - maps to 422
    items = list(event_types)
    if not items:
        raise ValueError("events must name at least one event type")
    unknown = [repr(e) if not isinstance(e, str) else e for e in items if e not in EVENT_TYPES]
    if unknown:
        raise ValueError(
            "unknown event type(s): "
            + ", ".join(dict.fromkeys(unknown))
            + "; allowed: "
            + ", ".join(EVENT_TYPES)
        )
    return list(dict.fromkeys(items))


def to_utc(ts: datetime) -> datetime:
    """Aware UTC datetime; naive datetimes are taken to be UTC already."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=UTC)
    return ts.astimezone(UTC)


def format_timestamp(ts: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, e.g. ``2022-11-03T20:26:10.344522Z``."""
    return to_utc(ts).isoformat().replace("+00:00", "Z")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in a webhook payload")


def build_payload(event_type: str, data: dict, timestamp: datetime) -> bytes:
    """Compact JSON body ``{"type", "timestamp", "data"}`` (UTF-8, ASCII-only).

    ``data`` should stay thin (ids, status, links). ``datetime``/``date``/``UUID``
    values inside it are serialised as ISO strings / strings.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type: {event_type}")
    if not isinstance(data, dict):
        raise ValueError("data must be a dict")  # noqa: TRY004
    body = {"type": event_type, "timestamp": format_timestamp(timestamp), "data": data}
    return json.dumps(
        body, separators=(",", ":"), ensure_ascii=True, allow_nan=False, default=_json_default
    ).encode("ascii")
