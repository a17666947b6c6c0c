"""The generated form page of a published form: create a record, edit one (optimistic
locking), and the choices of its pickers (users, departments, related records).

Every write goes through :class:`RecordWriter` with the signed-in user, so permissions, field
rights, linkage, rules, flows and webhooks behave as in the API. The form works as a plain POST
(multipart when it holds files); with htmx it submits in place and swaps the errors in.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from runtime.auth.principal import Principal
from runtime.deps import MAX_ID, IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.flows import routes as flow_api
from runtime.permissions.access import access
from runtime.records import reader
from runtime.records.forms import FormHandle, resolve
from runtime.records.scope import check_token, require
from runtime.records.writer import RecordWriter, commit_and_dispatch
from runtime.web.deps import PageUser, page_time_zone
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _
from runtime.web.nav import nav_for
from runtime.web.record_form import (
    WRITABLE_RIGHTS,
    FormView,
    picker_options,
    picker_spec,
    row_change,
)
from runtime.web.templating import render
from runtime.web.uploads import form_uploads

router = APIRouter(include_in_schema=False)

Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
FieldPath = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62})?$")]


def record_url(app_key: str, form_key: str, record_id: int) -> str:
    return f"/apps/{app_key}/forms/{form_key}/records/{record_id}"


async def _handle(
    db: SessionDep, app_key: str, form_key: str, principal: Principal, action: str
) -> FormHandle:
    handle = await resolve(db, app_key, form_key)
    check_token(handle, principal, action)
    require(handle, principal, action)
    return handle


async def _rollback(db: SessionDep, principal: Principal) -> None:
    """Undo a refused write; the user row (expired by the rollback) is read again, since the
    page is rendered once more for them."""
    await db.rollback()
    await db.refresh(principal.user)


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def _done(request: Request, target: str) -> Response:
    if _htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _page(
    request: Request,
    db: SessionDep,
    principal: Principal,
    view: FormView,
    errors: FormErrors,
    *,
    status_code: int = 200,
    conflict: bool = False,
) -> Response:
    handle = view.handle
    if view.record_id is None:
        action_url = f"/apps/{handle.app_key}/forms/{handle.form.key}/new"
        back = f"/apps/{handle.app_key}/forms/{handle.form.key}"
    else:
        back = record_url(handle.app_key, handle.form.key, view.record_id)
        action_url = back + "/edit"
    return render(
        request,
        "pages/record_form.html",
        status_code=status_code,
        nav=await nav_for(db, principal, handle.app_key),
        view=view,
        errors=errors,
        form_label=handle.form.label,
        action_url=action_url,
        back_url=back,
        conflict=conflict,
        multipart=any(f.widget == "files" and not f.readonly for f in view.all_fields()),
    )


def _problem_errors(exc: ProblemError) -> FormErrors:
    """A refused write's messages; field problems get a hint to look below, not the
    generic title."""
    errors = FormErrors.from_problem(exc)
    if exc.code == "validation_failed" and errors.fields:
        errors.form = _("Check the fields marked below.")
    return errors


async def _submitted(
    request: Request,
    db: SessionDep,
    principal: Principal,
    handle: FormHandle,
    record: dict[str, Any] | None,
) -> tuple[dict[str, Any], FormData, FormErrors]:
    form = await request.form()
    view = await FormView.build(
        db, handle, principal, record=record, time_zone=page_time_zone(request)
    )
    uploaded, errors = await form_uploads(request, db, principal, view, form)
    return view.parse(form, uploaded), form, errors


async def _again(
    request: Request,
    db: SessionDep,
    principal: Principal,
    handle: FormHandle,
    record: dict[str, Any] | None,
    values: dict[str, Any],
    errors: FormErrors,
    *,
    status_code: int,
    change: tuple[str, int] | None = None,
    conflict: bool = False,
) -> Response:
    """The form again with the submitted values (and errors, or a changed sub-table)."""
    view = await FormView.build(
        db, handle, principal, record=record, values=values, time_zone=page_time_zone(request)
    )
    if change is not None:
        view.with_rows(*change)
    return await _page(
        request, db, principal, view, errors, status_code=status_code, conflict=conflict
    )


# --- create ------------------------------------------------------------------------------------


@router.get("/apps/{app_key}/forms/{form_key}/new", name="record_new")
async def new_record(
    request: Request, app_key: Key, form_key: Key, principal: PageUser, db: SessionDep
) -> Response:
    handle = await _handle(db, app_key, form_key, principal, "create")
    view = await FormView.build(db, handle, principal, time_zone=page_time_zone(request))
    return await _page(request, db, principal, view, FormErrors())


@router.post("/apps/{app_key}/forms/{form_key}/new")
async def create_record(
    request: Request, app_key: Key, form_key: Key, principal: PageUser, db: SessionDep
) -> Response:
    handle = await _handle(db, app_key, form_key, principal, "create")
    values, form, errors = await _submitted(request, db, principal, handle, None)
    change = row_change(form)
    if change is not None or errors:
        status = 200 if change is not None and not errors else 422
        return await _again(
            request, db, principal, handle, None, values, errors, status_code=status, change=change
        )
    writer = RecordWriter(db, handle, principal, source="web", time_zone=page_time_zone(request))
    try:
        record = await writer.create(values)
        await commit_and_dispatch(db)
    except ProblemError as exc:
        await _rollback(db, principal)
        return await _again(
            request,
            db,
            principal,
            handle,
            None,
            values,
            _problem_errors(exc),
            status_code=exc.status,
        )
    return _done(request, record_url(app_key, form_key, record["id"]))


# --- edit --------------------------------------------------------------------------------------


@router.get("/apps/{app_key}/forms/{form_key}/records/{record_id}/edit", name="record_edit")
async def edit_record(
    request: Request,
    app_key: Key,
    form_key: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
) -> Response:
    handle = await _handle(db, app_key, form_key, principal, "update")
    record = await reader.get_record(db, handle, principal, record_id)
    view = await FormView.build(
        db, handle, principal, record=record, time_zone=page_time_zone(request)
    )
    return await _page(request, db, principal, view, FormErrors())


@router.post("/apps/{app_key}/forms/{form_key}/records/{record_id}/edit")
async def update_record(
    request: Request,
    app_key: Key,
    form_key: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
) -> Response:
    handle = await _handle(db, app_key, form_key, principal, "update")
    record = await reader.get_record(db, handle, principal, record_id)
    values, form, errors = await _submitted(request, db, principal, handle, record)
    sent_version = form.get("row_version")
    if not isinstance(sent_version, str) or not sent_version.isdigit():
        errors.form = _("The form is missing the record's version. Reload the page.")
        return await _again(request, db, principal, handle, record, values, errors, status_code=422)
    change = row_change(form)
    if change is not None or errors:
        status = 200 if change is not None and not errors else 422
        return await _again(
            request,
            db,
            principal,
            handle,
            record,
            values,
            errors,
            status_code=status,
            change=change,
        )
    # The record as the user read it: a changed version is a conflict, never a lost update.
    read = {**record, "row_version": int(sent_version)}
    try:
        await RecordWriter(db, handle, principal, source="web").update(
            record_id, int(sent_version), values
        )
        await commit_and_dispatch(db)
    except ProblemError as exc:
        await _rollback(db, principal)
        conflict = exc.code == "conflict"
        problem = FormErrors() if conflict else _problem_errors(exc)
        return await _again(
            request,
            db,
            principal,
            handle,
            read,
            values,
            problem,
            status_code=exc.status,
            conflict=conflict,
        )
    return _done(request, record_url(app_key, form_key, record_id))


# --- picker choices ----------------------------------------------------------------------------


@router.get("/apps/{app_key}/forms/{form_key}/fields/{path}/options", name="field_options")
async def field_options(
    app_key: Key,
    form_key: Key,
    path: FieldPath,
    principal: PageUser,
    db: SessionDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    task: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> JSONResponse:
    """Choices of a user, department or relation field for the combobox (JSON): the related
    records the caller may read (searched by ``q``), active users or departments. For the
    form and list pages the caller needs a grant on the form and may read the field; with
    ``task`` they work that open task, whose step lets them edit the field."""
    handle = await resolve(db, app_key, form_key)
    key = path.split(".")[0]
    if picker_spec(handle, path) is None:
        raise ProblemError("not_found")
    if task is not None:
        await _task_field(db, principal, handle, task, key)
    else:
        rights = access(handle, principal)
        allowed = [a for a in ("create", "update", "read") if rights.can(a)]
        if not allowed:
            raise ProblemError("forbidden")
        check_token(handle, principal, allowed[0])
        if key in rights.hidden_keys():
            raise ProblemError("not_found")
    choices = await picker_options(db, handle, principal, path, q=q)
    return JSONResponse(
        {"items": [{"value": c.value, "label": str(c.label)} for c in choices]},
        headers={"Cache-Control": "no-store"},
    )


async def _task_field(
    db: SessionDep, principal: Principal, handle: FormHandle, task_id: int, key: str
) -> None:
    """403 unless ``principal`` works open task ``task_id`` on this form and its step lets
    them edit field ``key`` (404 for a task they may not see)."""
    detail = await flow_api.task_detail(db, principal, task_id)
    working = {"complete", "approve"} & set(detail.actions)
    if (
        not working
        or detail.form_id != handle.form_id
        or detail.fields.get(key) not in WRITABLE_RIGHTS
    ):
        raise ProblemError("forbidden")
