"""/api/v1/records/{app}/{form}/imports and …/export: spreadsheets in and out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.deps import CurrentUser, SessionDep, SettingsDep
from runtime.errors import ProblemError, Text
from runtime.files.storage import LocalStorage
from runtime.i18n import current_locale
from runtime.jobs import queue
from runtime.records import exporter, tabular
from runtime.records.columns import plan_columns
from runtime.records.forms import resolve
from runtime.records.import_job import IMPORT_JOB, audit_import, source_file
from runtime.records.importer import MAX_ROWS, ImportReport, header_of, run_import
from runtime.records.io_schemas import ImportIn, ImportJobOut, ImportReportOut
from runtime.records.routes import Key
from runtime.records.scope import check_token, require
from runtime.records.writer import commit_and_dispatch

router = APIRouter(prefix="/api/v1/records", tags=["records"])

#: Files with at most this many data rows are imported while the request waits.
INLINE_ROWS = 2000
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@router.post(
    "/{app}/{form}/imports",
    response_model=ImportReportOut,
    responses={202: {"model": ImportJobOut, "description": "Large file: imported by a job"}},
)
async def import_records(
    app: Key,
    form: Key,
    body: ImportIn,
    request: Request,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> Any:
    """Import an uploaded CSV/XLSX file: every row or none.

    Up to 2,000 rows the report comes back at once (a commit with bad rows is a 422 listing
    them); larger files answer 202 with a job whose result is the report.
    """
    result = await begin_import(
        db, principal, app, form, body, request.app.state.storage, settings.time_zone
    )
    if isinstance(result, int):
        out = ImportJobOut(job_id=result, status="queued", url=f"/api/v1/jobs/{result}")
        return JSONResponse(out.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    if not result.ok and not body.dry_run:
        raise ProblemError("import_invalid", extra=result.as_dict())
    return result.as_dict()


async def begin_import(
    db: AsyncSession,
    principal: Principal,
    app: str,
    form: str,
    body: ImportIn,
    storage: LocalStorage,
    time_zone: str | None,
) -> ImportReport | int:
    """Import an uploaded file: the report of one imported at once (committed when every row
    is fine), or the id of the job importing a large one. The list page uses it too."""
    handle = await resolve(db, app, form)
    check_token(handle, principal, "import")
    require(handle, principal, "import")
    require(handle, principal, "create")
    path, fmt = await source_file(db, principal, body.file_id, storage)
    header = await asyncio.to_thread(header_of, path, fmt)
    plan_columns(handle, header, body.mapping)  # column problems: 422 now, not in a job
    rows = await asyncio.to_thread(tabular.count_rows, path, fmt, INLINE_ROWS + 1)
    if rows > INLINE_ROWS:
        return await _start_job(db, principal, app, form, body, path, fmt)
    report = await run_import(
        db,
        handle,
        principal,
        tabular.read_table(path, fmt),
        dry_run=body.dry_run,
        mapping=body.mapping,
        time_zone=time_zone,
    )
    if report.ok or body.dry_run:
        if report.created:
            audit_import(db, principal, handle.form_id, body.file_id, report.created)
        await commit_and_dispatch(db)
    return report


async def _start_job(
    db: AsyncSession,
    principal: Principal,
    app: str,
    form: str,
    body: ImportIn,
    path: Any,
    fmt: tabular.Format,
) -> int:
    # Line counts over-estimate (quoted line breaks): count exactly before refusing.
    if (
        await asyncio.to_thread(tabular.estimate_rows, path, fmt) > MAX_ROWS
        and await asyncio.to_thread(tabular.count_rows, path, fmt, MAX_ROWS + 1) > MAX_ROWS
    ):
        raise ProblemError("too_many_rows", params={"limit": MAX_ROWS})
    payload = {
        "app": app,
        "form": form,
        "file_id": body.file_id,
        "user_id": principal.user_id,
        "dry_run": body.dry_run,
        "mapping": body.mapping,
        "locale": current_locale.get(),
        # The job acts with the caller's rights: a narrowed token stays narrowed.
        "token_apps": sorted(principal.token_apps) if principal.token_apps is not None else None,
        "token_actions": (
            sorted(principal.token_actions) if principal.token_actions is not None else None
        ),
    }
    job_id = await queue.enqueue(db, IMPORT_JOB, payload, created_by=principal.user_id)
    await db.commit()
    return job_id


@router.get(
    "/{app}/{form}/export",
    response_class=StreamingResponse,
    responses={200: {"content": {_MEDIA["csv"]: {}, _MEDIA["xlsx"]: {}}}},
)
async def export_records(
    app: Key,
    form: Key,
    request: Request,
    principal: CurrentUser,
    db: SessionDep,
    format: Literal["csv", "xlsx"] = "csv",
    filter: Annotated[Text | None, Query(max_length=8000, description="JsonLogic (JSON)")] = None,
    sort: Annotated[Text | None, Query(max_length=300)] = None,
    fields: Annotated[Text | None, Query(max_length=2000)] = None,
    header: Literal["label", "key"] = "label",
    q: Annotated[Text | None, Query(max_length=200, description="Full-text search")] = None,
) -> StreamingResponse:
    """The records the list would show (same filter, sort and scope) as one file.

    Headers are field labels in your language (``Accept-Language``), or keys with
    ``header=key``; the file imports again as it is.
    """
    handle = await resolve(db, app, form)
    check_token(handle, principal, "export")
    locale = current_locale.get()
    query = exporter.prepare(
        handle,
        principal,
        filter_text=filter,
        sort=sort,
        fields=fields,
        locale=locale,
        by_key=header == "key",
        search=q,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="{form}-{stamp}.{format}"'}
    if format == "csv":
        sessions = request.app.state.read_sessions
        stream = await exporter.csv_stream(sessions, handle, principal, query)
        return StreamingResponse(stream, media_type=_MEDIA["csv"], headers=headers)
    title = handle.form.label.get(locale) or form
    path = await exporter.xlsx_file(db, handle, principal, query, title)
    chunks, size = exporter.file_stream(path)
    headers["Content-Length"] = str(size)
    return StreamingResponse(chunks, media_type=_MEDIA["xlsx"], headers=headers)
