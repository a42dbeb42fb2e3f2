"""Webhook signing secrets encrypted at rest (Fernet, key derived from the app's SECRET_KEY).

The database holds ``fernet:v1:<token>``; only the process that knows SECRET_KEY (or one of its
fallbacks, after a key change) can get the ``whsec_`` secret back. The Fernet key is derived
with HKDF-SHA256 and a purpose label, so it is never the token-signing key itself.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:v1:"
_HKDF_SALT = b"rehab-coach/webhook-secrets"
_HKDF_INFO = b"webhook signing secrets at rest v1"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with the configured keys (SECRET_KEY changed?)."""


@lru_cache(maxsize=16)
def _fernet(app_key: str) -> Fernet:
    if not app_key:
        raise ValueError("an application key is required")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT,
                   info=_HKDF_INFO).derive(app_key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


def is_encrypted(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX)


def encrypt(secret: str, app_key: str) -> str:
    """``fernet:v1:<token>`` for ``secret`` (a fresh random IV each time)."""
    return PREFIX + _fernet(app_key).encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt(stored: str, app_key: str, fallback_keys: Iterable[str] = ()) -> str:
    """The plain secret; a legacy plain value (not yet migrated) is returned as it is."""
    if not is_encrypted(stored):
        return stored
    box = MultiFernet([_fernet(k) for k in dict.fromkeys([app_key, *fallback_keys]) if k])
    try:
        return box.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SecretDecryptionError(
            "cannot decrypt a webhook secret with SECRET_KEY or SECRET_KEY_FALLBACKS "
            "(was SECRET_KEY changed? list the old key in SECRET_KEY_FALLBACKS)") from exc
