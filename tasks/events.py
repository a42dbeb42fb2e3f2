"""Domain events (outbox). A row is written in the same transaction as the change it reports;
webhook fan-out is enqueued only after that transaction commits."""

from __future__ import annotations

from celery import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from models import Event

_PENDING = "pending_event_ids"


def emit(session: Session, event_type: str, user_id: str | None, data: dict) -> Event:
    row = Event(type=event_type, user_id=user_id, data=data)
    session.add(row)
    session.flush()
    session.info.setdefault(_PENDING, []).append(row.id)
    return row


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    event_ids = session.info.pop(_PENDING, [])
    for event_id in event_ids:
        current_app.send_task("webhooks.dispatch_event", args=[event_id])


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
