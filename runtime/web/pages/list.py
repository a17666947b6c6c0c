"""The list page of a published form: columns, filter bar and chips, search, sort, keyset
pages, saved views. Bulk actions, import and export are in :mod:`.list_actions`."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from runtime.auth.principal import Principal
from runtime.deps import SessionDep
from runtime.errors import ProblemError
from runtime.permissions.access import Access
from runtime.records import reader
from runtime.records.columns import importable
from runtime.records.forms import FormHandle, resolve
from runtime.records.scope import check_token, require
from runtime.views import service as views
from runtime.views.models import SavedView
from runtime.web.deps import PageUser, page_time_zone
from runtime.web.formatting import format_datetime
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _
from runtime.web.listing import cells
from runtime.web.listing.filters import (
    Chip,
    FilterField,
    FilterInputError,
    build,
    chip,
    filter_fields,
)
from runtime.web.listing.state import (
    PAGE_SIZES,
    ListState,
    available_columns,
    default_columns,
    parse_columns,
    parse_filter,
    sortable,
    split_conditions,
)
from runtime.web.nav import nav_for
from runtime.web.record_form import (
    Choice,
    FormView,
    client_texts,
    picker_choices,
    picker_options,
    picker_spec,
)
from runtime.web.templating import label_text, render

router = APIRouter(include_in_schema=False)
Keys = Annotated[str, Query(max_length=2000)]


async def form_for(
    db: SessionDep, principal: Principal, app_key: str, form_key: str, action: str = "read"
) -> tuple[FormHandle, Access]:
    """The published form and the caller's rights (403 without ``action``)."""
    handle = await resolve(db, app_key, form_key)
    check_token(handle, principal, action)
    return handle, require(handle, principal, action)


def list_url(app_key: str, form_key: str) -> str:
    return f"/apps/{app_key}/forms/{form_key}"


async def _state(
    db: SessionDep,
    handle: FormHandle,
    rights: Access,
    principal: Principal,
    *,
    view: int | None,
    cols: list[str],
    filter_text: str | None,
    q: str,
    sort: str | None,
    cursor: str,
    back: str,
    limit: int,
) -> tuple[ListState, SavedView | None]:
    """The list's state from its URL; a saved view fills what the URL leaves out."""
    saved = await views.get_view(db, handle, principal, view) if view else None
    allowed = available_columns(handle, rights)
    columns = parse_columns(cols, allowed)
    if not columns and saved is not None:
        columns = parse_columns(list(saved.columns), allowed)
    if filter_text is not None:
        conditions = parse_filter(filter_text)
    else:
        conditions = split_conditions(saved.filter) if saved is not None else []
    if sort is None:
        sort = (saved.sort if saved is not None else None) or ""
    state = ListState(
        columns=columns or default_columns(handle, rights),
        conditions=conditions,
        q=q.strip(),
        sort=sort,
        cursor=cursor,
        back=[b for b in back.split(",") if b] if back else [],
        limit=limit if limit in PAGE_SIZES else 25,
        view=saved.id if saved is not None else None,
    )
    return state, saved


