"""FastAPI dependencies as ``Annotated`` aliases: the database session and the caller."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth import service as auth
from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.errors import ProblemError
from runtime.permissions import load_membership

log = logging.getLogger("tangram.auth")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Largest id either database can store (BIGINT / SQLite INTEGER). Larger ids in a path or
#: query would overflow the driver (a 500), so they are rejected as validation errors.
MAX_ID = 2**63 - 1
CSRF_HEADER = "x-csrf-token"


async def get_settings(request: Request) -> Settings:
    # async: FastAPI runs a plain ``def`` dependency in the thread pool, a thread hop per request.
    return request.app.state.settings  # type: ignore[no-any-return]


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; writers lock SQLite for writing from their first statement."""
    state = request.app.state
    factory = state.read_sessions if request.method in SAFE_METHODS else state.sessions
    async with factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
#: A row id in the path (``/users/{user_id}``) or an optional one in the query (``before_id``).
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
SessionDep = Annotated[AsyncSession, Depends(get_db)]


async def optional_principal(request: Request, db: SessionDep) -> Principal | None:
    """The caller from ``Authorization: Bearer`` or the session cookie (with CSRF on writes)."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise ProblemError("invalid_token", headers={"WWW-Authenticate": "Bearer"})
        principal = await auth.token_principal(db, credentials.strip())
        if principal is None:
            raise ProblemError("invalid_token", headers={"WWW-Authenticate": "Bearer"})
        await record_use(request, db, principal)
        return principal
    settings: Settings = request.app.state.settings
    cookie = request.cookies.get(settings.session_cookie)
    if not cookie:
        return None
    principal = await auth.session_principal(db, cookie)
    if principal is None:
        raise ProblemError("session_expired")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        assert principal.session is not None
        if not hmac.compare_digest(sent.encode(), principal.session.csrf_token.encode()):
            raise ProblemError("csrf_failed")
    request.state.principal = principal
    await record_use(request, db, principal)
    return principal


async def record_use(request: Request, db: AsyncSession, principal: Principal) -> None:
    """Refresh the session's or token's "last used" time when it is old enough."""
    if not principal.stale_seen:
        return
    if request.method not in SAFE_METHODS:
        # A write request's session holds the write lock already: record it there.
        await auth.touch(db, principal, commit=False)
        return
    try:
        async with request.app.state.sessions() as writer:
            await auth.touch(writer, principal)
    except Exception:  # "last used" is informational: never fail a request over it
        log.warning("could not record the use of %s", principal.via, exc_info=True)


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)], db: SessionDep
) -> Principal:
    if principal is None:
        raise ProblemError("not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    await load_membership(db, principal)
    return principal


async def require_admin(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_admin:
        raise ProblemError("admin_required")
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_principal)]
CurrentUser = Annotated[Principal, Depends(require_principal)]
AdminUser = Annotated[Principal, Depends(require_admin)]
