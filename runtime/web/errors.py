"""Errors on pages: an HTML page in the user's language instead of problem+json.

The API's handlers stay in charge of ``/api``; every other path (the pages) gets
``pages/error.html`` with the same status and message. A page that needs a user and has none
redirects to the sign-in page (htmx requests get ``HX-Redirect``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.errors import ERRORS, ProblemError, field_errors_from_pydantic
from runtime.requestctx import request_id_var
from runtime.web.deps import SignInRequired, set_page_locale
from runtime.web.templating import render

log = logging.getLogger("tangram.web")
Handler = Callable[[Request, Exception], Awaitable[Response]]
API_PREFIXES = ("/api", "/static")


def is_page(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIXES)


def _problem_of(exc: Exception) -> tuple[str, dict[str, Any], list[Any]]:
    if isinstance(exc, ProblemError):
        return exc.code, exc.params, exc.errors
    if isinstance(exc, RequestValidationError):
        return "validation_failed", {}, field_errors_from_pydantic(list(exc.errors()))
    if isinstance(exc, StarletteHTTPException):
        code = {401: "not_authenticated", 403: "forbidden", 404: "not_found"}.get(
            exc.status_code, "method_not_allowed" if exc.status_code == 405 else "not_found"
        )
        return code, {}, []
    return "internal_error", {}, []


def error_page(request: Request, exc: Exception) -> Response:
    code, params, errors = _problem_of(exc)
    if code == "internal_error":
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if getattr(request.state, "viewer", None) is None:
        set_page_locale(request, None)
    spec = ERRORS[code]
    try:
        title = spec.title(**params)
    except (KeyError, IndexError):
        title = spec.title()
    values = {"code": code, "title": title, "errors": errors, "request_id": request_id_var.get()}
    if _htmx(request):  # a fragment for the page's flash area
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return render(request, "partials/error_flash.html", spec.status, headers, **values)
    return render(request, "pages/error.html", spec.status, **values)


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def sign_in_redirect(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    if _htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": exc.next_url})
    return RedirectResponse(exc.next_url, status_code=303)


def _for_pages(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if is_page(request):
            return error_page(request, exc)
        return await api_handler(request, exc)

    return handle


def install(app: FastAPI) -> None:
    """Wrap the API's error handlers so pages get HTML; call after install_error_handlers."""
    for kind in (ProblemError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(kind, _for_pages(app.exception_handlers[kind]))
    app.add_exception_handler(SignInRequired, sign_in_redirect)  # type: ignore[arg-type]
