"""Dashboard designer pages: the draft's dashboards, and one dashboard's widgets (source form,
measures, dimensions, filter, chart) with a live preview, their sizes on the grid, the
viewer's filters and who may see the dashboard, edited in the draft
(static/dashboards_designer.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from builder.web.context import Designing
from builder.web.fieldtypes import field_types
from builder.web.org import org_choices
from builder.web.pages import builder_page
from builder.web.roles import GRANTEE_LABELS
from engines.report.spec import DEFAULT_HEIGHT, GRID_COLUMNS, GRID_ROWS
from runtime.deps import SessionDep
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

CHART_LABELS = {
    "bar": N_("Bar chart"),
    "stacked_bar": N_("Stacked bars"),
    "line": N_("Line chart"),
    "pie": N_("Pie chart"),
    "funnel": N_("Funnel"),
    "kpi": N_("KPI number"),
    "table": N_("Table"),
    "pivot": N_("Pivot table"),
}
AGG_LABELS = {
    "count": N_("Count of records"),
    "count_distinct": N_("Count of distinct values"),
    "sum": N_("Sum"),
    "avg": N_("Average"),
    "min": N_("Minimum"),
    "max": N_("Maximum"),
}
BUCKET_LABELS = {
    "day": N_("Day"),
    "week": N_("Week"),
    "month": N_("Month"),
    "quarter": N_("Quarter"),
    "year": N_("Year"),
}
FORMAT_STYLES = {
    "": N_("Automatic"),
    "number": N_("Number"),
    "percent": N_("Percent (0.9 → 90 %)"),
    "duration": N_("Duration"),
}
DECIMALS = {"": N_("Automatic"), **{str(n): str(n) for n in range(7)}}
DURATION_UNITS = {
    "seconds": N_("Seconds"),
    "minutes": N_("Minutes"),
    "hours": N_("Hours"),
    "days": N_("Days"),
}
#: Columns every record has, for runtime filters (a date range on ``created_at`` …).
SYSTEM_FIELDS = {
    "created_at": N_("Created at"),
    "updated_at": N_("Updated at"),
    "department_id": N_("Department"),
    "owner_id": N_("Owner"),
}
FILTER_KINDS = {
    "date_range": N_("Date range"),
    "department": N_("Department"),
    "equals": N_("Equals a value"),
    "choice": N_("One of the values"),
}


def _choices() -> dict[str, object]:
    def pairs(labels: dict[str, str]) -> list[dict[str, str]]:
        return [{"key": k, "label": _(v)} for k, v in labels.items()]

    viewers = {k: v for k, v in GRANTEE_LABELS.items() if k != "everyone"}
    return {
        "charts": pairs(CHART_LABELS),
        "aggs": pairs(AGG_LABELS),
        "buckets": pairs(BUCKET_LABELS),
        "format_styles": pairs(FORMAT_STYLES),
        "decimals": [{"key": k, "label": _(v) if k == "" else v} for k, v in DECIMALS.items()],
        "units": pairs(DURATION_UNITS),
        "filter_kinds": pairs(FILTER_KINDS),
        "system_fields": pairs(SYSTEM_FIELDS),
        "grantees": pairs(viewers),
        "grid": {"columns": GRID_COLUMNS, "rows": GRID_ROWS, "height": DEFAULT_HEIGHT},
    }


@router.get("/build/apps/{app_key}/dashboards", name="builder_dashboards")
async def dashboards_page(request: Request, design: Designing) -> Response:
    """The draft's dashboards: list, add, rename, remove (client side, in the draft)."""
    return builder_page(
        request,
        "builder/pages/dashboards.html",
        design,
        "dashboards",
        board_key=None,
        types=field_types(),
        choices=_choices(),
    )


@router.get("/build/apps/{app_key}/dashboards/{board_key}", name="builder_dashboard")
async def dashboard_page(
    request: Request, design: Designing, board_key: str, db: SessionDep
) -> Response:
    """One dashboard of the draft: its widgets with a live preview, their layout on the grid,
    runtime filters and who may see it (roles, groups, departments, users)."""
    return builder_page(
        request,
        "builder/pages/dashboards.html",
        design,
        "dashboards",
        board_key=board_key,
        types=field_types(),
        choices=_choices(),
        org=await org_choices(db),
    )
