from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.webhooks.events import EVENT_TYPES, build_payload, validate_event_types


def test_event_catalogue():
    assert EVENT_TYPES == (
        "video.analysis.succeeded",
        "video.analysis.failed",
        "plan.generated",
        "feedback.received",
        "batch.completed",
        "exercise.checked",
        "plan.day.completed",
        "webhook.test",
    )


def test_validate_keeps_order_and_dedupes():
    assert validate_event_types(["plan.generated", "batch.completed", "plan.generated"]) == [
        "plan.generated",
        "batch.completed",
    ]


def test_validate_names_every_unknown_event():
    with pytest.raises(ValueError, match="video.analysis.started") as exc:
        validate_event_types(["plan.generated", "video.analysis.started", "nope", "nope"])
    assert "nope" in str(exc.value)


@pytest.mark.parametrize("bad", [[], "plan.generated", None, 5, [None], [1]])
def test_validate_rejects_bad_shapes(bad):
    with pytest.raises(ValueError):
        validate_event_types(bad)


def test_build_payload_is_compact_json_with_utc_timestamp():
    ts = datetime(2024, 5, 1, 14, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    body = build_payload("plan.generated", {"plan_id": "p1", "status": "ready"}, ts)
    assert body == (
        b'{"type":"plan.generated","timestamp":"2024-05-01T12:30:00.123456Z",'
        b'"data":{"plan_id":"p1","status":"ready"}}'
    )


def test_build_payload_naive_timestamp_is_utc_and_handles_ids():
    uid = uuid.uuid4()
    body = build_payload(
        "feedback.received",
        {"feedback_id": uid, "at": datetime(2024, 1, 1, tzinfo=UTC), "note": "ü"},
        datetime(2024, 1, 2, 3, 4, 5),
    )
    doc = json.loads(body)
    assert doc["timestamp"] == "2024-01-02T03:04:05Z"
    assert doc["data"] == {"feedback_id": str(uid), "at": "2024-01-01T00:00:00Z", "note": "ü"}
    body.decode("ascii")  # non-ASCII is escaped


def test_build_payload_rejects_unknown_event_and_bad_data():
    with pytest.raises(ValueError):
        build_payload("user.created", {}, datetime.now(UTC))
    with pytest.raises(ValueError):
        build_payload("plan.generated", ["x"], datetime.now(UTC))
    with pytest.raises(TypeError):
        build_payload("plan.generated", {"x": object()}, datetime.now(UTC))
