"""Pass 2, validate: what can be checked without the forms — sizes, keys, chart needs, rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engines.logic import iter_errors
from engines.report.errors import ReportError
from engines.report.spec import Measure, Widget

STAGE = "validate"
MAX_MEASURES = 20
MAX_DIMENSIONS = 4
MAX_JOINS = 8


def leaves(measure: Measure) -> Iterator[Measure]:
    """The measures that aggregate (a ratio's numerator and denominator, or itself)."""
    if measure.agg == "ratio":
        assert measure.numerator is not None and measure.denominator is not None
        yield measure.numerator
        yield measure.denominator
    else:
        yield measure


def _error(widget: Widget, code: str, path: str, **params: Any) -> ReportError:
    where = f"widgets[{widget.key}]" + (f".{path}" if path else "")
    return ReportError(code, widget=widget.key, stage=STAGE, path=where, **params)


def check_timezone(widget: Widget, timezone: str) -> None:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _error(widget, "report.bad_timezone", "", timezone=timezone) from None


def _check_rule(widget: Widget, rule: Any, path: str) -> None:
    for error in iter_errors(rule):
        raise _error(widget, "report.bad_filter", path + error.path[1:], detail=error.message)


def _check_sizes(widget: Widget) -> None:
    count = sum(len(list(leaves(m))) for m in widget.measures)
    if count > MAX_MEASURES:
        raise _error(widget, "report.too_many", "measures", max=MAX_MEASURES, what="measures")
    if len(widget.dimensions) > MAX_DIMENSIONS:
        raise _error(widget, "report.too_many", "dimensions", max=MAX_DIMENSIONS, what="dimensions")
    if len(widget.joins) > MAX_JOINS:
        raise _error(widget, "report.too_many", "joins", max=MAX_JOINS, what="joins")


def _check_keys(widget: Widget) -> None:
    seen: set[str] = set()
    items = [("measures", m.key) for m in widget.measures]
    items += [("dimensions", d.key) for d in widget.dimensions]
    for index, (where, key) in enumerate(items):
        if key in seen:
            position = index if where == "measures" else index - len(widget.measures)
            raise _error(
                widget,
                "report.invalid_spec",
                f"{where}[{position}].key",
                detail=f"the key {key!r} is used twice",
            )
        seen.add(key)
    for index, sort in enumerate(widget.sort):
        if sort.key not in seen:
            raise _error(widget, "report.bad_sort", f"sort[{index}].key", key=sort.key)


def _check_chart(widget: Widget) -> None:
    chart, dims, measures = widget.chart, widget.dimensions, widget.measures

    def need(what: str, zh: str, path: str = "") -> ReportError:
        return _error(widget, "report.bad_chart", path, chart=chart, need=what, need_zh=zh)

    if chart != "table" and not measures:
        raise need("at least one measure", "至少一个指标", "measures")
    if chart == "kpi" and dims:
        raise need("no dimensions", "不设维度", "dimensions")
    if chart in ("line", "bar", "pie", "funnel", "stacked_bar") and not dims:
        raise need("a dimension", "一个维度", "dimensions")
    if chart in ("pie", "funnel") and len(dims) != 1:
        raise need("exactly one dimension", "恰好一个维度", "dimensions")
    if chart == "stacked_bar" and len(dims) != 2:
        raise need("two dimensions (category and series)", "两个维度（类别与系列）", "dimensions")
    if chart == "table" and not measures and not dims:
        raise need("columns (dimensions) or measures", "列（维度）或指标", "dimensions")
    if chart == "pivot":
        if widget.pivot is None:
            raise need("a pivot layout", "透视布局", "pivot")
        keys = [*widget.pivot.rows, *widget.pivot.columns]
        if sorted(keys) != sorted(d.key for d in dims) or len(set(keys)) != len(keys):
            raise need(
                "pivot rows and columns naming each dimension once",
                "透视的行与列各引用每个维度一次",
                "pivot",
            )
    elif widget.pivot is not None:
        raise need("no pivot layout (only pivot charts have one)", "不设透视布局", "pivot")
    if widget.top_n is not None:
        if not dims or chart in ("pivot", "kpi") or not measures:
            raise need("a dimension and a measure for top-N", "维度与指标才能取前 N", "top_n")
        if widget.top_n.by not in {m.key for m in measures}:
            raise _error(widget, "report.bad_sort", "top_n.by", key=widget.top_n.by)
    if widget.compare is not None and (
        chart == "pivot" or widget.top_n is not None or not measures
    ):
        raise need(
            "measures, and no pivot or top-N, to compare periods",
            "指标，且不能同时使用透视或前 N",
            "compare",
        )


def validate(widget: Widget, timezone: str) -> None:
    """Raise a ``ReportError`` for the first structural problem of ``widget``."""
    check_timezone(widget, timezone)
    _check_sizes(widget)
    _check_keys(widget)
    _check_chart(widget)
    for index, measure in enumerate(widget.measures):
        if measure.numerator is not None and measure.numerator.agg == "ratio":
            raise _error(
                widget,
                "report.invalid_spec",
                f"measures[{index}].numerator",
                detail="a ratio of ratios is not supported",
            )
        if measure.denominator is not None and measure.denominator.agg == "ratio":
            raise _error(
                widget,
                "report.invalid_spec",
                f"measures[{index}].denominator",
                detail="a ratio of ratios is not supported",
            )
        if measure.filter is not None:
            _check_rule(widget, measure.filter, f"measures[{index}].filter")
        for part in ("numerator", "denominator"):
            sub = getattr(measure, part)
            if sub is not None and sub.filter is not None:
                _check_rule(widget, sub.filter, f"measures[{index}].{part}.filter")
    if widget.filter is not None:
        _check_rule(widget, widget.filter, "filter")
