"""The session and CSRF cookies, set the same way by the sign-in API and the sign-in page."""

from __future__ import annotations

from fastapi import Request, Response

from runtime.auth.service import NewSession
from runtime.config import Settings


def secure_cookies(request: Request, configured: bool | None) -> bool:
    """``Secure`` when configured so, else when the request came over HTTPS."""
    if configured is not None:
        return configured
    forwarded = request.headers.get("x-forwarded-proto")
    return (forwarded or request.url.scheme) == "https"


def set_session_cookies(
    response: Response, request: Request, settings: Settings, new: NewSession
) -> None:
    secure = secure_cookies(request, settings.cookie_secure)
    max_age = settings.session_ttl_hours * 3600
    response.set_cookie(
        settings.session_cookie,
        new.token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    # Readable by the page's JavaScript, which echoes it in the X-CSRF-Token header.
    response.set_cookie(
        settings.csrf_cookie,
        new.record.csrf_token,
        max_age=max_age,
        httponly=False,
        samesite="lax",
        secure=secure,
        path="/",
    )


def clear_session_cookies(response: Response, settings: Settings) -> None:
    response.delete_cookie(settings.session_cookie, path="/")
    response.delete_cookie(settings.csrf_cookie, path="/")
