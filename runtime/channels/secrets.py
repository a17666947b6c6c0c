"""Channel secrets (passwords, app secrets, AES keys) encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256) keyed by a key derived from the installation's secret
key: the database alone does not reveal a mailbox password, and a change of the installation
secret makes old secrets unreadable (they must be entered again: :class:`SecretsUnreadable`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from runtime.config import Settings, get_settings

_CONTEXT = b"tangram/channel-secrets/v1"


class SecretsUnreadable(Exception):
    """The stored secrets were encrypted with another installation secret."""


@lru_cache(maxsize=8)
def _fernet(secret: str) -> Fernet:
    key = hashlib.sha256(_CONTEXT + b"\x00" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _cipher(settings: Settings | None) -> Fernet:
    return _fernet((settings or get_settings()).resolved_secret())


def seal(values: dict[str, str], settings: Settings | None = None) -> str | None:
    """The encrypted form of ``values`` (None when there are none)."""
    if not values:
        return None
    return _cipher(settings).encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def unseal(token: str | None, settings: Settings | None = None) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_cipher(settings).decrypt(token.encode()))
    except InvalidToken as exc:
        raise SecretsUnreadable("the channel's secrets were sealed with another key") from exc
