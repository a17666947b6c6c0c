"""Drill-down: a clicked cell becomes a condition over the widget's source form.

``drill_condition`` returns ``(form_key, condition)``: the runtime lists the records of
``form_key`` ``WHERE condition`` through its usual read scope, paginated. The condition is
``id IN (SELECT s.id FROM <the widget's FROM> WHERE <the widget's conditions> AND <the cell>)``
over the form's own table, so it carries everything that made the number: the viewer's scope
on every joined form, the widget's filter, the runtime filters, the cell's dimension values
(a date bucket becomes its UTC range; ``"_others": True`` means "not one of the top N"), the
clicked measure's own filter (``"_measure": key``; a ratio drills into its denominator) and,
with a comparison, the period (``"_period": "previous"`` for the previous one). The number of
records equals the cell's ``count`` measure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.sql.elements import ColumnElement

from engines.report.buckets import BUCKETS
from engines.report.build import _Builder, in_top, top_values
from engines.report.catalog import Catalog, Viewer
from engines.report.compiler import plan_widget
from engines.report.errors import ReportError
from engines.report.expressions import compile_rule, field_expression
from engines.report.fields import FieldRef
from engines.report.spec import Measure, RuntimeFilter, Widget

STAGE = "drill"

#: Keys a cell may have besides the widget's dimension keys.
SPECIAL_KEYS = frozenset({"_others", "_measure", "_period"})


def _error(widget: Widget, detail: str, where: str = "") -> ReportError:
    return ReportError(
        "report.bad_cell",
        widget=widget.key,
        stage=STAGE,
        path=f"widgets[{widget.key}].cell" + (f".{where}" if where else ""),
        detail=detail,
    )


def _typed(ref: FieldRef, value: Any) -> Any:
    """A cell value (JSON, as ``shape`` gave it) as the column's Python type."""
    try:
        if ref.value_type == "datetime" and not isinstance(value, datetime):
            return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if ref.value_type == "date" and not isinstance(value, date):
            return date.fromisoformat(str(value))
        if ref.value_type == "decimal":
            return Decimal(str(value))
        if ref.value_type == "integer" and not isinstance(value, int):
            return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a {ref.value_type} value") from None
    return value


def check_cell_keys(widget: Widget, cell: Mapping[str, Any]) -> None:
    """Refuse (``report.unknown_cell_key``) a key that is neither a dimension of the widget nor
    one of :data:`SPECIAL_KEYS`: a misspelt dimension would silently drill into everything."""
    allowed = {d.key for d in widget.dimensions} | SPECIAL_KEYS
    for key in cell:
        if key not in allowed:
            raise ReportError(
                "report.unknown_cell_key",
                widget=widget.key,
                stage=STAGE,
                path=f"widgets[{widget.key}].cell.{key}",
                key=key,
            )


def _measure_filters(builder: _Builder, widget: Widget, key: str) -> list[ColumnElement[bool]]:
    index = next((i for i, m in enumerate(widget.measures) if m.key == key), None)
    if index is None:
        raise _error(widget, f"no measure {key!r}", "_measure")
    measure: Measure = widget.measures[index]
    conditions = []
    for where, item in (
        (f"measures[{index}]", measure),
        (f"measures[{index}].denominator", measure.denominator),
    ):
        if item is not None and item.filter is not None:
            conditions.append(compile_rule(builder.plan, item.filter, f"{where}.filter", STAGE))
    return conditions


def drill_condition(
    widget: Widget,
    cell: Mapping[str, Any],
    catalog: Catalog,
    viewer: Viewer,
    timezone: str = "UTC",
    *,
    runtime_filters: Sequence[RuntimeFilter] | None = None,
    now: datetime | None = None,
    dialect_name: str = "sqlite",
) -> tuple[str, ColumnElement[bool]]:
    """``(form_key, condition)`` selecting the source records behind ``cell`` (see above).

    ``cell`` maps dimension keys to the values ``shape`` returned (a missing dimension is not
    constrained), plus the optional ``_others``, ``_measure`` and ``_period``; any other key is
    refused (``report.unknown_cell_key``). Compile it with the same runtime filters, time zone
    and clock as the widget."""
    check_cell_keys(widget, cell)
    plan = plan_widget(
        widget,
        catalog,
        viewer,
        runtime_filters=runtime_filters,
        timezone=timezone,
        now=now,
        dialect_name=dialect_name,
    )
    widget = plan.widget
    builder = _Builder(plan)
    builder.collect()
    conditions: list[ColumnElement[bool]] = list(plan.where)
    for index, dimension in enumerate(widget.dimensions):
        if index == 0 and cell.get("_others"):
            if widget.top_n is None:
                raise _error(widget, "only a top-N widget has an others group", "_others")
            conditions.append(~in_top(builder.rows.columns["d0"], top_values(builder)))  # type: ignore[arg-type]
            continue
        if dimension.key not in cell:
            continue
        ref = plan.refs[dimension.field]
        column = field_expression(plan, ref)
        value = cell[dimension.key]
        try:
            if value is None:
                conditions.append(column.is_(None))
            elif dimension.bucket is not None:
                bucket = BUCKETS.get(dimension.bucket)
                conditions.append(bucket.condition(column, ref.kind, plan.timezone, value))
            else:
                conditions.append(column == _typed(ref, value))
        except ValueError as exc:
            raise _error(widget, str(exc), dimension.key) from None
    if widget.top_n is not None and not widget.top_n.others and not cell.get("_others"):
        conditions.append(in_top(builder.rows.columns["d0"], top_values(builder)))  # type: ignore[arg-type]
    if cell.get("_measure") is not None:
        conditions.extend(_measure_filters(builder, widget, str(cell["_measure"])))
    if plan.window is not None:
        column = field_expression(plan, plan.refs[plan.window.path])
        previous = cell.get("_period") == "previous"
        conditions.append(column < plan.window.start if previous else column >= plan.window.start)
    joined, _ = builder.from_clause()
    ids = select(plan.alias.c.id).select_from(joined).where(and_(*conditions))
    return plan.source.key, plan.source.table.c.id.in_(ids)
