"""/api/docs: the interactive API documentation (Swagger UI from the vendored npm package,
started by a script file, so the page runs under the same CSP as every other page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from runtime.web.deps import set_page_locale
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
async def api_docs(request: Request) -> Response:
    set_page_locale(request, None)
    return render(request, "pages/api_docs.html", openapi_url=request.app.openapi_url)
