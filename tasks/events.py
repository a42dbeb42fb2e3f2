"""Domain events (outbox). A row is written in the same transaction as the change it reports;
webhook fan-out is enqueued only after that transaction commits."""

from __future__ import annotations

import hashlib

from sqlalchemy import event
from sqlalchemy.orm import Session

from models import Event

_PENDING = "pending_event_ids"


def emit(session: Session, event_type: str, user_id: str | None, data: dict,
         key: str | None = None) -> Event:
    """Record an event. With a `key` (e.g. the job id) the event id is derived from it, so a task
    that runs twice emits the event once."""
    event_id = hashlib.sha256(f"{event_type}:{key}".encode()).hexdigest()[:32] if key else None
    if event_id is not None:
        existing = session.get(Event, event_id)
        if existing is not None:
            return existing
    row = Event(id=event_id, type=event_type, user_id=user_id, data=data) if event_id else Event(
        type=event_type, user_id=user_id, data=data)
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING, []).append(row.id)
    return row


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    event_ids = session.info.pop(_PENDING, [])
    for event_id in event_ids:
        from workers.celery_app import app

        try:
            app.send_task("webhooks.dispatch_event", args=[event_id])
        except Exception:  # broker down: the event row stays; webhooks.sweep re-sends it
            pass


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
