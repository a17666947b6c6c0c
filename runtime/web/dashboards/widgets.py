"""Widget outcomes (the report service's shaped results) as what the page shows: readable
labels and values, a drill-down link per clicked value, KPI cards, table and pivot rows, a
text summary of each chart, and the data ``static/dashboards.js`` draws with ECharts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from engines.report.spec import Dashboard, Widget
from runtime.records.forms import PublishedApp
from runtime.reports.service import Outcome
from runtime.web import formatting
from runtime.web.dashboards.fields import option_labels, resolve, system_label
from runtime.web.dashboards.filters import FilterState
from runtime.web.dashboards.values import NumberFormat, display, number_format
from runtime.web.i18n import N_, ngettext
from runtime.web.i18n import gettext as _
from runtime.web.templating import label_text

#: Charts drawn with ECharts; the others are HTML (KPI cards, tables).
CHARTS = frozenset({"line", "bar", "stacked_bar", "pie", "funnel"})
WIDGET_ERRORS = {
    "widget_field_hidden": N_("This widget uses a field you may not see."),
    "widget_invalid": N_("This widget cannot be run as it is."),
    "widget_failed": N_("This widget could not be computed right now."),
    "forbidden": N_("You may not read the records this widget counts."),
}
CHART_NAMES = {
    "kpi": N_("Key figure"),
    "line": N_("Line chart"),
    "bar": N_("Bar chart"),
    "stacked_bar": N_("Stacked bar chart"),
    "pie": N_("Pie chart"),
    "funnel": N_("Funnel chart"),
    "pivot": N_("Pivot table"),
    "table": N_("Table"),
}


@dataclass
class Column:
    key: str
    role: str  # dimension | measure
    label: str
    kind: str
    bucket: str | None = None
    options: dict[str, Any] | None = None
    #: A measure's display format (see :func:`values.number_format`).
    number: NumberFormat | None = None

    def text(self, value: Any, tz: str | None = None) -> str:
        if self.number is not None:
            return self.number.text(value)
        return display(value, kind=self.kind, bucket=self.bucket, options=self.options, tz=tz)

    def entry(self) -> dict[str, Any]:
        """The column as the chart script reads it."""
        entry: dict[str, Any] = {"key": self.key, "label": self.label}
        if self.number is not None:
            entry["format"] = self.number.to_json()
        return entry


@dataclass
class Cell:
    text: str
    drill: str | None = None
    numeric: bool = False


@dataclass
class Kpi:
    label: str
    text: str
    drill: str | None
    change: str | None = None
    trend: str = ""  # up | down | ""


@dataclass
class WidgetView:
    key: str
    title: str
    chart: str
    chart_name: str
    ok: bool = True
    error: str | None = None
    error_details: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)
    kpis: list[Kpi] = field(default_factory=list)
    truncated: bool = False
    summary: str = ""
    data: dict[str, Any] | None = None
    #: Columns (of 12) and rows on the dashboard grid (used when the dashboard is sized).
    width: int = 6
    height: int = 4

    @property
    def drawn(self) -> bool:
        return self.ok and self.chart in CHARTS and bool(self.rows)

    @property
    def data_json(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))


def drill_url(
    app_key: str,
    board: Dashboard,
    widget: Widget,
    cell: dict[str, Any],
    measure: str | None,
    state: FilterState,
) -> str:
    """The drill page of one clicked value, with the dashboard's filters."""
    params = [("cell", json.dumps(cell, ensure_ascii=False, separators=(",", ":")))]
    if measure:
        params.append(("measure", measure))
    base = f"/apps/{app_key}/dashboards/{board.key}/widgets/{widget.key}/records"
    return f"{base}?{urlencode(params + state.query)}"


def columns_of(
    app: PublishedApp,
    widget: Widget,
    meta: list[dict[str, Any]],
    names: dict[str, dict[str, str]] | None = None,
) -> list[Column]:
    """Readable columns: the spec's label, else the field's; option names of choice fields,
    the ``names`` of reference dimensions (users, departments, related records: the result's
    ``labels``); measures with their display format."""
    paths = {d.key: d.field for d in widget.dimensions}
    paths.update({m.key: m.field or "" for m in widget.measures})
    columns = []
    for item in meta:
        if item["role"] not in ("dimension", "measure"):
            continue
        path = paths.get(item["key"], "")
        spec = resolve(app, widget, path) if path else None
        label = label_text(item.get("label") or {})
        if not label:
            if item["role"] == "measure" and widget.measures:
                measure = next((m for m in widget.measures if m.key == item["key"]), None)
                label = _("Count") if measure and measure.agg == "count" else ""
            label = label or (label_text(spec.label) if spec else system_label(path) or item["key"])
        options = None
        if item["role"] == "dimension":
            options = option_labels(spec)
            if options is None and names and item["key"] in names:
                options = dict(names[item["key"]])
        measure = next((m for m in widget.measures if m.key == item["key"]), None)
        number = number_format(measure) if item["role"] == "measure" and measure else None
        columns.append(
            Column(
                item["key"], item["role"], label, item["type"], item.get("bucket"), options, number
            )
        )
    return columns


