"""Who may design an app: administrators, and whoever the app's published permission sets give
the ``design`` action (a designer edits, validates, plans, publishes and rolls back that app;
creating apps stays with administrators). API tokens narrowed to other apps or actions may not.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from builder.apps.service import get_app, published_definition
from runtime.auth.principal import Principal
from runtime.deps import CurrentUser, IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.permissions.access import grantee_matches


async def can_design(db: AsyncSession, principal: Principal, app: App) -> bool:
    if principal.token_apps is not None and app.key not in principal.token_apps:
        return False
    if principal.token_actions is not None and "design" not in principal.token_actions:
        return False
    if principal.is_admin:
        return True
    definition = await published_definition(db, app)
    if definition is None:
        return False
    return any(
        "design" in grant.actions and grantee_matches(grant.grantee, principal, app.id)
        for grant in definition.permissions
    )


async def require_designer(app_id: IdPath, principal: CurrentUser, db: SessionDep) -> Principal:
    """The caller, if they may design app ``app_id`` (403 otherwise, 404 for no such app)."""
    app = await get_app(db, app_id)
    if not await can_design(db, principal, app):
        raise ProblemError("forbidden", extra={"action": "design"})
    return principal


Designer = Annotated[Principal, Depends(require_designer)]
