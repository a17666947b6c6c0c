"""Drill-down: a clicked cell → a condition over the widget's source form → its records.

The engine turns the cell (dimension values, the widget's filter, the dashboard's runtime
filters, a filtered measure's condition) into one condition over the source form's table; the
records come from the records list (:func:`runtime.records.reader.list_records`) with that
condition added, so they pass through the same read scope, field rights and keyset paging as
any list: a cell that counts N records drills to the same N records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engines.report.drill import drill_condition
from engines.report.errors import ReportError
from engines.report.spec import Dashboard, Widget
from runtime.errors import FieldError, ProblemError
from runtime.i18n import pick
from runtime.records import reader
from runtime.records.reader import Page
from runtime.records.scope import check_token
from runtime.reports import service
from runtime.reports.schemas import DrillIn
from runtime.reports.viewer import ViewerScope

#: Keys of a cell besides dimension keys (see ``engines.report.drill``).
_SPECIAL = {"_others": bool, "_period": str}


def cell_of(widget: Widget, body: DrillIn) -> dict[str, Any]:
    """The clicked cell, checked: dimension keys of the widget with scalar values."""
    dimensions = {d.key for d in widget.dimensions}
    problems = []
    for key, value in body.cell.items():
        kind = _SPECIAL.get(key)
        if kind is not None:
            if not isinstance(value, kind):
                problems.append(
                    FieldError(
                        f"cell.{key}",
                        "invalid_cell",
                        pick(
                            {"en": f"{key} takes a {kind.__name__}", "zh-CN": f"{key} 的值类型不对"}
                        ),
                    )
                )
        elif key not in dimensions:
            problems.append(
                FieldError(
                    f"cell.{key}",
                    "unknown_dimension",
                    pick(
                        {
                            "en": f"the widget has no dimension {key!r}",
                            "zh-CN": f"组件中没有维度 {key!r}",
                        }
                    ),
                )
            )
        elif value is not None and not isinstance(value, str | int | float | bool):
            problems.append(
                FieldError(
                    f"cell.{key}",
                    "invalid_cell",
                    pick({"en": "a cell value is one value", "zh-CN": "单元格的值只能是单个值"}),
                )
            )
    if body.measure is not None and body.measure not in {m.key for m in widget.measures}:
        problems.append(
            FieldError(
                "measure",
                "unknown_measure",
                pick(
                    {
                        "en": f"the widget has no measure {body.measure!r}",
                        "zh-CN": f"组件中没有指标 {body.measure!r}",
                    }
                ),
            )
        )
    if problems:
        raise ProblemError(
            "drill_cell_invalid",
            params={"widget": widget.key},
            errors=problems,
            extra={"widget": widget.key},
        )
    cell = dict(body.cell)
    if body.measure is not None:
        cell["_measure"] = body.measure
    return cell


async def records(
    db: AsyncSession,
    context: service.ReportContext,
    board: Dashboard,
    widget: Widget,
    body: DrillIn,
) -> Page:
    """A page of the records behind ``body.cell`` (``total``: how many)."""
    service.check_filters(board, body.filters)
    cell = cell_of(widget, body)
    # The widget must run for this viewer: rights on every form it reads, no hidden field.
    service.prepare(context, board, widget, body.filters)
    scope = ViewerScope(context.app, context.principal)
    try:
        form_key, condition = drill_condition(
            widget,
            cell,
            context.catalog,
            scope.viewer(),
            service.time_zone(context, board),
            runtime_filters=board.runtime_filters(widget.key, body.filters),
            now=context.now,
            dialect_name=context.dialect.name,
        )
    except ReportError as exc:
        raise service.report_problem(exc, widget.key) from exc
    handle = context.app.handles[form_key]
    check_token(handle, context.principal, "read")
    return await reader.list_records(
        db,
        handle,
        context.principal,
        sort=body.sort,
        limit=body.limit,
        cursor=body.cursor,
        with_total=body.total,
        where=condition,
    )
