"""Rows of a compiled statement -> the chart's data (pure; no database).

Values come out JSON-ready: integers, floats (decimals and averages too), ``YYYY-MM-DD`` dates
and bucket starts, local ``YYYY-MM-DDTHH:00:00`` hour buckets, UTC ISO date-times. Time
buckets are returned as the database returns them (a bucket without rows is absent: no rows
are invented). Shapes:

* every chart: ``rows``, one dict per group (dimension and measure keys); an "others" group of a
  top-N has ``"_others": True`` (and its first dimension ``None``); with a period comparison
  each row has ``"_compare": {measure: {"previous": v, "change": (v - prev) / prev}}``.
* ``kpi``: ``value`` — the single row's measures.
* ``pivot``: ``pivot`` — row and column keys, cells, row/column totals and the grand total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engines.logic.coerce import format_datetime
from engines.report.buckets import BUCKETS
from engines.report.build import OutputColumn, Statement
from engines.report.spec import Widget


@dataclass
class WidgetResult:
    """A widget's data, ready for a chart (see the module docstring)."""

    widget: str
    chart: str
    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    truncated: bool = False
    value: dict[str, Any] | None = None
    pivot: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def convert(raw: Any, column: OutputColumn) -> Any:
    """A database value as JSON-ready Python (see the module docstring)."""
    if raw is None:
        return None
    if column.bucket is not None:
        return BUCKETS.get(column.bucket).output(raw)
    kind = column.type
    if kind == "integer":
        return int(raw)
    if kind in ("decimal", "number"):
        return float(raw)
    if kind == "boolean":
        return bool(raw)
    if kind == "datetime":
        if isinstance(raw, str):
            raw = datetime.fromisoformat(raw)
        return format_datetime(raw)
    if kind == "date":
        return raw.isoformat() if isinstance(raw, date) else str(raw)[:10]
    if isinstance(raw, Decimal):
        return float(raw)
    return raw


def change(current: Any, previous: Any) -> float | None:
    """Relative change from ``previous`` to ``current``; None without a non-zero previous."""
    if current is None or previous is None or previous == 0:
        return None
    return (float(current) - float(previous)) / float(previous)


def _sort_key(values: Sequence[Any]) -> tuple[Any, ...]:
    return tuple((v is None, v if v is not None else 0) for v in values)


class Shaper:
    """Turns rows into a :class:`WidgetResult` for one compiled widget."""

    def __init__(self, widget: Widget, statement: Statement) -> None:
        self.widget = widget
        self.statement = statement
        self.columns = [
            c for c in statement.columns if c.role in ("dimension", "measure", "previous", "record")
        ]

    def meta(self) -> list[dict[str, Any]]:
        return [
            {"key": c.key, "role": c.role, "label": c.label, "type": c.type, "bucket": c.bucket}
            for c in self.statement.columns
            if c.role in ("dimension", "measure", "previous")
        ]

    def _row(self, raw: Any) -> dict[str, Any]:
        mapping = raw._mapping if hasattr(raw, "_mapping") else raw
        out: dict[str, Any] = {}
        compare: dict[str, dict[str, Any]] = {}
        for column in self.columns:
            value = convert(mapping[column.name], column)
            if column.role == "previous":
                compare[column.key] = {"previous": value}
            else:
                out[column.key] = value
        if compare:
            for key, entry in compare.items():
                entry["change"] = change(out.get(key), entry["previous"])
            out["_compare"] = compare
        if self.statement.layout == "top_n" and mapping["o"]:
            out["_others"] = True
        return out

    def __call__(self, rows: Iterable[Any]) -> WidgetResult:
        raw = list(rows)
        truncated = False
        if self.statement.layout != "pivot" and len(raw) >= self.statement.fetch_limit:
            raw, truncated = raw[: self.statement.fetch_limit - 1], True
        result = WidgetResult(self.widget.key, self.widget.chart, self.meta(), [], truncated)
        if self.statement.layout == "pivot":
            return self._pivot(raw, result)
        result.rows = [self._row(r) for r in raw]
        if self.widget.chart == "kpi":
            result.value = result.rows[0] if result.rows else {}
        return result

    def _pivot(self, raw: list[Any], result: WidgetResult) -> WidgetResult:
        pivot = self.widget.pivot
        assert pivot is not None
        levels = self.statement.levels
        measures = [m.key for m in self.widget.measures]
        by_level: dict[tuple[str, ...], list[dict[str, Any]]] = {level: [] for level in levels}
        for row in raw:
            mapping = row._mapping if hasattr(row, "_mapping") else row
            by_level[levels[int(mapping["g"])]].append(self._row(row))
        cells = by_level[levels[0]]
        if len(cells) >= self.statement.fetch_limit:
            cells, result.truncated = cells[: self.statement.fetch_limit - 1], True
        result.rows = cells

        def key(row: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
            return tuple(row[k] for k in keys)

        row_keys = sorted({key(c, pivot.rows) for c in cells}, key=_sort_key)
        column_keys = sorted({key(c, pivot.columns) for c in cells}, key=_sort_key)
        index = {(key(c, pivot.rows), key(c, pivot.columns)): c for c in cells}

        def values(row: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if row is None else {m: row[m] for m in measures}

        totals_rows = {key(r, pivot.rows): r for r in by_level.get(tuple(pivot.rows), [])}
        totals_columns = {key(r, pivot.columns): r for r in by_level.get(tuple(pivot.columns), [])}
        grand = by_level.get((), [])
        result.pivot = {
            "rows": [list(k) for k in row_keys],
            "columns": [list(k) for k in column_keys],
            "cells": [[values(index.get((r, c))) for c in column_keys] for r in row_keys],
            "row_totals": [values(totals_rows.get(r)) for r in row_keys] if pivot.totals else None,
            "column_totals": (
                [values(totals_columns.get(c)) for c in column_keys]
                if pivot.totals and pivot.columns
                else None
            ),
            "total": values(grand[0]) if pivot.totals and grand else None,
        }
        return result