@router.get("/apps/{app_key}/forms/{form_key}", name="list_page")
async def list_page(
    request: Request,
    app_key: str,
    form_key: str,
    principal: PageUser,
    db: SessionDep,
    view: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    cols: Annotated[list[str] | None, Query(max_length=2000)] = None,
    filter: Annotated[str | None, Query(max_length=8000)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    sort: Annotated[str | None, Query(max_length=300)] = None,
    cursor: Annotated[str, Query(max_length=200)] = "",
    back: Annotated[str, Query(max_length=4000)] = "",
    limit: int = 25,
    ff: Annotated[str, Query(max_length=63)] = "",
    fo: Annotated[str, Query(max_length=20)] = "",
    fa: Annotated[str, Query(max_length=200)] = "",
    fb: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    nav = await nav_for(db, principal, app_key)
    handle, rights = await form_for(db, principal, app_key, form_key)
    errors = FormErrors()
    try:
        state, saved = await _state(
            db,
            handle,
            rights,
            principal,
            view=view,
            cols=cols or [],
            filter_text=filter,
            q=q,
            sort=sort,
            cursor=cursor,
            back=back,
            limit=limit,
        )
    except ProblemError as exc:
        if exc.code == "not_found":
            raise
        errors = FormErrors.from_problem(exc)
        state, saved = ListState(default_columns(handle, rights)), None
    fields = filter_fields(handle, rights)
    tz = page_time_zone(request)
    if ff and not errors:
        item = fields.get(ff)
        try:
            if item is None:
                raise FilterInputError("field", _("Choose a field."))
            condition = build(item, fo, fa, fb, tz)
        except FilterInputError as problem:
            errors.add(f"f{problem.slot}", problem.message)
        else:
            target = list_url(app_key, form_key) + state.query(
                conditions=[*state.conditions, condition]
            )
            return RedirectResponse(target, status_code=303)
    return await _render(
        request,
        db,
        principal,
        nav,
        handle,
        rights,
        state,
        saved,
        fields,
        errors,
        chosen={"ff": ff, "fo": fo, "fa": fa, "fb": fb},
    )


async def _render(
    request: Request,
    db: SessionDep,
    principal: Principal,
    nav: Any,
    handle: FormHandle,
    rights: Access,
    state: ListState,
    saved: SavedView | None,
    fields: dict[str, FilterField],
    errors: FormErrors,
    *,
    chosen: dict[str, str],
    status_code: int | None = None,
) -> Response:
    tz = page_time_zone(request)
    shown = [k for k in state.columns if k in handle.validator.specs]
    items: list[dict[str, Any]] = []
    total: int | None = None
    next_cursor = None
    if not errors.form:
        try:
            page = await reader.list_records(
                db,
                handle,
                principal,
                filter_rule=state.rule,
                sort=state.sort or None,
                limit=state.limit,
                cursor=state.cursor or None,
                fields=",".join(shown) or handle.form.keys[0],
                with_total=True,
                search=state.q or None,
            )
            items, total, next_cursor = page.items, page.total, page.next_cursor
        except ProblemError as exc:
            errors = FormErrors.from_problem(exc)
    known = await cells.names(db, handle, shown, items)

    def when(value: Any) -> str:
        return format_datetime(value, tz, "short")

    rows = [
        {
            "id": item["id"],
            "row_version": item["row_version"],
            "cells": [cells.cell_text(handle, k, item, known, when) for k in state.columns],
        }
        for item in items
    ]
    chosen_field = fields.get(chosen.get("ff", "")) or next(iter(fields.values()), None)
    bulk_keys = bulk_fields(handle, rights)
    bulk_view = (
        await FormView.single(db, handle, principal, bulk_keys[0], name="value", time_zone=tz)
        if rows and bulk_keys
        else None
    )
    base = list_url(nav.key, handle.form.key)
    return render(
        request,
        "pages/list.html",
        status_code=status_code or (422 if errors else 200),
        nav=nav,
        form=handle.form,
        base=base,
        state=state,
        saved=saved,
        views=await views.visible_views(db, handle, principal),
        columns=[
            {"key": k, "label": cells.column_label(handle, k), "sortable": sortable(handle, k)}
            for k in state.columns
        ],
        all_columns=[
            {"key": k, "label": cells.column_label(handle, k)}
            for k in available_columns(handle, rights)
        ],
        rows=rows,
        total=total,
        next_url=base + state.next_page(next_cursor) if next_cursor else None,
        previous_url=base + back if (back := state.previous_page()) else None,
        chips=await named_chips(
            db, handle, principal, [chip(c, fields, tz) for c in state.conditions]
        ),
        fields=list(fields.values()),
        chosen_field=chosen_field,
        chosen=chosen,
        choices=await filter_choices(db, handle, principal, chosen_field, chosen),
        picker_texts=picker_texts(),
        errors=errors,
        page_sizes=PAGE_SIZES,
        can_create=rights.can("create"),
        can_update=rights.can("update"),
        can_delete=rights.can("delete"),
        can_import=rights.can("import") and rights.can("create"),
        can_export=rights.can("export"),
        bulk_fields=[{"key": k, "label": handle.spec(k).label} for k in bulk_keys],
        bulk_view=bulk_view,
        is_owner=saved is not None and saved.owner_id == principal.user_id,
        export_query=state.params(cursor="", back=[]),
    )


@router.get("/apps/{app_key}/forms/{form_key}/filter-input", name="list_filter_input")
async def filter_input(
    request: Request,
    app_key: str,
    form_key: str,
    principal: PageUser,
    db: SessionDep,
    ff: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    """The operator and value inputs of one field (htmx swaps them in when the field changes)."""
    handle, rights = await form_for(db, principal, app_key, form_key)
    fields = filter_fields(handle, rights)
    item = fields.get(ff) or next(iter(fields.values()), None)
    return render(
        request,
        "partials/list_filter_inputs.html",
        base=list_url(app_key, form_key),
        chosen_field=item,
        chosen={"ff": ff},
        choices=await filter_choices(db, handle, principal, item, {}),
        errors=FormErrors(),
    )


def bulk_fields(handle: FormHandle, rights: Access) -> list[str]:
    """The fields the caller may set on many records at once (in form order)."""
    if not rights.can("update"):
        return []
    restricted = rights.restricted_for_write("update")
    return [k for k in handle.form.keys if importable(handle, k) and k not in restricted]


def picker_texts() -> str:
    """What the pickers' comboboxes say (``forms.js``), as a JSON data block's text."""
    return json.dumps(client_texts()).replace("</", "<\\/")


async def filter_choices(
    db: SessionDep,
    handle: FormHandle,
    principal: Principal,
    item: FilterField | None,
    chosen: dict[str, str],
) -> list[Choice]:
    """The filter bar's choices for a user, department or relation field (the chosen one
    first); the combobox searches the rest."""
    if item is None or not item.picked:
        return []
    value = chosen.get("fa", "")
    wanted: list[Any] = [int(value)] if value.isdigit() else []
    return await picker_choices(db, handle, principal, item.key, wanted)


async def named_chips(
    db: SessionDep, handle: FormHandle, principal: Principal, chips: list[Chip]
) -> list[Chip]:
    """The chips of user, department and relation filters with names instead of ids."""
    named = []
    for item in chips:
        if item.key and item.values and picker_spec(handle, item.key) is not None:
            ids = [int(v) for v in item.values if v.isdigit()]
            found = await picker_options(db, handle, principal, item.key, ids=ids)
            labels = {str(c.value): label_text(c.label) for c in found}
            item = replace(item, values=[labels.get(v, f"#{v}") for v in item.values])
        named.append(item)
    return named


# --- saved views ----------------------------------------------------------------------------


def _view_values(
    handle: FormHandle, rights: Access, cols: str, filter_text: str, sort: str
) -> tuple[list[str], Any, str | None]:
    columns = parse_columns([cols], available_columns(handle, rights))
    conditions = parse_filter(filter_text)
    return columns, ({"and": conditions} if conditions else None), sort or None


@router.post("/apps/{app_key}/forms/{form_key}/views", name="list_view_create")
async def create_view(
    request: Request,
    app_key: str,
    form_key: str,
    principal: PageUser,
    db: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    cols: Annotated[str, Form(max_length=4000)] = "",
    filter: Annotated[str, Form(max_length=8000)] = "",
    sort: Annotated[str, Form(max_length=300)] = "",
    shared: Annotated[bool, Form()] = False,
) -> Response:
    """Save the list's columns, filter and sort under a name; show the list through it."""
    handle, rights = await form_for(db, principal, app_key, form_key)
    errors = FormErrors()
    if not name.strip():
        errors.add("view_name", _("Give the view a name."))
    elif len(name.strip()) > 100:
        errors.add("view_name", _("Use at most 100 characters."))
    if not errors:
        try:
            columns, rule, order = _view_values(handle, rights, cols, filter, sort)
            view = await views.create_view(
                db,
                handle,
                principal,
                name=name.strip(),
                columns=columns,
                rule=rule,
                sort=order,
                shared=shared,
            )
            view_id = view.id
            await db.commit()
            return RedirectResponse(
                f"{list_url(app_key, form_key)}?view={view_id}", status_code=303
            )
        except ProblemError as exc:
            errors = _view_errors(exc)
    return await _back_to_list(
        request, db, principal, app_key, form_key, cols, filter, sort, errors, None
    )


def _view_errors(exc: ProblemError) -> FormErrors:
    if exc.code == "already_exists":
        return FormErrors(fields={"view_name": [_("You already have a view with this name.")]})
    if exc.code == "conflict":
        return FormErrors(
            form=_("Someone changed this view in the meantime. Reload it and try again.")
        )
    return FormErrors.from_problem(exc)


async def _back_to_list(
    request: Request,
    db: SessionDep,
    principal: Principal,
    app_key: str,
    form_key: str,
    cols: str,
    filter_text: str,
    sort: str,
    errors: FormErrors,
    view: int | None,
) -> Response:
    """The list again (its state from the posted form) with the errors of a view change."""
    nav = await nav_for(db, principal, app_key)
    handle, rights = await form_for(db, principal, app_key, form_key)
    try:
        state, saved = await _state(
            db,
            handle,
            rights,
            principal,
            view=view,
            cols=[cols],
            filter_text=filter_text,
            q="",
            sort=sort,
            cursor="",
            back="",
            limit=25,
        )
    except ProblemError:
        state, saved = ListState(default_columns(handle, rights)), None
    status = 409 if errors.form and not errors.fields else 422
    return await _render(
        request,
        db,
        principal,
        nav,
        handle,
        rights,
        state,
        saved,
        filter_fields(handle, rights),
        errors,
        chosen={},
        status_code=status,
    )


@router.post("/apps/{app_key}/forms/{form_key}/views/{view_id}", name="list_view_update")
async def update_view(
    request: Request,
    app_key: str,
    form_key: str,
    view_id: int,
    principal: PageUser,
    db: SessionDep,
    row_version: Annotated[int, Form()] = 0,
    cols: Annotated[str, Form(max_length=4000)] = "",
    filter: Annotated[str, Form(max_length=8000)] = "",
    sort: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Store the list's current columns, filter and sort in the owner's view (409: stale)."""
    handle, rights = await form_for(db, principal, app_key, form_key)
    try:
        columns, rule, order = _view_values(handle, rights, cols, filter, sort)
        changes = {"columns": columns, "filter": rule, "sort": order}
        await views.update_view(db, handle, principal, view_id, row_version, changes)
        await db.commit()
    except ProblemError as exc:
        if exc.code in ("not_found", "forbidden"):
            raise
        errors = _view_errors(exc)
        return await _back_to_list(
            request, db, principal, app_key, form_key, cols, filter, sort, errors, view_id
        )
    return RedirectResponse(f"{list_url(app_key, form_key)}?view={view_id}", status_code=303)


@router.post("/apps/{app_key}/forms/{form_key}/views/{view_id}/delete", name="list_view_delete")
async def delete_view(
    request: Request,
    app_key: str,
    form_key: str,
    view_id: int,
    principal: PageUser,
    db: SessionDep,
    row_version: Annotated[int, Form()] = 0,
) -> Response:
    handle, _rights = await form_for(db, principal, app_key, form_key)
    try:
        await views.delete_view(db, handle, principal, view_id, row_version or None)
        await db.commit()
    except ProblemError as exc:
        if exc.code != "conflict":
            raise
        return await _back_to_list(
            request, db, principal, app_key, form_key, "", "", "", _view_errors(exc), view_id
        )
    return RedirectResponse(list_url(app_key, form_key), status_code=303)
