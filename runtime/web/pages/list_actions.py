"""The list page's actions: bulk edit and delete of the selected rows, CSV/XLSX import (at
once, or as a job whose progress the page polls) and export of the current view."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from engines.form.errors import FieldProblem, InvalidValue
from runtime.deps import SessionDep, SettingsDep
from runtime.errors import ProblemError
from runtime.files import routes as files
from runtime.jobs.models import DONE, QUEUED, RUNNING, Job
from runtime.records import io_routes
from runtime.records.columns import exportable
from runtime.records.errors import field_errors
from runtime.records.forms import FormHandle
from runtime.records.io_schemas import ImportIn
from runtime.records.writer import RecordWriter, commit_and_dispatch
from runtime.web.deps import PageUser, page_time_zone, safe_next
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _
from runtime.web.nav import nav_for
from runtime.web.pages.list import bulk_fields, form_for, list_url, picker_texts
from runtime.web.record_form import FormView, parse_value
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)
_PICK = re.compile(r"^(\d{1,18}):(\d{1,10})$")
_INDEXED = re.compile(r"^\[(\d+)\]\.?(.*)$")


def _picks(values: list[str]) -> list[tuple[int, int]]:
    """The selected rows: ``id:row_version`` pairs (anything else is ignored)."""
    found: dict[int, int] = {}
    for value in values:
        match = _PICK.match(value)
        if match:
            found.setdefault(int(match[1]), int(match[2]))
    return list(found.items())


def _message(exc: ProblemError) -> str:
    errors = FormErrors.from_problem(exc)
    details = [m for messages in errors.fields.values() for m in messages]
    return "; ".join(details) or errors.form or ""


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# --- bulk -----------------------------------------------------------------------------------


def _parse_value(handle: FormHandle, key: str, raw: str) -> Any:
    """A value typed as text, parsed by the field type like an imported cell (blank: empty)."""
    text = raw.strip()
    if not text:
        return [] if handle.field_type(key).has_links else None
    try:
        return handle.field_type(key).parse_text(handle.spec(key), text)
    except InvalidValue as exc:
        [error] = field_errors([FieldProblem(key, exc.code, exc.params)])
        raise ProblemError("validation_failed", errors=[error]) from exc


async def _bulk_edit(
    db: SessionDep,
    handle: FormHandle,
    writer: RecordWriter,
    picks: list[tuple[int, int]],
    key: str,
    value: Any,
) -> list[dict[str, Any]]:
    """Set ``key`` on every picked row: all rows or none (the bulk API's rule)."""
    try:
        async with db.begin_nested():  # all or nothing, without expiring the page's objects
            await writer.update_many([(rid, version, {key: value}) for rid, version in picks])
    except ProblemError as exc:
        db.info.pop("record_events", None)
        return _failed_rows(exc, picks)
    await commit_and_dispatch(db)
    return [{"id": record_id, "ok": True, "message": _("Changed")} for record_id, _v in picks]


def _failed_rows(exc: ProblemError, picks: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Per row: why it was refused, or that it was left alone because another one was."""
    reasons: dict[int, list[str]] = {}
    for error in exc.errors:
        match = _INDEXED.match(error.field)
        index = int(match[1]) if match and len(picks) > 1 else 0
        if index < len(picks):
            reasons.setdefault(picks[index][0], []).append(error.message)
    record_id = (exc.extra or {}).get("record_id")
    if not reasons:
        message = FormErrors.from_problem(exc).form or ""
        target = record_id if record_id is not None else (picks[0][0] if len(picks) == 1 else None)
        if target is not None:
            reasons[target] = [message]
        else:
            return [{"id": rid, "ok": False, "message": message} for rid, _v in picks]
    untouched = _("Not changed: another selected record could not be changed.")
    return [
        {"id": rid, "ok": False, "message": "; ".join(reasons.get(rid, [untouched]))}
        for rid, _v in picks
    ]


async def _bulk_delete(
    db: SessionDep, writer: RecordWriter, picks: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Delete each picked row that may be deleted; the others say why not."""
    results = []
    for record_id, version in picks:
        try:
            await writer.delete(record_id, version)
        except ProblemError as exc:
            results.append({"id": record_id, "ok": False, "message": _message(exc)})
        else:
            results.append({"id": record_id, "ok": True, "message": _("Deleted")})
    await commit_and_dispatch(db)
    return results


@router.post("/apps/{app_key}/forms/{form_key}/bulk", name="list_bulk")
async def bulk(
    request: Request,
    app_key: str,
    form_key: str,
    principal: PageUser,
    db: SessionDep,
    settings: SettingsDep,
    pick: Annotated[list[str] | None, Form(max_length=40)] = None,
    action: Annotated[str, Form(max_length=20)] = "",
    field: Annotated[str, Form(max_length=63)] = "",
    value_for: Annotated[str, Form(max_length=63)] = "",
    confirm: Annotated[bool, Form()] = False,
    back: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """Bulk edit (``action=edit``: set ``field`` to ``value``) or delete (``action=delete``,
    asks for confirmation first) of the rows picked on the list. ``value_for`` names the field
    whose control sent the value (the form page's control for its type); without it the value
    is text as in an imported cell. A value from another field's control (the field was
    changed on a page without JavaScript) is asked for again with the right control."""
    nav = await nav_for(db, principal, app_key)
    wanted = "delete" if action == "delete" else "update"
    handle, rights = await form_for(db, principal, app_key, form_key, wanted)
    picks = _picks(pick or [])
    back_url = safe_next(back, list_url(app_key, form_key))
    values: dict[str, Any] = {
        "nav": nav,
        "form": handle.form,
        "back": back_url,
        "action": wanted,
        "picks": picks,
        "results": [],
        "errors": FormErrors(),
        "base": list_url(app_key, form_key),
    }
    if not picks:
        values["errors"] = FormErrors(form=_("Select at least one record."))
        return render(request, "pages/list_bulk.html", status_code=422, **values)
    writer = RecordWriter(db, handle, principal, source="bulk", time_zone=settings.time_zone)
    if wanted == "delete":
        if not confirm:
            return render(request, "pages/list_bulk.html", confirm=True, **values)
        values["results"] = await _bulk_delete(db, writer, picks)
        return render(request, "pages/list_bulk.html", **values)
    if field not in bulk_fields(handle, rights):
        values["errors"] = FormErrors(form=_("Choose the field to change."))
        return render(request, "pages/list_bulk.html", status_code=422, **values)
    tz = page_time_zone(request)
    view = await FormView.single(db, handle, principal, field, name="value", time_zone=tz)
    if value_for not in ("", field):
        return render(
            request,
            "pages/list_bulk.html",
            bulk_view=view,
            field=field,
            picker_texts=picker_texts(),
            **values,
        )
    control = view.fields[field]
    raw = (await request.form()).getlist("value")
    try:
        if control.attrs.get("cell") or not value_for:
            text = raw[-1] if raw and isinstance(raw[-1], str) else ""
            parsed = _parse_value(handle, field, text)
        else:
            parsed = parse_value(control, raw, tz)
            if parsed is None and handle.field_type(field).has_links:
                parsed = []
    except ProblemError as exc:
        values["errors"] = FormErrors(form=_message(exc))
        return render(request, "pages/list_bulk.html", status_code=422, **values)
    values["results"] = await _bulk_edit(db, handle, writer, picks, field, parsed)
    failed = not all(r["ok"] for r in values["results"])
    return render(request, "pages/list_bulk.html", status_code=422 if failed else 200, **values)


@router.get("/apps/{app_key}/forms/{form_key}/bulk-input", name="list_bulk_input")
async def bulk_input(
    request: Request,
    app_key: str,
    form_key: str,
    principal: PageUser,
    db: SessionDep,
    field: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    """The bulk edit's value control for ``field`` (htmx swaps it in when the field changes)."""
    handle, rights = await form_for(db, principal, app_key, form_key, "update")
    keys = bulk_fields(handle, rights)
    if not keys:
        raise ProblemError("forbidden")
    key = field if field in keys else keys[0]
    view = await FormView.single(
        db, handle, principal, key, name="value", time_zone=page_time_zone(request)
    )
    return render(request, "partials/list_bulk_value.html", bulk_view=view, errors=FormErrors())


# --- import ---------------------------------------------------------------------------------


def _import_response(request: Request, values: dict[str, Any], status_code: int = 200) -> Response:
    template = "partials/list_import.html" if _is_htmx(request) else "pages/list_import.html"
    return render(request, template, status_code=status_code, **values)


@router.post("/apps/{app_key}/forms/{form_key}/import", name="list_import")
async def import_file(
    request: Request,
    app_key: str,
    form_key: str,
    principal: PageUser,
    db: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Upload a CSV/XLSX file and import it: all rows or none; bad rows are listed."""
    nav = await nav_for(db, principal, app_key)
    handle, _rights = await form_for(db, principal, app_key, form_key, "import")
    base = list_url(app_key, form_key)
    values: dict[str, Any] = {"nav": nav, "form": handle.form, "base": base, "job": None}
    if file is None or not file.filename:
        values["problem"] = _("Choose a CSV or XLSX file.")
        return _import_response(request, values, 422)
    try:
        stored = await files.upload(request, file, principal, db, settings)
        result = await io_routes.begin_import(
            db,
            principal,
            app_key,
            form_key,
            ImportIn(file_id=stored.id),
            request.app.state.storage,
            settings.time_zone,
        )
    except ProblemError as exc:  # raised before anything was written
        values["problem"] = _message(exc)
        return _import_response(request, values, 422)
    if isinstance(result, int):
        values.update(job=result, percent=0.0, progress=None, problem=None)
        return _import_response(request, values, 202)
    values.update(report=result.as_dict(), problem=None)
    return _import_response(request, values, 200 if result.ok else 422)


@router.get("/apps/{app_key}/forms/{form_key}/import/{job_id}", name="list_import_job")
async def import_progress(
    request: Request,
    app_key: str,
    form_key: str,
    job_id: int,
    principal: PageUser,
    db: SessionDep,
) -> Response:
    """The progress of an import job (polled every second), then its report."""
    nav = await nav_for(db, principal, app_key)
    handle, _rights = await form_for(db, principal, app_key, form_key, "import")
    job = await db.get(Job, job_id)
    if job is None or job.name != "records.import" or job.created_by != principal.user_id:
        raise ProblemError("not_found")
    values: dict[str, Any] = {
        "nav": nav,
        "form": handle.form,
        "base": list_url(app_key, form_key),
        "job": job_id,
        "problem": None,
    }
    if job.status in (QUEUED, RUNNING):
        values.update(percent=job.progress_percent or 0.0, progress=job.progress_message)
        return _import_response(request, values)
    result = job.result or {}
    values["job"] = None
    if job.status != DONE:
        values["problem"] = _("The import stopped before it finished. Nothing was imported.")
    elif "problem" in result:
        values["problem"] = str(result["problem"].get("title") or result["problem"])
    else:
        values["report"] = result
    return _import_response(request, values)


# --- export ---------------------------------------------------------------------------------


@router.get("/apps/{app_key}/forms/{form_key}/export", name="list_export")
async def export(
    request: Request,
    app_key: str,
    form_key: str,
    principal: PageUser,
    db: SessionDep,
    format: Literal["csv", "xlsx"] = "csv",
    filter: Annotated[str | None, Query(max_length=8000)] = None,
    sort: Annotated[str | None, Query(max_length=300)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cols: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """The rows of the list as it is filtered, searched and sorted, in its columns."""
    handle, _rights = await form_for(db, principal, app_key, form_key, "export")
    keys = [k for k in cols.split(",") if k in handle.validator.specs and exportable(handle, k)]
    return await io_routes.export_records(
        app_key,
        form_key,
        request,
        principal,
        db,
        format=format,
        filter=filter or None,
        sort=sort or None,
        fields=",".join(keys) or None,
        header="label",
        q=q or None,
    )
