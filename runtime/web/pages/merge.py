"""Merging a record with its duplicate from the record's page: the records that share its
e-mail, phone, WeChat openid or name (or any record by its ID), merge one into this one, and
the merges this record took part in with their undo. The work is ``runtime.records.merge``;
the form's duplicates page lists every group of duplicates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.deps import IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.records import duplicates as finder
from runtime.records.forms import FormHandle, PublishedApp, resolve, resolve_app
from runtime.records.merge import merge_records, merges_of, undo_merge
from runtime.records.models import RecordMerge
from runtime.records.scope import check_token, require
from runtime.records.writer import commit_and_dispatch
from runtime.web.deps import PageUser
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _
from runtime.web.nav import nav_for
from runtime.web.pages.record import Key, _page_values, record_url
from runtime.web.record_view import record_title
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)


async def _forms(
    db: AsyncSession, app: str, form: str, principal: Principal
) -> tuple[PublishedApp, FormHandle]:
    handle = await resolve(db, app, form)
    check_token(handle, principal, "delete")
    require(handle, principal, "update")
    require(handle, principal, "delete")
    return await resolve_app(db, app), handle


def _shown(handle: FormHandle, keys: list[str], record: dict[str, Any]) -> dict[str, Any]:
    """A candidate as the page lists it: title and the identifying values."""
    values = record["values"]
    return {
        "id": record["id"],
        "title": record_title(handle, values, record["id"]),
        "values": [(handle.spec(k).label, values.get(k)) for k in keys if values.get(k)],
        "created_at": record["created_at"],
        "url": record_url(handle, record["id"]),
    }


async def _merge_page(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    app: str,
    form: str,
    record_id: int,
    *,
    errors: FormErrors | None = None,
    done: int | None = None,
    undone: int | None = None,
    status_code: int = 200,
) -> Response:
    published, handle = await _forms(db, app, form, principal)
    values = await _page_values(request, db, principal, app, form, record_id)
    keys = finder.identity_fields(published, handle) or (
        [handle.form.title_field] if handle.form.title_field else []
    )
    groups = (
        await finder.duplicates(db, principal, handle, keys, record_id=record_id)
        if keys and not values["record"]["deleted_at"]
        else []
    )
    seen: dict[int, dict[str, Any]] = {}
    for group in groups:
        for record in group.records:
            if record["id"] != record_id and record["id"] not in seen:
                seen[record["id"]] = _shown(handle, keys, record)
                seen[record["id"]]["reasons"] = []
            if record["id"] in seen:
                seen[record["id"]]["reasons"].append(handle.spec(group.field).label)
    return render(
        request,
        "pages/record_merge.html",
        **values,
        candidates=list(seen.values()),
        merges=await merges_of(db, handle.form_id, record_id),
        errors=errors or FormErrors(),
        done=done,
        undone=undone,
        status_code=status_code,
        merge_base=f"/apps/{app}/forms/{form}/merges",
    )


@router.get("/apps/{app}/forms/{form}/records/{record_id}/merge", name="record_merge")
async def merge_page(
    request: Request,
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    done: Annotated[int | None, Query(ge=1)] = None,
    undone: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return await _merge_page(request, db, principal, app, form, record_id, done=done, undone=undone)


@router.post("/apps/{app}/forms/{form}/records/{record_id}/merge", name="record_merge_post")
async def merge(
    request: Request,
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    merge: Annotated[str, Form(max_length=20)] = "",
    other: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Merge the chosen record (a candidate, or the ID typed) into this one."""
    published, handle = await _forms(db, app, form, principal)
    chosen = (other or merge).strip().lstrip("#")
    try:
        if not chosen.isdigit():
            raise ProblemError("validation_failed")
        async with db.begin_nested():
            row = await merge_records(db, principal, published, handle, record_id, int(chosen))
        merge_id = row.id
        await commit_and_dispatch(db)
    except ProblemError as exc:
        errors = FormErrors.from_problem(exc)
        if exc.code == "not_found":
            errors.form = _not_mergeable(chosen)
        return await _merge_page(
            request, db, principal, app, form, record_id, errors=errors, status_code=exc.status
        )
    return RedirectResponse(f"{record_url(handle, record_id)}/merge?done={merge_id}", 303)


@router.post("/apps/{app}/forms/{form}/merges/{merge_id}/undo", name="record_merge_undo")
async def undo(
    request: Request, app: Key, form: Key, merge_id: IdPath, principal: PageUser, db: SessionDep
) -> Response:
    published, handle = await _forms(db, app, form, principal)
    row = await db.get(RecordMerge, merge_id, with_for_update=True)
    if row is None or row.form_id != handle.form_id:
        raise ProblemError("merge_not_found")
    survivor = row.survivor_id
    try:
        async with db.begin_nested():
            await undo_merge(db, principal, published, handle, row)
        await commit_and_dispatch(db)
    except ProblemError as exc:
        return await _merge_page(
            request,
            db,
            principal,
            app,
            form,
            survivor,
            errors=FormErrors.from_problem(exc),
            status_code=exc.status,
        )
    return RedirectResponse(f"{record_url(handle, survivor)}/merge?undone={merge_id}", 303)


@router.get("/apps/{app}/forms/{form}/duplicates", name="form_duplicates")
async def duplicates_page(
    request: Request, app: Key, form: Key, principal: PageUser, db: SessionDep
) -> Response:
    """Every group of possible duplicates of the form (by its identifying fields)."""
    published, handle = await _forms(db, app, form, principal)
    keys = finder.identity_fields(published, handle) or (
        [handle.form.title_field] if handle.form.title_field else []
    )
    groups = await finder.duplicates(db, principal, handle, keys) if keys else []
    return render(
        request,
        "pages/duplicates.html",
        nav=await nav_for(db, principal, app),
        handle=handle,
        form_label=handle.form.label,
        list_url=f"/apps/{app}/forms/{form}",
        groups=[
            {
                "label": handle.spec(g.field).label,
                "value": g.value,
                "records": [_shown(handle, keys, r) for r in g.records],
            }
            for g in groups
        ],
    )


def _not_mergeable(chosen: str) -> str:
    return _(
        "Record #%(id)s cannot be merged here: it does not exist, was deleted, "
        "or you may not delete it.",
        id=chosen,
    )
