"""Pass 6, filters: the widget's JsonLogic filter, the dashboard's runtime filters (date range,
department, equality, choice) and the previous-period window.

A date range is given in local dates of the organisation's time zone (both ends inclusive) and
becomes a UTC range on the column (``>=`` start, ``<`` the day after the end), so it uses the
column's index and is right across DST. Equality and choice filters go through the one
JsonLogic compiler (``engines.logic.sql``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.sql.elements import ColumnElement

from engines.logic import LogicError
from engines.logic.sql import compile_condition
from engines.report.buckets import to_utc
from engines.report.errors import ReportError
from engines.report.expressions import compile_rule, field_expression, sql_fields
from engines.report.plan import Plan, Window
from engines.report.spec import RuntimeFilter

STAGE = "runtime_filters"


def _error(plan: Plan, bound: RuntimeFilter, detail: str) -> ReportError:
    return ReportError(
        "report.bad_runtime_filter",
        widget=plan.widget.key,
        stage=STAGE,
        path=f"widgets[{plan.widget.key}].runtime_filters[{bound.key}]",
        key=bound.key,
        detail=detail,
    )


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def local_range(kind: str, tz: str, first: date | None, last: date | None) -> tuple[Any, Any]:
    """``[start, end)`` bounds on a column of ``kind`` for local days ``first`` … ``last``."""
    end_day = last + timedelta(days=1) if last is not None else None
    if kind == "date":
        return first, end_day

    def moment(day: date | None) -> datetime | None:
        return None if day is None else to_utc(datetime(day.year, day.month, day.day), tz)

    return moment(first), moment(end_day)


def _range_condition(column: ColumnElement[Any], start: Any, end: Any) -> list[ColumnElement[bool]]:
    conditions = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return conditions


def _dates(plan: Plan, bound: RuntimeFilter) -> tuple[date | None, date | None]:
    value = bound.value
    if not isinstance(value, dict) or set(value) - {"from", "to"}:
        raise _error(plan, bound, 'give {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}')
    try:
        first, last = _day(value.get("from")), _day(value.get("to"))
    except ValueError:
        raise _error(plan, bound, "dates are YYYY-MM-DD") from None
    if first is not None and last is not None and last < first:
        raise _error(plan, bound, "the range ends before it starts")
    return first, last


def _condition(plan: Plan, bound: RuntimeFilter) -> list[ColumnElement[bool]]:
    ref = plan.refs[bound.field]
    column = field_expression(plan, ref)
    if bound.kind == "date_range":
        first, last = _dates(plan, bound)
        return _range_condition(column, *local_range(ref.kind, plan.timezone, first, last))
    if bound.kind == "department":
        ids = bound.value if isinstance(bound.value, list) else [bound.value]
        if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise _error(plan, bound, "give a department id or a list of ids")
        return [column.in_(ids)]
    if bound.kind == "choice":
        if not isinstance(bound.value, list) or not bound.value:
            raise _error(plan, bound, "give a list of values")
        rule: Any = {"in": [{"var": bound.field}, bound.value]}
    else:
        if isinstance(bound.value, dict | list):
            raise _error(plan, bound, "give one value")
        rule = {"==": [{"var": bound.field}, bound.value]}
    try:
        fields = sql_fields(plan, [bound.field])
        context = {**plan.context, "now": plan.now}
        # in the WHERE only (NULL acts as false): no IS NOT NULL guard before the IN
        return [compile_condition(rule, fields, context=context, null_is_false=True)]
    except LogicError as exc:
        raise _error(plan, bound, exc.message) from None


def _window(plan: Plan, covered: tuple[date | None, date | None] | None) -> Window:
    compare = plan.widget.compare
    assert compare is not None
    ref = plan.refs[compare.field]
    if covered is not None and covered[0] is not None and covered[1] is not None:
        first, last = covered
    elif compare.days is not None:
        last = plan.now.astimezone(ZoneInfo(plan.timezone)).date()
        first = last - timedelta(days=compare.days - 1)
    else:
        raise ReportError(
            "report.compare_needs_range",
            widget=plan.widget.key,
            stage=STAGE,
            path=f"widgets[{plan.widget.key}].compare.field",
            field=compare.field,
        )
    assert first is not None and last is not None
    length = (last - first).days + 1
    previous = first - timedelta(days=length)
    start, end = local_range(ref.kind, plan.timezone, first, last)
    before, _ = local_range(ref.kind, plan.timezone, previous, None)
    return Window(compare.field, before, start, end)


def apply_runtime_filters(plan: Plan) -> Plan:
    """The plan with the widget's filter and the runtime filters in ``where``, and the
    comparison ``window`` (whose span, both periods, is in ``where`` too)."""
    where = list(plan.where)
    if plan.widget.filter is not None:
        where.append(compile_rule(plan, plan.widget.filter, "filter", STAGE))
    compare = plan.widget.compare
    covered = None
    for bound in plan.runtime_filters:
        if compare is not None and bound.kind == "date_range" and bound.field == compare.field:
            covered = _dates(plan, bound)  # the window replaces it (it spans both periods)
            continue
        where.extend(_condition(plan, bound))
    window = None
    if compare is not None:
        window = _window(plan, covered)
        column = field_expression(plan, plan.refs[compare.field])
        where.extend(_range_condition(column, window.previous, window.end))
    return plan.but(where=tuple(where), window=window)
