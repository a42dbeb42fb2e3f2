"""Standard Webhooks signing: secrets, headers and rotation overlap."""

from __future__ import annotations

import base64
import secrets as _secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def generate_secret(nbytes: int = SECRET_BYTES) -> str:
    """A new signing secret: ``whsec_`` + base64 of ``nbytes`` random bytes."""
    if not 24 <= nbytes <= 64:
        raise ValueError("secret length must be between 24 and 64 bytes")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def new_message_id() -> str:
    """A unique ``webhook-id`` (``msg_`` + 32 hex chars); keep it across retries."""
    return "msg_" + uuid.uuid4().hex


def _to_unix(timestamp: datetime | int) -> int:
    if isinstance(timestamp, bool):
        raise TypeError("timestamp must be a datetime or int")
    if isinstance(timestamp, int):
        return timestamp
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:  # naive = UTC
            timestamp = timestamp.replace(tzinfo=UTC)
        return int(timestamp.timestamp() // 1)
    raise TypeError("timestamp must be a datetime or int")


def _check_msg_id(msg_id: str) -> None:
    # The spec forbids '.' in the id (it is the signed-content delimiter).
    if not msg_id or "." in msg_id or any(c.isspace() for c in msg_id):
        raise ValueError("msg_id must be non-empty, without '.' or whitespace")


def sign(secret: str, msg_id: str, timestamp: datetime | int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`` via standardwebhooks."""
    _check_msg_id(msg_id)
    ts = datetime.fromtimestamp(_to_unix(timestamp), tz=UTC)
    data = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    return Webhook(secret).sign(msg_id=msg_id, timestamp=ts, data=data)


def signature_header(
    secrets: Sequence[str], msg_id: str, timestamp: datetime | int, body: bytes
) -> str:
    """Space-separated signatures, one per secret (current first, then the old one
    during a rotation overlap). Duplicate secrets are signed once."""
    unique = [s for s in dict.fromkeys(secrets) if s]
    if not unique:
        raise ValueError("at least one signing secret is required")
    return " ".join(sign(s, msg_id, timestamp, body) for s in unique)


def build_headers(
    msg_id: str, timestamp: datetime | int, body: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The Standard Webhooks request headers (plus ``content-type``)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(_to_unix(timestamp)),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def active_secrets(
    current: str,
    previous: str | None = None,
    previous_expires_at: datetime | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Secrets to sign with: ``[current]``, plus ``previous`` while its overlap lasts
    (``now < previous_expires_at``; no expiry given means still in overlap)."""
    out = [current]
    if previous and previous != current:
        if previous_expires_at is None:
            out.append(previous)
        else:
            now = now or datetime.now(UTC)
            if now.tzinfo is None:
                now = now.replace(tzinfo=UTC)
            exp = previous_expires_at
            if exp.tzinfo is None:
                exp = exp.replace(tzinfo=UTC)
            if now < exp:
                out.append(previous)
    return out
