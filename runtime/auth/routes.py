"""/api/v1/auth: sign-in, sign-out, the current user, password change, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from runtime.auth import service
from runtime.auth.cookies import clear_session_cookies, set_session_cookies
from runtime.auth.schemas import (
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    UserOut,
)
from runtime.deps import CurrentUser, IdPath, SessionDep, SettingsDep
from runtime.requestctx import client_ip_var

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/login", response_model=LoginOut)
async def login(
    body: LoginIn, request: Request, response: Response, db: SessionDep, settings: SettingsDep
) -> LoginOut:
    """Sign in with username and password; sets the session and CSRF cookies."""
    user, new = await service.login(
        db,
        settings,
        body.username,
        body.password,
        ip=client_ip_var.get(),
        user_agent=request.headers.get("user-agent"),
    )
    await db.commit()
    set_session_cookies(response, request, settings, new)
    return LoginOut(
        user=UserOut.model_validate(user),
        csrf_token=new.record.csrf_token,
        expires_at=new.record.expires_at,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: CurrentUser, db: SessionDep, settings: SettingsDep) -> Response:
    await service.logout(db, principal)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session_cookies(response, settings)
    return response


@router.get("/me", response_model=UserOut)
async def me(principal: CurrentUser) -> UserOut:
    return UserOut.model_validate(principal.user)


@router.post("/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(body: PasswordChangeIn, principal: CurrentUser, db: SessionDep) -> None:
    """Change your own password; your other sessions are signed out."""
    await service.change_password(db, principal, body.current_password, body.new_password)


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(principal: CurrentUser, db: SessionDep) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in await service.list_tokens(db, principal)]


@router.post("/tokens", response_model=TokenCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreateIn, principal: CurrentUser, db: SessionDep
) -> TokenCreatedOut:
    """Create an API token. The secret is in this response only; store it now."""
    expires_at = service.resolve_expiry(body.expires_at, body.expires_in_days)
    record, secret = await service.create_token(
        db, principal, body.name, expires_at, apps=body.apps, actions=body.actions
    )
    return TokenCreatedOut(**TokenOut.model_validate(record).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_token(token_id: IdPath, principal: CurrentUser, db: SessionDep) -> None:
    await service.revoke_token(db, principal, token_id)
