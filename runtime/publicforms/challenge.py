"""The public forms' challenge: a small arithmetic question, stateless and single-use.

The server signs the question's answer instead of storing it: a challenge is the token
``<form id>.<expires>.<nonce>.<mac>`` with ``mac = HMAC-SHA256(secret, form id, expires,
nonce, answer)``, so checking an answer recomputes the MAC, and a token cannot be moved to
another form or used after it expired. It answers once: the nonce of an accepted submission is
stored with its tracking token (unique), so a replay is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

#: How long a question can be answered.
LIFETIME_SECONDS = 30 * 60


@dataclass(frozen=True)
class Challenge:
    question: str
    token: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    nonce: str = ""


def _mac(secret: str, form_id: int, expires: int, nonce: str, answer: str) -> str:
    message = f"public-form:{form_id}:{expires}:{nonce}:{answer}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]


def make(secret: str, form_id: int, *, now: float | None = None) -> Challenge:
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    expires = int((time.time() if now is None else now) + LIFETIME_SECONDS)
    nonce = secrets.token_urlsafe(18)
    mac = _mac(secret, form_id, expires, nonce, str(a + b))
    return Challenge(f"{a} + {b} = ?", f"{form_id}.{expires}.{nonce}.{mac}")


def check(
    secret: str, form_id: int, token: str, answer: str, *, now: float | None = None
) -> Verdict:
    """Whether ``answer`` answers the challenge ``token`` of this form, in time."""
    parts = (token or "").split(".")
    if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
        return Verdict(False)
    given_form, expires, nonce, mac = int(parts[0]), int(parts[1]), parts[2], parts[3]
    if given_form != form_id or expires < (time.time() if now is None else now):
        return Verdict(False)
    normal = (answer or "").strip()
    if not normal.isdigit() or len(normal) > 3 or not 8 <= len(nonce) <= 40:
        return Verdict(False)
    expected = _mac(secret, form_id, expires, nonce, str(int(normal)))
    if not hmac.compare_digest(expected, mac):
        return Verdict(False)
    return Verdict(True, nonce)
