"""Publish page: the whole app checked, the migration plan in plain words, publishing with a
progress bar, and the version history with diffs and rollback (static/publish.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from builder.apps import service
from builder.web.context import Designing
from builder.web.pages import builder_page
from runtime.deps import SessionDep

router = APIRouter(include_in_schema=False)


@router.get("/build/apps/{app_key}/publish", name="builder_publish")
async def publish_page(request: Request, design: Designing, db: SessionDep) -> Response:
    versions = await service.list_versions(db, design.app.id)
    return builder_page(request, "builder/pages/publish.html", design, "publish", versions=versions)
