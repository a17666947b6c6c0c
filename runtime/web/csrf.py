"""CSRF protection of the pages' writes.

Signed-in writes carry the session's CSRF token (htmx sends it in ``X-CSRF-Token`` from the
``<meta name="csrf-token">`` of every page; plain forms in a ``csrf_token`` field). The sign-in
form, which has no session yet, uses a signed double-submit token: a random cookie and, in the
form, its HMAC under the installation's secret key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from runtime.auth.cookies import secure_cookies
from runtime.auth.principal import Principal
from runtime.deps import CSRF_HEADER
from runtime.errors import ProblemError

LOGIN_COOKIE = "tangram_login"
FIELD = "csrf_token"


async def sent_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def verify(request: Request, principal: Principal) -> None:
    """403 ``csrf_failed`` unless the request carries the session's token."""
    expected = principal.session.csrf_token if principal.session else ""
    sent = await sent_token(request)
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ProblemError("csrf_failed")


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def login_token(request: Request) -> tuple[str, str | None]:
    """The sign-in form's token, and the new cookie value to set (None: the cookie is fine)."""
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    fresh = None
    if len(nonce) < 20:
        nonce = fresh = secrets.token_urlsafe(24)
    return _sign(request.app.state.settings.resolved_secret(), nonce), fresh


def set_login_cookie(request: Request, response: Response, nonce: str | None) -> None:
    if nonce is None:
        return
    settings = request.app.state.settings
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, settings.cookie_secure),
        path="/",
    )


async def verify_login(request: Request) -> None:
    nonce = request.cookies.get(LOGIN_COOKIE) or ""
    sent = await sent_token(request)
    expected = _sign(request.app.state.settings.resolved_secret(), nonce) if nonce else ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ProblemError("csrf_failed")
