"""Random secrets that are stored only as SHA-256 digests (session cookies, API tokens)."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "tgm_"  # noqa: S105 (a prefix, not a secret)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_api_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 is enough here: these secrets carry 256 bits of entropy, unlike passwords."""
    return hashlib.sha256(secret.encode()).hexdigest()
