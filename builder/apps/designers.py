"""Who may design an app: administrators, and whoever the app's published permission sets give
the ``design`` action (a designer edits, validates, plans, publishes and rolls back that app;
creating apps stays with administrators). API tokens narrowed to other apps or actions may not.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition, load
from builder.apps.models import App, AppVersion
from builder.apps.service import get_app, published_definition
from runtime.auth.principal import Principal
from runtime.deps import CurrentUser, IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.permissions.access import grantee_matches


def _token_allows(principal: Principal, app: App) -> bool:
    apps, actions = principal.token_apps, principal.token_actions
    return (apps is None or app.key in apps) and (actions is None or "design" in actions)


def _granted(principal: Principal, app: App, definition: AppDefinition | None) -> bool:
    return definition is not None and any(
        "design" in grant.actions and grantee_matches(grant.grantee, principal, app.id)
        for grant in definition.permissions
    )


async def can_design(db: AsyncSession, principal: Principal, app: App) -> bool:
    if not _token_allows(principal, app):
        return False
    if principal.is_admin:
        return True
    return _granted(principal, app, await published_definition(db, app))


async def designable(db: AsyncSession, principal: Principal, apps: list[App]) -> list[App]:
    """The apps among ``apps`` the caller may design (published definitions read in one query,
    not one per app)."""
    if principal.is_admin or not apps:
        return [app for app in apps if await can_design(db, principal, app)]
    published = {app.published_version_id for app in apps if app.published_version_id}
    rows = await db.execute(
        select(AppVersion.id, AppVersion.definition).where(AppVersion.id.in_(published))
    )
    definitions = {version_id: load(document) for version_id, document in rows}
    return [
        app
        for app in apps
        if _token_allows(principal, app)
        and _granted(principal, app, definitions.get(app.published_version_id or 0))
    ]


async def require_designer(app_id: IdPath, principal: CurrentUser, db: SessionDep) -> Principal:
    """The caller, if they may design app ``app_id`` (403 otherwise, 404 for no such app)."""
    app = await get_app(db, app_id)
    if not await can_design(db, principal, app):
        raise ProblemError("forbidden", extra={"action": "design"})
    return principal


Designer = Annotated[Principal, Depends(require_designer)]
