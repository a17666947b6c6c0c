"""/api/v1/apps/{app}/dashboards: run dashboards and widgets, drill down, export.

Thin: the work is in :mod:`runtime.reports.service`, :mod:`runtime.reports.drill` and
:mod:`runtime.reports.export`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from runtime.deps import CurrentUser, SessionDep, SettingsDep
from runtime.errors import FieldError, ProblemError, Text
from runtime.i18n import current_locale
from runtime.records.schemas import RecordOut, RecordPage
from runtime.reports import drill, export, service
from runtime.reports.cache import ResultCache
from runtime.reports.schemas import (
    MAX_FILTERS,
    DashboardOut,
    DashboardRunOut,
    DashboardSummary,
    DrillIn,
    ExportIn,
    FilterOut,
    RunIn,
    WidgetOut,
)

router = APIRouter(prefix="/api/v1/apps/{app}/dashboards", tags=["reports"])

Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def results_cache(request: Request) -> ResultCache:
    """The process's result cache (made on first use from the settings)."""
    state = request.app.state
    cache = getattr(state, "report_cache", None)
    if cache is None:
        settings = state.settings
        cache = state.report_cache = ResultCache(
            settings.report_cache_entries, settings.report_cache_seconds
        )
    return cache  # type: ignore[no-any-return]


CacheDep = Annotated[ResultCache, Depends(results_cache)]


async def _context(
    db: SessionDep,
    principal: CurrentUser,
    app: str,
    settings: SettingsDep,
    cache: ResultCache,
    use_cache: bool = True,
) -> service.ReportContext:
    return await service.load_context(db, principal, app, settings, cache, use_cache=use_cache)


@router.get("", response_model=list[DashboardSummary])
async def list_dashboards(
    app: Key, principal: CurrentUser, db: SessionDep, settings: SettingsDep, cache: CacheDep
) -> list[DashboardSummary]:
    """The app's dashboards with at least one widget on a form the caller may read."""
    context = await _context(db, principal, app, settings, cache)
    return [
        DashboardSummary(key=d.key, title=dict(d.title), widgets=len(d.widgets))
        for d in service.dashboards(context)
    ]


@router.get("/{key}", response_model=DashboardOut)
async def get_dashboard(
    app: Key,
    key: Key,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> DashboardOut:
    """The dashboard's spec: its widgets and the filters a viewer may set."""
    context = await _context(db, principal, app, settings, cache)
    board = service.dashboard(context, key)
    return DashboardOut(
        key=board.key,
        title=dict(board.title),
        timezone=service.time_zone(context, board),
        filters=[
            FilterOut(key=f.key, kind=f.kind, field=f.field, label=dict(f.label), widgets=f.widgets)
            for f in board.filters
        ],
        widgets=[w.model_dump(mode="json") for w in board.widgets],
    )


@router.post("/{key}/run", response_model=DashboardRunOut)
async def run_dashboard(
    app: Key,
    key: Key,
    body: RunIn,
    request: Request,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> DashboardRunOut:
    """Every widget's result; a widget that fails says so in its entry (``ok: false`` and a
    problem), the others still answer."""
    context = await _context(db, principal, app, settings, cache, body.cache)
    board = service.dashboard(context, key)
    outcomes = await service.run_dashboard(
        db, request.app.state.read_sessions, context, board, body.filters
    )
    return DashboardRunOut(
        dashboard=board.key,
        timezone=service.time_zone(context, board),
        widgets=[WidgetOut(**o) for o in service.outcomes_json(outcomes)],
    )


@router.post("/{key}/widgets/{widget}/run", response_model=WidgetOut)
async def run_widget(
    app: Key,
    key: Key,
    widget: Key,
    body: RunIn,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> WidgetOut:
    """One widget's result; its problems are the response's (403, 422, 404 …)."""
    context = await _context(db, principal, app, settings, cache, body.cache)
    board = service.dashboard(context, key)
    outcome = await service.run_widget(
        db, context, board, service.widget_of(board, widget), body.filters
    )
    return WidgetOut(**service.outcomes_json([outcome])[0])


@router.post("/{key}/widgets/{widget}/drill", response_model=RecordPage)
async def drill_down(
    app: Key,
    key: Key,
    widget: Key,
    body: DrillIn,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
) -> RecordPage:
    """The records behind one cell, through the records list's scope and field rights, a
    page at a time (follow ``next_cursor``); ``total`` is the cell's count."""
    context = await _context(db, principal, app, settings, cache)
    board = service.dashboard(context, key)
    page = await drill.records(db, context, board, service.widget_of(board, widget), body)
    return RecordPage(
        items=[RecordOut(**r) for r in page.items], next_cursor=page.next_cursor, total=page.total
    )


def _filters_query(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("filters", "malformed_json", f"not valid JSON: {exc.msg}")],
        ) from exc
    if not isinstance(value, dict) or len(value) > MAX_FILTERS:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("filters", "dict_type", "an object of filter values by key")],
        )
    return value


async def _export(
    app: str,
    key: str,
    widget: str,
    filters: dict[str, Any],
    fmt: str,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    cache: ResultCache,
) -> StreamingResponse:
    context = await _context(db, principal, app, settings, cache)
    board = service.dashboard(context, key)
    target = service.widget_of(board, widget)
    locale = current_locale.get()
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    headers = {"Content-Disposition": f'attachment; filename="{key}-{widget}-{stamp}.{fmt}"'}
    chunks, size = await export.widget_file(db, context, board, target, filters, fmt, locale)
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(chunks, media_type=_MEDIA[fmt], headers=headers)


_EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {_MEDIA["csv"]: {}, _MEDIA["xlsx"]: {}}}
}


@router.get(
    "/{key}/widgets/{widget}/export",
    response_class=StreamingResponse,
    responses=_EXPORT_RESPONSES,
)
async def export_widget(
    app: Key,
    key: Key,
    widget: Key,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
    format: Literal["csv", "xlsx"] = "csv",
    filters: Annotated[Text | None, Query(max_length=8000, description="JSON object")] = None,
) -> StreamingResponse:
    """The widget's data (one row per group, a column per dimension and measure) as a file;
    needs the ``export`` right on the forms it reads."""
    return await _export(
        app, key, widget, _filters_query(filters), format, principal, db, settings, cache
    )


@router.post(
    "/{key}/widgets/{widget}/export",
    response_class=StreamingResponse,
    responses=_EXPORT_RESPONSES,
)
async def export_widget_post(
    app: Key,
    key: Key,
    widget: Key,
    body: ExportIn,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    cache: CacheDep,
    format: Literal["csv", "xlsx"] | None = None,
) -> StreamingResponse:
    """The export with the filters in the body (``format`` in the query wins)."""
    fmt = format or body.format
    return await _export(app, key, widget, body.filters, fmt, principal, db, settings, cache)