class _Builder:
    def __init__(
        self,
        app: PublishedApp,
        board: Dashboard,
        widget: Widget,
        state: FilterState,
        tz: str,
    ) -> None:
        self.app, self.board, self.widget, self.state, self.tz = app, board, widget, state, tz
        self.view = WidgetView(
            widget.key,
            label_text(widget.title) or widget.key,
            widget.chart,
            _(CHART_NAMES.get(widget.chart, "Table")),
            width=widget.size.w,
            height=widget.size.h,
        )

    def url(self, cell: dict[str, Any], measure: str | None) -> str:
        return drill_url(self.app.app_key, self.board, self.widget, cell, measure, self.state)

    def cell_of(self, row: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        cell = {k: row.get(k) for k in keys}
        if row.get("_others"):
            cell = {k: v for k, v in cell.items() if k != keys[0]} | {"_others": True}
        return cell

    def label_of(self, column: Column, row: dict[str, Any], first: bool) -> str:
        if first and row.get("_others"):
            return _("Others")
        return column.text(row.get(column.key), self.tz)

    def build(self, outcome: Outcome) -> WidgetView:
        view = self.view
        if outcome.problem is not None:
            return self.failed(outcome.problem)
        result = outcome.result or {}
        view.columns = columns_of(
            self.app, self.widget, result.get("columns", []), result.get("labels")
        )
        view.truncated = bool(result.get("truncated"))
        if self.widget.chart == "pivot" and result.get("pivot"):
            self.pivot(result["pivot"])
        else:
            self.table(result.get("rows", []))
        if self.widget.chart == "kpi":
            self.kpi(result.get("value") or {})
        view.summary = self.summary(result.get("rows", []))
        return view

    def failed(self, problem: dict[str, Any]) -> WidgetView:
        view = self.view
        view.ok = False
        message = WIDGET_ERRORS.get(problem.get("code", ""))
        view.error = _(message) if message else str(problem.get("title") or "")
        view.error_details = [e.get("message", "") for e in problem.get("errors", [])]
        return view

    def table(self, rows: list[dict[str, Any]]) -> None:
        dims = [c for c in self.view.columns if c.role == "dimension"]
        measures = [c for c in self.view.columns if c.role == "measure"]
        keys = [c.key for c in dims]
        data_rows = []
        for row in rows:
            cell = self.cell_of(row, keys)
            cells = [
                Cell(self.label_of(c, row, i == 0), None if measures else self.url(cell, None))
                for i, c in enumerate(dims)
            ]
            drills = {m.key: self.url(cell, m.key) for m in measures}
            cells += [Cell(m.text(row.get(m.key)), drills[m.key], True) for m in measures]
            self.view.rows.append(cells)
            data_rows.append(
                {
                    "labels": [c.text for c in cells[: len(dims)]],
                    "values": {m.key: row.get(m.key) for m in measures},
                    "previous": {
                        k: v.get("previous") for k, v in (row.get("_compare") or {}).items()
                    },
                    "drill": drills,
                    "drill_previous": {
                        k: self.url(cell | {"_period": "previous"}, k)
                        for k in (row.get("_compare") or {})
                    },
                }
            )
        if self.widget.chart in CHARTS:
            self.view.data = {
                "chart": self.widget.chart,
                "dimensions": [c.entry() for c in dims],
                "measures": [c.entry() for c in measures],
                "previous_label": _("Previous period"),
                "rows": data_rows,
            }

    def kpi(self, value: dict[str, Any]) -> None:
        compare = value.get("_compare") or {}
        for column in (c for c in self.view.columns if c.role == "measure"):
            entry = compare.get(column.key) or {}
            change = entry.get("change")
            kpi = Kpi(column.label, column.text(value.get(column.key)), self.url({}, column.key))
            if change is not None:
                kpi.change = _(
                    "%(change)s vs previous period (%(previous)s)",
                    change=("+" if change > 0 else "")
                    + formatting.format_number(change * 100, 1)
                    + " %",
                    previous=column.text(entry.get("previous")),
                )
                kpi.trend = "up" if change > 0 else "down" if change < 0 else ""
            self.view.kpis.append(kpi)

    def pivot(self, pivot: dict[str, Any]) -> None:
        spec = self.widget.pivot
        assert spec is not None
        by_key = {c.key: c for c in self.view.columns}
        measures = [c for c in self.view.columns if c.role == "measure"]
        row_cols = [by_key[k] for k in spec.rows if k in by_key]
        col_cols = [by_key[k] for k in spec.columns if k in by_key]
        heads = [
            " / ".join(c.text(v, self.tz) for c, v in zip(col_cols, key, strict=False))
            for key in pivot["columns"]
        ]
        self.view.columns = row_cols + [
            Column(
                f"c{i}:{m.key}",
                "measure",
                f"{h} · {m.label}" if len(measures) > 1 else h or m.label,
                m.kind,
                number=m.number,
            )
            for i, h in enumerate(heads)
            for m in measures
        ]
        totals = pivot.get("row_totals")
        if totals is not None:
            self.view.columns += [
                Column("total", "measure", _("Total"), m.kind, number=m.number) for m in measures
            ]

        def values(cell: dict[str, Any], found: dict[str, Any] | None) -> list[Cell]:
            return [
                Cell(
                    m.text((found or {}).get(m.key) if found else None),
                    self.url(cell, m.key) if found else None,
                    True,
                )
                for m in measures
            ]

        for r, row_key in enumerate(pivot["rows"]):
            base = dict(zip(spec.rows, row_key, strict=False))
            cells = [Cell(c.text(v, self.tz)) for c, v in zip(row_cols, row_key, strict=False)]
            for c, col_key in enumerate(pivot["columns"]):
                cell = base | dict(zip(spec.columns, col_key, strict=False))
                cells += values(cell, pivot["cells"][r][c])
            if totals is not None:
                cells += values(base, totals[r])
            self.view.rows.append(cells)
        if pivot.get("column_totals") is not None:
            cells = [Cell(_("Total"))] + [Cell("") for _c in row_cols[1:]]
            for c, col_key in enumerate(pivot["columns"]):
                cells += values(
                    dict(zip(spec.columns, col_key, strict=False)), pivot["column_totals"][c]
                )
            if totals is not None:
                cells += values({}, pivot.get("total"))
            self.view.rows.append(cells)

    def summary(self, rows: list[dict[str, Any]]) -> str:
        """The chart in words: how many groups, the highest and lowest of the first measure."""
        view = self.view
        if not view.ok or view.chart in ("kpi",):
            return ""
        groups = ngettext("%(num)d group", "%(num)d groups", len(rows))
        measures = [c for c in view.columns if c.role == "measure"]
        dims = [c for c in view.columns if c.role == "dimension"]
        if not rows or not measures or not dims or view.chart in ("table", "pivot"):
            return f"{view.chart_name}, {groups}."
        first = measures[0]
        numbers = [
            (r.get(first.key), i) for i, r in enumerate(rows) if r.get(first.key) is not None
        ]
        if not numbers:
            return f"{view.chart_name}, {groups}."
        high, low = max(numbers), min(numbers)
        name = [", ".join(c.text for c in view.rows[i][: len(dims)]) for i in (high[1], low[1])]
        return _(
            "%(chart)s, %(groups)s. %(measure)s: highest %(high_name)s (%(high)s), "
            "lowest %(low_name)s (%(low)s).",
            chart=view.chart_name,
            groups=groups,
            measure=first.label,
            high_name=name[0],
            high=first.text(high[0]),
            low_name=name[1],
            low=first.text(low[0]),
        )


def widget_views(
    app: PublishedApp,
    board: Dashboard,
    outcomes: list[Outcome],
    state: FilterState,
    tz: str,
) -> list[WidgetView]:
    """One view per widget, in the dashboard's order."""
    by_key = {o.widget: o for o in outcomes}
    return [
        _Builder(app, board, w, state, tz).build(by_key[w.key])
        for w in board.widgets
        if w.key in by_key
    ]


_SPEC_KINDS = {
    "integer": "integer",
    "decimal": "decimal",
    "currency": "decimal",
    "percent": "decimal",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}


def spec_columns(
    app: PublishedApp, widget: Widget, names: dict[str, dict[str, str]] | None = None
) -> list[Column]:
    """The widget's dimension and measure columns from its spec alone (no result at hand;
    ``names`` of reference dimensions as a result's ``labels``)."""
    meta = []
    for dimension in widget.dimensions:
        spec = resolve(app, widget, dimension.field)
        kind = _SPEC_KINDS.get(spec.type, "text") if spec else "text"
        if spec is None and dimension.field.endswith("_at"):
            kind = "datetime"
        meta.append(
            {
                "key": dimension.key,
                "role": "dimension",
                "label": dimension.label,
                "type": kind,
                "bucket": dimension.bucket,
            }
        )
    meta += [
        {"key": m.key, "role": "measure", "label": m.label, "type": "number"}
        for m in widget.measures
    ]
    return columns_of(app, widget, meta, names)


def cell_description(
    app: PublishedApp,
    widget: Widget,
    cell: dict[str, Any],
    measure: str | None,
    tz: str,
    names: dict[str, dict[str, str]] | None = None,
) -> list[str]:
    """What was clicked, in words: ``Status = Open``, ``Agent = Ann Lee``, ``Team = Others``,
    the measure …"""
    columns = {c.key: c for c in spec_columns(app, widget, names)}
    parts = []
    for index, dimension in enumerate(widget.dimensions):
        column = columns[dimension.key]
        if index == 0 and cell.get("_others"):
            parts.append(f"{column.label} = {_('Others')}")
        elif dimension.key in cell:
            parts.append(f"{column.label} = {column.text(cell[dimension.key], tz)}")
    if (
        measure
        and measure in columns
        and any(
            m.key == measure and (m.filter is not None or m.agg == "ratio") for m in widget.measures
        )
    ):
        parts.append(columns[measure].label)
    if cell.get("_period") == "previous":
        parts.append(_("previous period"))
    return parts
