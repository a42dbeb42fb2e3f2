"""Webhook secrets encrypted at rest, rotation overlap ending, and the Fernet box itself.

Deliveries run the real `tasks.webhooks.deliver` function against a real HTTP receiver on
loopback and a migrated SQLite database; only the broker is left out.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text
from standardwebhooks import Webhook, WebhookVerificationError

from domain.webhooks import secret_box, signing
from domain.webhooks.secret_box import SecretDecryptionError
from models import Event, User, WebhookDelivery, WebhookEndpoint
from models.base import utcnow
from tests.unit.db.conftest import alembic_config
from tests.unit.tasks import conftest as task_fixtures

db = task_fixtures.db  # the migrated SQLite database that models.db sessions use

KEY = "unit-test-key-" + "0" * 32


# ------------------------------------------------------------------------- the box


def test_box_round_trip_never_shows_the_secret():
    secret = signing.generate_secret()
    stored = secret_box.encrypt(secret, KEY)
    assert stored.startswith(secret_box.PREFIX) and secret_box.is_encrypted(stored)
    assert "whsec_" not in stored and secret.removeprefix("whsec_") not in stored
    assert secret_box.encrypt(secret, KEY) != stored  # a fresh IV each time
    assert secret_box.decrypt(stored, KEY) == secret


def test_box_needs_the_key_or_a_fallback():
    stored = secret_box.encrypt("whsec_abc", KEY)
    with pytest.raises(SecretDecryptionError, match="SECRET_KEY"):
        secret_box.decrypt(stored, "another-key-" + "1" * 32)
    assert secret_box.decrypt(stored, "another-key-" + "1" * 32, [KEY]) == "whsec_abc"
    assert secret_box.decrypt("whsec_legacy", KEY) == "whsec_legacy"  # not yet migrated


# ------------------------------------------------------------------------- storage


def raw_secrets(db_module) -> list[tuple]:
    engine = create_engine(db_module.settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT secret, previous_secret FROM webhook_endpoints"))
        out = [tuple(row) for row in rows]
    engine.dispose()
    return out


def make_endpoint(db_module, url: str = "http://127.0.0.1:9/hook", **kwargs) -> tuple[str, str]:
    with db_module.session_scope() as session:
        user = User(email=f"u{utcnow().timestamp()}@example.com", password_hash="x")
        session.add(user)
        session.flush()
        secret = signing.generate_secret()
        endpoint = WebhookEndpoint(user_id=user.id, url=url, events=["plan.generated"],
                                   secret=secret, **kwargs)
        session.add(endpoint)
        session.flush()
        return endpoint.id, secret


def test_the_database_never_holds_the_plain_secret(db):
    endpoint_id, secret = make_endpoint(db)
    with db.session_scope() as session:  # a rotation, as the web view does it
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        endpoint.previous_secret, endpoint.secret = endpoint.secret, signing.generate_secret()
        new_secret = endpoint.secret
    [(stored, stored_previous)] = raw_secrets(db)
    for value in (stored, stored_previous):
        assert value.startswith("fernet:v1:") and "whsec_" not in value
    with db.session_scope() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert (endpoint.secret, endpoint.previous_secret) == (new_secret, secret)


def test_migration_0005_encrypts_existing_rows_and_downgrade_restores_them(tmp_path):
    from alembic import command

    from models.db import make_engine

    url = f"sqlite:///{tmp_path / 'm.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0004")
    engine = make_engine(url)  # foreign keys enforced, as in every process
    with engine.begin() as conn:
        for statement in (
            "INSERT INTO users (id, email, password_hash, role, token_version, created_at) "
            "VALUES ('u1', 'u1@example.com', 'x', 'patient', 0, CURRENT_TIMESTAMP)",
            "INSERT INTO webhook_endpoints (id, user_id, url, events, secret, previous_secret, "
            "enabled, created_at, updated_at) VALUES ('e1', 'u1', 'http://x/', '[]', "
            "'whsec_current', 'whsec_previous', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
            "INSERT INTO events (id, user_id, type, data, created_at) VALUES "
            "('v1', 'u1', 'plan.generated', '{}', CURRENT_TIMESTAMP)",
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, status, "
            "attempts, created_at) VALUES ('d1', 'e1', 'v1', 'plan.generated', 'delivered', 1, "
            "CURRENT_TIMESTAMP)",
        ):
            conn.execute(text(statement))
    command.upgrade(config, "0005")
    with engine.connect() as conn:
        current, previous = conn.execute(text(
            "SELECT secret, previous_secret FROM webhook_endpoints")).one()
        # the endpoint's table is rebuilt on SQLite: its delivery log must survive that
        assert conn.execute(text("SELECT COUNT(*) FROM webhook_deliveries")).scalar() == 1
    assert "whsec_" not in current + previous
    from config import settings

    assert secret_box.decrypt(current, settings.secret_key) == "whsec_current"
    assert secret_box.decrypt(previous, settings.secret_key) == "whsec_previous"
    command.downgrade(config, "0004")
    with engine.connect() as conn:
        assert tuple(conn.execute(text(
            "SELECT secret, previous_secret FROM webhook_endpoints")).one()) == (
            "whsec_current", "whsec_previous")
        assert conn.execute(text("SELECT COUNT(*) FROM webhook_deliveries")).scalar() == 1
    engine.dispose()


# ------------------------------------------------------------------------- signing and rotation


def pending_delivery(db_module, endpoint_id: str) -> str:
    with db_module.session_scope() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        event = Event(user_id=endpoint.user_id, type="plan.generated", data={"plan_id": "p1"})
        session.add(event)
        session.flush()
        delivery = WebhookDelivery(endpoint_id=endpoint_id, event_id=event.id,
                                   event_type=event.type, next_attempt_at=utcnow())
        session.add(delivery)
        session.flush()
        return delivery.id


def verifies(secret: str, request: dict) -> bool:
    try:
        Webhook(secret).verify(request["body"], request["headers"])
        return True
    except WebhookVerificationError:
        return False


@pytest.fixture
def tasks_module(db, monkeypatch):
    import tasks.webhooks

    monkeypatch.setattr(tasks.webhooks, "settings", dataclasses.replace(
        tasks.webhooks.settings, webhook_allow_private=True, webhook_timeout_s=5.0))
    return tasks.webhooks


def expire_previous_secrets(db, now) -> int:
    """What the sweeper does first (models.webhooks, with a controlled clock)."""
    from models.webhooks import forget_expired_previous_secrets

    with db.session_scope() as session:
        return forget_expired_previous_secrets(session, now)


def test_signatures_verify_and_the_old_secret_ends_with_its_overlap(db, tasks_module, receiver):
    endpoint_id, old = make_endpoint(db, url=receiver.url("/status/200"))
    assert tasks_module.deliver(pending_delivery(db, endpoint_id)) == "delivered"
    assert verifies(old, receiver.requests[-1])

    rotated_at = utcnow()
    with db.session_scope() as session:  # rotate-secret with a 24 h overlap
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        endpoint.previous_secret, endpoint.secret = endpoint.secret, signing.generate_secret()
        endpoint.previous_secret_expires_at = rotated_at + timedelta(hours=24)
        new = endpoint.secret
    assert tasks_module.deliver(pending_delivery(db, endpoint_id)) == "delivered"
    assert verifies(new, receiver.requests[-1]) and verifies(old, receiver.requests[-1])

    # The sweeper runs with a controlled clock: 23 h later the old secret is still kept...
    assert expire_previous_secrets(db, rotated_at + timedelta(hours=23)) == 0
    assert raw_secrets(db)[0][1] is not None
    # ...and once the overlap has ended it is gone from the database.
    assert expire_previous_secrets(db, rotated_at + timedelta(hours=24)) == 1
    assert raw_secrets(db)[0][1] is None
    with db.session_scope() as session:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.previous_secret is None and endpoint.previous_secret_expires_at is None

    assert tasks_module.deliver(pending_delivery(db, endpoint_id)) == "delivered"
    assert verifies(new, receiver.requests[-1]) and not verifies(old, receiver.requests[-1])
    assert len(receiver.requests[-1]["headers"]["webhook-signature"].split()) == 1


def test_a_changed_secret_key_fails_the_delivery_clearly(db, tasks_module, receiver, monkeypatch):
    import config

    endpoint_id, _ = make_endpoint(db, url=receiver.url("/status/200"))
    delivery_id = pending_delivery(db, endpoint_id)
    monkeypatch.setattr(config, "settings", dataclasses.replace(
        config.settings, secret_key="a-different-key-" + "2" * 32, secret_key_fallbacks=()))
    assert tasks_module.deliver(delivery_id) == "failed"
    with db.session_scope() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        assert delivery.status == "failed" and "SECRET_KEY" in delivery.last_error
    assert receiver.requests == []
