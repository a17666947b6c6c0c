"""/api/v1/records/{app}/{form}/views: saved list views (yours and the shared ones)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from runtime.deps import CurrentUser, IdPath, SessionDep
from runtime.records.forms import FormHandle, resolve
from runtime.records.routes import Key
from runtime.records.scope import check_token, require
from runtime.views import service
from runtime.views.schemas import ViewIn, ViewOut, ViewPatchIn

router = APIRouter(prefix="/api/v1/records", tags=["records"])


async def _handle(db: SessionDep, app: str, form: str, principal: CurrentUser) -> FormHandle:
    handle = await resolve(db, app, form)
    check_token(handle, principal, "read")
    require(handle, principal, "read")
    return handle


@router.get("/{app}/{form}/views", response_model=list[ViewOut])
async def list_views(app: Key, form: Key, principal: CurrentUser, db: SessionDep) -> list[ViewOut]:
    """Your views of the form, then the ones administrators shared."""
    handle = await _handle(db, app, form, principal)
    return [ViewOut.model_validate(v) for v in await service.visible_views(db, handle, principal)]


@router.post("/{app}/{form}/views", response_model=ViewOut, status_code=status.HTTP_201_CREATED)
async def create_view(
    app: Key, form: Key, body: ViewIn, principal: CurrentUser, db: SessionDep
) -> ViewOut:
    """Save columns, filter and sort under a name (only administrators may share one)."""
    handle = await _handle(db, app, form, principal)
    view = await service.create_view(
        db,
        handle,
        principal,
        name=body.name,
        columns=body.columns,
        rule=body.filter,
        sort=body.sort,
        shared=body.shared,
    )
    out = ViewOut.model_validate(view)
    await db.commit()
    return out


@router.get("/{app}/{form}/views/{view_id}", response_model=ViewOut)
async def get_view(
    app: Key, form: Key, view_id: IdPath, principal: CurrentUser, db: SessionDep
) -> ViewOut:
    handle = await _handle(db, app, form, principal)
    return ViewOut.model_validate(await service.get_view(db, handle, principal, view_id))


@router.patch("/{app}/{form}/views/{view_id}", response_model=ViewOut)
async def update_view(
    app: Key, form: Key, view_id: IdPath, body: ViewPatchIn, principal: CurrentUser, db: SessionDep
) -> ViewOut:
    """Change your view; send the ``row_version`` you read (409 with the current one)."""
    handle = await _handle(db, app, form, principal)
    changes = body.model_dump(exclude_unset=True, exclude={"row_version"})
    view = await service.update_view(db, handle, principal, view_id, body.row_version, changes)
    out = ViewOut.model_validate(view)
    await db.commit()
    return out


@router.delete("/{app}/{form}/views/{view_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_view(
    app: Key,
    form: Key,
    view_id: IdPath,
    principal: CurrentUser,
    db: SessionDep,
    row_version: Annotated[int | None, Query(ge=1, le=2**31)] = None,
) -> None:
    handle = await _handle(db, app, form, principal)
    await service.delete_view(db, handle, principal, view_id, row_version)
    await db.commit()
