from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from domain.webhooks import signing
from domain.webhooks.events import build_payload


def _body():
    return build_payload("batch.completed", {"batch_id": "b_1", "status": "done"},
                         datetime.now(UTC))


def test_generate_secret_format():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[len("whsec_"):])) == 32
    assert secret != signing.generate_secret()


def test_sign_matches_spec_hmac():
    secret = signing.generate_secret()
    key = base64.b64decode(secret[6:])
    body = b'{"type":"webhook.test","timestamp":"2024-01-01T00:00:00Z","data":{}}'
    expected = base64.b64encode(
        hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    ).decode()
    assert signing.sign(secret, "msg_1", 1700000000, body) == "v1," + expected
    dt = datetime.fromtimestamp(1700000000.9, tz=UTC)
    assert signing.sign(secret, "msg_1", dt, body) == "v1," + expected


def test_build_headers_verify_with_standardwebhooks():
    secret = signing.generate_secret()
    body = _body()
    now = datetime.now(UTC)
    headers = signing.build_headers("msg_abc", now, body, [secret])
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")
    assert " " not in headers["webhook-signature"]
    assert Webhook(secret).verify(body, headers)["data"]["batch_id"] == "b_1"


def test_rotation_overlap_both_secrets_verify():
    old, new = signing.generate_secret(), signing.generate_secret()
    body = _body()
    headers = signing.build_headers(signing.new_message_id(), int(time.time()), body, [new, old])
    sigs = headers["webhook-signature"].split(" ")
    assert len(sigs) == 2 and all(s.startswith("v1,") for s in sigs)
    assert Webhook(old).verify(body, headers)
    assert Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, headers)


def test_tampered_body_fails_verification():
    secret = signing.generate_secret()
    body = _body()
    headers = signing.build_headers("msg_x", datetime.now(UTC), body, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"b_1", b"b_2"), headers)


def test_signature_header_dedupes_and_requires_a_secret():
    s = signing.generate_secret()
    assert len(signing.signature_header([s, s], "msg_1", 1, b"{}").split(" ")) == 1
    with pytest.raises(ValueError):
        signing.signature_header([], "msg_1", 1, b"{}")


@pytest.mark.parametrize("bad_id", ["", "msg.1", "msg 1"])
def test_message_id_must_not_contain_dot_or_space(bad_id):
    with pytest.raises(ValueError):
        signing.sign(signing.generate_secret(), bad_id, 1, b"{}")


def test_active_secrets_overlap_window():
    now = datetime.now(UTC)
    assert signing.active_secrets("new") == ["new"]
    assert signing.active_secrets("new", "old", now + timedelta(hours=1), now) == ["new", "old"]
    assert signing.active_secrets("new", "old", now - timedelta(seconds=1), now) == ["new"]
    assert signing.active_secrets("new", "old") == ["new", "old"]
    assert signing.active_secrets("same", "same") == ["same"]


def test_new_message_id_is_safe():
    mid = signing.new_message_id()
    assert mid.startswith("msg_") and "." not in mid
