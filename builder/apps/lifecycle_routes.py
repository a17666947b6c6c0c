"""/api/v1/apps/{id}: rename (PATCH), copy, soft delete (DELETE) and export of an app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status
from fastapi.responses import JSONResponse

from builder.apps import lifecycle
from builder.apps.design_schemas import AppCopyIn, AppDeleteIn, AppUpdateIn
from builder.apps.designers import Designer
from builder.apps.routes import commit
from builder.apps.schemas import AppOut
from runtime.deps import IdPath, SessionDep
from runtime.errors import ProblemError, Text

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])


@router.patch("/{app_id}", response_model=AppOut)
async def update_app(
    app_id: IdPath, body: AppUpdateIn, designer: Designer, db: SessionDep
) -> AppOut:
    """Rename: name and description per locale, icon; send the ``row_version`` you read."""
    changes = body.model_dump(exclude_unset=True, exclude={"row_version"})
    for required in ("name", "description"):
        if required in changes and changes[required] is None:
            changes.pop(required)
    app = await lifecycle.rename_app(db, designer, app_id, body.row_version, changes)
    await commit(db)
    return AppOut.model_validate(app)


@router.post("/{app_id}/copy", response_model=AppOut, status_code=status.HTTP_201_CREATED)
async def copy_app(app_id: IdPath, body: AppCopyIn, designer: Designer, db: SessionDep) -> AppOut:
    """A new unpublished app with this app's draft (new form ids, no records). Creating apps
    is the administrators' (as ``POST /api/v1/apps``)."""
    if not designer.is_admin:
        raise ProblemError("admin_required")
    copy = await lifecycle.copy_app(
        db, designer, app_id, key=body.key, name=body.name, description=body.description
    )
    await commit(db)
    return AppOut.model_validate(copy)


@router.delete("/{app_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_app(
    app_id: IdPath,
    designer: Designer,
    db: SessionDep,
    confirm: Annotated[Text | None, Query(max_length=64, description="The app's key")] = None,
    body: Annotated[AppDeleteIn | None, Body()] = None,
) -> Response:
    """Soft-delete the app: give its key as ``confirm`` (query or body), else 422
    ``confirmation_required``. Its records stay in the database."""
    await lifecycle.delete_app(db, designer, app_id, body.confirm if body else confirm)
    await commit(db)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{app_id}/export", response_class=JSONResponse)
async def export_app(app_id: IdPath, designer: Designer, db: SessionDep) -> JSONResponse:
    """The app's definition (draft, names, published version number) as a file download."""
    document = await lifecycle.export_app(db, designer, app_id)
    await db.commit()  # the audit entry
    key = document["app"]["key"]
    return JSONResponse(
        document, headers={"Content-Disposition": f'attachment; filename="{key}.app.json"'}
    )
