"""Dependencies of the page routes: the signed-in user from the session cookie (or a redirect
to the sign-in page), the page's language, and CSRF on writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from runtime.auth import service as auth
from runtime.auth.principal import Principal
from runtime.deps import SAFE_METHODS, SessionDep, record_use
from runtime.i18n import LOCALES, current_locale, negotiate
from runtime.permissions import load_membership
from runtime.web import csrf

LOCALE_COOKIE = "tangram_locale"


@dataclass(frozen=True)
class Viewer:
    """What the templates show of the signed-in user, read once (ORM objects expire when the
    page's transaction ends)."""

    id: int
    username: str
    display_name: str
    is_admin: bool
    locale: str | None
    time_zone: str | None
    csrf_token: str

    @property
    def can_build(self) -> bool:
        """Whether the top bar links the app builder (designers of single apps find it on
        their home page)."""
        return self.is_admin

    @classmethod
    def of(cls, principal: Principal) -> Viewer:
        user = principal.user
        csrf = principal.session.csrf_token if principal.session else ""
        return cls(
            user.id,
            user.username,
            user.display_name or "",
            user.is_admin,
            user.locale,
            user.time_zone,
            csrf,
        )


class SignInRequired(Exception):
    """Raised by a page that needs a user; answered with a redirect to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def set_page_locale(request: Request, principal: Principal | None) -> str:
    """The user's setting, else the language cookie, else Accept-Language."""
    preferred = principal.user.locale if principal else None
    if preferred not in LOCALES:
        preferred = request.cookies.get(LOCALE_COOKIE)
    locale = negotiate(request.headers.get("accept-language"), preferred)
    current_locale.set(locale)
    return locale


def page_time_zone(request: Request) -> str:
    """The signed-in user's time zone, else the organisation's."""
    viewer = getattr(request.state, "viewer", None)
    return str((viewer.time_zone if viewer else None) or request.app.state.settings.time_zone)


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go back to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def sign_in_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/sign-in?next=" + quote(here, safe="/")


async def page_principal(request: Request, db: SessionDep) -> Principal | None:
    """The signed-in user of a page request, or None; sets the page's language."""
    settings = request.app.state.settings
    cookie = request.cookies.get(settings.session_cookie)
    principal = await auth.session_principal(db, cookie) if cookie else None
    if principal is not None:
        await load_membership(db, principal)
        request.state.principal = principal
        request.state.viewer = Viewer.of(principal)
        await record_use(request, db, principal)
    set_page_locale(request, principal)
    return principal


async def require_page_user(
    request: Request, principal: Annotated[Principal | None, Depends(page_principal)]
) -> Principal:
    if principal is None:
        raise SignInRequired(sign_in_url(request))
    if request.method not in SAFE_METHODS:
        await csrf.verify(request, principal)
    return principal


MaybePageUser = Annotated[Principal | None, Depends(page_principal)]
#: The signed-in user of a page; writes are CSRF-checked.
PageUser = Annotated[Principal, Depends(require_page_user)]
