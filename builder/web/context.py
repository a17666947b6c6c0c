"""What every builder page knows of the app it designs: the app, its draft and published
version, whether the draft has unpublished changes, and what the draft contains."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition, load
from builder.apps.designers import can_design
from builder.apps.models import App, AppVersion
from builder.apps.service import get_draft
from runtime.auth.principal import Principal
from runtime.deps import SessionDep
from runtime.errors import ProblemError
from runtime.web.deps import PageUser

#: The parts of a definition the builder's navigation and overview count.
PARTS = ("forms", "flows", "dashboards", "rules", "sla", "calendars", "roles", "permissions")


@dataclass
class AppStatus:
    """One app as the builder shows it: draft vs published status everywhere."""

    app: App
    draft: AppVersion
    published: AppVersion | None

    @property
    def draft_definition(self) -> AppDefinition:
        return load(self.draft.definition)

    @property
    def published_definition(self) -> AppDefinition | None:
        return load(self.published.definition) if self.published else None

    @property
    def has_changes(self) -> bool:
        """Whether the draft differs from what end users run."""
        if self.published is None:
            return True
        return _normal(self.draft.definition) != _normal(self.published.definition)

    @property
    def state(self) -> str:
        """``unpublished`` (never published), ``changed`` (draft ahead) or ``published``."""
        if self.published is None:
            return "unpublished"
        return "changed" if self.has_changes else "published"

    def counts(self) -> dict[str, int]:
        definition = self.draft.definition
        return {part: len(definition.get(part) or []) for part in PARTS}

    def config(self) -> dict[str, Any]:
        """What the builder's scripts need to reach the API (rendered as a JSON block)."""
        return {
            "app_id": self.app.id,
            "app_key": self.app.key,
            "draft_url": f"/api/v1/apps/{self.app.id}/draft",
            "row_version": self.draft.row_version,
        }


def _normal(document: dict[str, Any]) -> dict[str, Any]:
    return load(document).model_dump(mode="json")


async def app_status(db: AsyncSession, app: App) -> AppStatus:
    draft = await get_draft(db, app.id)
    published = (
        await db.get(AppVersion, app.published_version_id) if app.published_version_id else None
    )
    return AppStatus(app, draft, published)


async def app_by_key(db: AsyncSession, key: str) -> App:
    app = (
        await db.execute(select(App).where(App.key == key, App.deleted_at.is_(None)))
    ).scalar_one_or_none()
    if app is None:
        raise ProblemError("not_found")
    return app


@dataclass
class DesignContext:
    """The signed-in designer and the app (by the path's ``app_key``) they design."""

    principal: Principal
    status: AppStatus

    @property
    def app(self) -> App:
        return self.status.app


async def design_context(app_key: str, principal: PageUser, db: SessionDep) -> DesignContext:
    """The app ``app_key`` if the page's user may design it (404 / 403 otherwise)."""
    app = await app_by_key(db, app_key)
    if not await can_design(db, principal, app):
        raise ProblemError("forbidden", extra={"action": "design"})
    return DesignContext(principal, await app_status(db, app))


Designing = Annotated[DesignContext, Depends(design_context)]
