"""Dashboard pages: a dashboard's widgets under its runtime filters, and the records behind a
clicked value (the drill-down), through the report service's scope and field rights."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.report.spec import Dashboard
from runtime.auth.principal import Principal
from runtime.deps import SessionDep
from runtime.errors import FieldError, ProblemError, field_errors_from_pydantic
from runtime.org.models import Department
from runtime.permissions.access import access
from runtime.records.scope import check_token
from runtime.reports import drill, service
from runtime.reports.labels import dimension_labels
from runtime.reports.routes import results_cache
from runtime.reports.schemas import DrillIn
from runtime.web.dashboards.filters import PRESETS, FilterState, apply_problem, parse_filters
from runtime.web.dashboards.records import record_columns
from runtime.web.dashboards.widgets import cell_description, widget_views
from runtime.web.deps import PageUser
from runtime.web.i18n import ngettext
from runtime.web.nav import nav_for
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)
#: Records per drill page.
PAGE_SIZE = 50


async def _departments(db: AsyncSession, board: Dashboard) -> list[tuple[int, str]]:
    """The departments a department filter offers (only read when the dashboard has one)."""
    if not any(f.kind == "department" for f in board.filters):
        return []
    rows = await db.execute(
        select(Department.id, Department.name).order_by(Department.path, Department.sort_order)
    )
    return [(int(i), str(name)) for i, name in rows.all()]


def _readable(context: service.ReportContext, board: Dashboard) -> Dashboard:
    """The dashboard with only the widgets whose source form the viewer may read."""
    principal: Principal = context.principal

    def may(form: str) -> bool:
        handle = context.app.handles.get(form)
        if handle is None:
            return False
        try:
            check_token(handle, principal, "read")
        except ProblemError:
            return False
        return access(handle, principal).can("read")

    return board.model_copy(update={"widgets": [w for w in board.widgets if may(w.form)]})


async def _context(
    request: Request, db: AsyncSession, principal: Principal, app_key: str, key: str
) -> tuple[service.ReportContext, Dashboard]:
    settings = request.app.state.settings
    context = await service.load_context(db, principal, app_key, settings, results_cache(request))
    return context, service.dashboard(context, key)


def _viewer_zone(request: Request) -> str:
    viewer = getattr(request.state, "viewer", None)
    return str((viewer.time_zone if viewer else None) or request.app.state.settings.time_zone)


@router.get("/apps/{app_key}/dashboards/{key}", name="dashboard")
async def dashboard_page(
    request: Request, app_key: str, key: str, principal: PageUser, db: SessionDep
) -> Response:
    nav = await nav_for(db, principal, app_key)
    context, board = await _context(request, db, principal, app_key, key)
    shown = _readable(context, board)
    zone = service.time_zone(context, board)
    state = parse_filters(
        board, context.app, request.query_params, zone, await _departments(db, board)
    )
    views: list[Any] = []
    if not state.errors:
        try:
            outcomes = await service.run_dashboard(
                db, request.app.state.read_sessions, context, shown, state.values
            )
        except ProblemError as exc:
            if exc.code != "validation_failed":
                raise
            apply_problem(state, exc.errors)
        else:
            views = widget_views(context.app, shown, outcomes, state, _viewer_zone(request))
    base_url = f"/apps/{app_key}/dashboards/{key}"
    htmx = request.headers.get("hx-request") == "true"
    clean = base_url + (f"?{urlencode(state.query)}" if state.query else "")
    return render(
        request,
        "partials/dashboard_body.html" if htmx else "pages/dashboard.html",
        status_code=422 if state.errors else 200,
        headers={"HX-Push-Url": clean} if htmx else None,
        presets=[(value, label) for value, (_span, label) in PRESETS.items()],
        nav=nav,
        board=board,
        state=state,
        widgets=views,
        base_url=base_url,
    )


def _cell(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("cell", "invalid_cell", "the clicked cell is a JSON object")],
        )
    return value


def _drill_body(
    state: FilterState, cell: dict[str, Any], measure: str | None, cursor: str | None
) -> DrillIn:
    try:
        return DrillIn(
            filters=state.values,
            cell=cell,
            measure=measure or None,
            cursor=cursor or None,
            limit=PAGE_SIZE,
        )
    except ValidationError as exc:
        raise ProblemError(
            "validation_failed", errors=field_errors_from_pydantic(list(exc.errors()))
        ) from None


@router.get("/apps/{app_key}/dashboards/{key}/widgets/{widget}/records", name="dashboard_drill")
async def drill_page(
    request: Request,
    app_key: str,
    key: str,
    widget: str,
    principal: PageUser,
    db: SessionDep,
    cell: Annotated[str, Query(max_length=4000)] = "{}",
    measure: Annotated[str | None, Query(max_length=63)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    nav = await nav_for(db, principal, app_key)
    context, board = await _context(request, db, principal, app_key, key)
    target = service.widget_of(board, widget)
    zone = service.time_zone(context, board)
    state = parse_filters(
        board, context.app, request.query_params, zone, await _departments(db, board)
    )
    if state.errors:
        raise ProblemError(
            "validation_failed",
            errors=[
                FieldError(f"filters.{name}", "invalid_filter", message)
                for name, messages in state.errors.fields.items()
                for message in messages
            ],
        )
    clicked = _cell(cell)
    page = await drill.records(
        db, context, board, target, _drill_body(state, clicked, measure, cursor)
    )
    handle = context.app.handles[target.form]
    title, columns = record_columns(context.app, handle, target, principal)
    tz = _viewer_zone(request)
    names = await dimension_labels(db, context.app, principal, target, {"rows": [clicked]})
    described = cell_description(context.app, target, clicked, measure, tz, names)
    described += state.descriptions()
    total = page.total or 0
    here = [("cell", cell)] + ([("measure", measure)] if measure else []) + state.query
    base = f"/apps/{app_key}/dashboards/{key}/widgets/{widget}/records"
    return render(
        request,
        "pages/dashboard_drill.html",
        nav=nav,
        board=board,
        widget=target,
        heading=", ".join(described),
        count=ngettext("%(num)d record", "%(num)d records", total),
        total=total,
        records=page.items,
        title_column=title,
        columns=columns,
        tz=tz,
        form_key=target.form,
        app_key=app_key,
        dashboard_url=f"/apps/{app_key}/dashboards/{key}"
        + (f"?{urlencode(state.query)}" if state.query else ""),
        next_url=f"{base}?{urlencode([*here, ('cursor', page.next_cursor)])}"
        if page.next_cursor
        else None,
        first_url=f"{base}?{urlencode(here)}" if cursor else None,
    )
