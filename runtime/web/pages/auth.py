"""Sign-in, sign-out, password change and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth import service as auth
from runtime.auth.cookies import clear_session_cookies, set_session_cookies
from runtime.deps import SessionDep
from runtime.errors import ProblemError
from runtime.i18n import LOCALES
from runtime.requestctx import client_ip_var
from runtime.web import csrf
from runtime.web.deps import LOCALE_COOKIE, MaybePageUser, PageUser, safe_next, set_page_locale
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _
from runtime.web.templating import render
from templates import demo_accounts

router = APIRouter(include_in_schema=False)


async def _sign_in_page(
    request: Request,
    db: AsyncSession,
    *,
    next_url: str,
    username: str = "",
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    token, fresh = csrf.login_token(request)
    request.state.login_csrf = token
    response = render(
        request,
        "pages/sign_in.html",
        status_code=status_code,
        next_url=next_url,
        username=username,
        errors=errors or FormErrors(),
        # Demo data installed (templates/demo_accounts.py): one account per role to try.
        demo_accounts=await demo_accounts.shown(db),
    )
    csrf.set_login_cookie(request, response, fresh)
    return response


@router.get("/sign-in", name="sign_in")
async def sign_in_form(
    request: Request, principal: MaybePageUser, db: SessionDep, next: str = "/"
) -> Response:
    next_url = safe_next(next)
    if principal is not None:
        return RedirectResponse(next_url, status_code=303)
    return await _sign_in_page(request, db, next_url=next_url)


@router.post("/sign-in")
async def sign_in(
    request: Request,
    db: SessionDep,
    username: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    set_page_locale(request, None)
    next_url = safe_next(next)
    try:
        await csrf.verify_login(request)
    except ProblemError:
        errors = FormErrors(form=_("The sign-in form expired. Please try again."))
        return await _sign_in_page(
            request, db, next_url=next_url, username=username, errors=errors, status_code=403
        )
    errors = FormErrors()
    if not username.strip():
        errors.add("username", _("Enter your username."))
    if not password:
        errors.add("password", _("Enter your password."))
    if errors:
        return await _sign_in_page(
            request, db, next_url=next_url, username=username, errors=errors, status_code=422
        )
    settings = request.app.state.settings
    try:
        user, new = await auth.login(
            db,
            settings,
            username,
            password,
            ip=client_ip_var.get(),
            user_agent=request.headers.get("user-agent"),
        )
        await db.commit()
    except ProblemError as exc:
        await db.rollback()
        return await _sign_in_page(
            request,
            db,
            next_url=next_url,
            username=username,
            errors=FormErrors.from_problem(exc),
            status_code=exc.status,
        )
    target = "/account/password?first=1" if user.must_change_password else next_url
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(response, request, settings, new)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/")
    return response


@router.post("/sign-out", name="sign_out")
async def sign_out(request: Request, principal: PageUser, db: SessionDep) -> Response:
    await auth.logout(db, principal)
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookies(response, request.app.state.settings)
    return response


@router.get("/account/password", name="password")
async def password_form(request: Request, principal: PageUser, first: bool = False) -> Response:
    return render(request, "pages/password.html", errors=FormErrors(), first=first, done=False)


@router.post("/account/password")
async def change_password(
    request: Request,
    principal: PageUser,
    db: SessionDep,
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    confirm_password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    errors = FormErrors()
    if not current_password:
        errors.add("current_password", _("Enter your current password."))
    if not new_password:
        errors.add("new_password", _("Enter a new password."))
    elif new_password != confirm_password:
        errors.add("confirm_password", _("The two new passwords differ."))
    if not errors:
        try:
            await auth.change_password(db, principal, current_password, new_password)
        except ProblemError as exc:
            await db.rollback()
            errors = FormErrors.from_problem(exc)
    if errors:
        return render(
            request,
            "pages/password.html",
            status_code=422,
            errors=errors,
            first=False,
            done=False,
        )
    return render(request, "pages/password.html", errors=FormErrors(), first=False, done=True)


@router.post("/language", name="language")
async def switch_language(
    request: Request,
    principal: MaybePageUser,
    db: SessionDep,
    locale: Annotated[str, Form(max_length=10)] = "",
    back: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Choose the UI language: stored on the user when signed in, else in a cookie."""
    if locale not in LOCALES:
        raise ProblemError("validation_failed")
    if principal is not None:
        await csrf.verify(request, principal)
        user = await db.merge(principal.user)
        user.locale = locale
        await db.commit()
    response = RedirectResponse(safe_next(back), status_code=303)
    response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 86400, samesite="lax", path="/")
    return response
