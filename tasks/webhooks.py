"""Webhook delivery tasks."""

from __future__ import annotations

from workers.celery_app import app


@app.task(name="webhooks.dispatch_event")
def dispatch_event(event_id: str) -> None:
    """Fan an event out to the endpoints subscribed to it (endpoints arrive with webhooks)."""
    return None
