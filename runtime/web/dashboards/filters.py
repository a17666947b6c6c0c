"""A dashboard's runtime filters as a form: values from the query string (so a filtered
dashboard can be shared by its URL), checked and turned into the service's filter values, and
described in words for headings.

Query parameters, by filter kind: ``date_range`` — ``<key>`` a preset (``7d``, ``30d`` …) or
``<key>.from`` / ``<key>.to`` local dates; ``department`` — ``<key>`` department ids (repeatable);
``equals`` — ``<key>`` one value; ``choice`` — ``<key>`` values (repeatable).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from starlette.datastructures import QueryParams

from engines.report.spec import Dashboard, DashboardFilter
from runtime.records.forms import PublishedApp
from runtime.web import formatting
from runtime.web.dashboards.fields import SYSTEM_LABELS, option_labels, resolve, system_label
from runtime.web.forms import FormErrors
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _
from runtime.web.templating import label_text

#: Date-range presets: query value → (days back including today, or a calendar period; label).
PRESETS: dict[str, tuple[int | str, str]] = {
    "today": (1, N_("Today")),
    "7d": (7, N_("Last 7 days")),
    "30d": (30, N_("Last 30 days")),
    "90d": (90, N_("Last 90 days")),
    "month": ("month", N_("This month")),
    "year": ("year", N_("This year")),
}
_NUMBER_TYPES = {"integer": int, "decimal": float, "currency": float, "percent": float}


@dataclass
class FilterInput:
    """One filter's control: what the form shows and what was chosen."""

    key: str
    kind: str
    label: str
    chosen: list[str] = field(default_factory=list)
    preset: str = ""
    start: str = ""
    end: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    description: str | None = None

    @property
    def active(self) -> bool:
        return self.description is not None


@dataclass
class FilterState:
    inputs: list[FilterInput]
    #: The values for the report service, by filter key.
    values: dict[str, Any]
    #: The query parameters that reproduce this state (for links: drill-downs, paging).
    query: list[tuple[str, str]]
    errors: FormErrors

    def descriptions(self) -> list[str]:
        return [f"{i.label}: {i.description}" for i in self.inputs if i.description]


def _today(zone: str) -> date:
    return datetime.now(formatting.zone(zone)).date()


def preset_range(preset: str, zone: str) -> dict[str, str]:
    """The local dates of a preset, both inclusive."""
    span = PRESETS[preset][0]
    today = _today(zone)
    if span == "month":
        start = today.replace(day=1)
    elif span == "year":
        start = today.replace(month=1, day=1)
    else:
        assert isinstance(span, int)
        start = today - timedelta(days=span - 1)
    return {"from": start.isoformat(), "to": today.isoformat()}


class _Parser:
    def __init__(
        self,
        board: Dashboard,
        app: PublishedApp,
        params: QueryParams,
        zone: str,
        departments: Sequence[tuple[int, str]],
    ) -> None:
        self.board, self.app, self.params, self.zone = board, app, params, zone
        self.departments = departments
        self.errors = FormErrors()
        self.values: dict[str, Any] = {}
        self.query: list[tuple[str, str]] = []

    def _field(self, declared: DashboardFilter) -> tuple[str, Any]:
        """The filter's field path and spec on the first widget it applies to."""
        keys = declared.widgets or [w.key for w in self.board.widgets]
        widget = next((w for w in self.board.widgets if w.key in keys), None)
        if widget is None:
            return declared.field or "", None
        path = declared.field_for(widget.key)
        return path, resolve(self.app, widget, path)

    def _label(self, declared: DashboardFilter, path: str, spec: Any) -> str:
        if declared.label:
            return label_text(declared.label)
        if spec is not None:
            return label_text(spec.label)
        return system_label(path) or declared.key

    def parse(self) -> FilterState:
        inputs = []
        for declared in self.board.filters:
            path, spec = self._field(declared)
            control = FilterInput(declared.key, declared.kind, self._label(declared, path, spec))
            getattr(self, f"_{declared.kind}")(declared, control, path, spec)
            inputs.append(control)
        return FilterState(inputs, self.values, self.query, self.errors)

    def _date_range(self, declared: DashboardFilter, control: FilterInput, *_rest: Any) -> None:
        key = declared.key
        control.preset = self.params.get(key, "")
        control.start = self.params.get(f"{key}.from", "").strip()
        control.end = self.params.get(f"{key}.to", "").strip()
        if control.start or control.end:
            control.preset = ""
            chosen: dict[str, str] = {}
            for name, text in (("from", control.start), ("to", control.end)):
                if not text:
                    continue
                try:
                    chosen[name] = date.fromisoformat(text).isoformat()
                except ValueError:
                    self.errors.add(f"{key}.{name}", _("Enter a date like 2026-01-31."))
                    continue
                self.query.append((f"{key}.{name}", text))
            if chosen.get("from") and chosen.get("to") and chosen["from"] > chosen["to"]:
                self.errors.add(f"{key}.to", _("The end date is before the start date."))
                return
            if chosen and not self.errors.get(f"{key}.from") and not self.errors.get(f"{key}.to"):
                self.values[key] = chosen
                control.description = _range_text(chosen)
        elif control.preset:
            if control.preset not in PRESETS:
                self.errors.add(key, _("Choose one of the periods offered."))
                return
            self.values[key] = preset_range(control.preset, self.zone)
            self.query.append((key, control.preset))
            control.description = _(PRESETS[control.preset][1]).lower()

    def _department(self, declared: DashboardFilter, control: FilterInput, *_rest: Any) -> None:
        names = dict(self.departments)
        control.options = [(str(i), name) for i, name in self.departments]
        chosen = [v for v in self.params.getlist(declared.key) if v.strip()]
        control.chosen = chosen
        if not chosen:
            return
        if not all(v.strip().isdigit() for v in chosen):
            self.errors.add(declared.key, _("Choose a department from the list."))
            return
        ids = [int(v) for v in chosen]
        self.values[declared.key] = ids
        self.query.extend((declared.key, str(i)) for i in ids)
        control.description = ", ".join(names.get(i, f"#{i}") for i in ids)

    def _coerce(self, declared: DashboardFilter, path: str, spec: Any, raw: str) -> Any:
        kind = spec.type if spec is not None else ("system" if path in SYSTEM_LABELS else "")
        if kind in _NUMBER_TYPES or kind == "system":
            convert = _NUMBER_TYPES.get(kind, int)
            try:
                return convert(raw)
            except ValueError:
                self.errors.add(declared.key, _("Enter a number."))
                return None
        if kind == "boolean":
            return raw.lower() in ("1", "true", "yes", "on")
        return raw

    def _choices(self, control: FilterInput, spec: Any) -> dict[str, Any] | None:
        labels = option_labels(spec)
        if labels is not None:
            control.options = [(value, label_text(label)) for value, label in labels.items()]
        elif spec is not None and spec.type == "boolean":
            control.options = [("true", _("Yes")), ("false", _("No"))]
        return labels

    def _described(self, labels: dict[str, Any] | None, values: list[str]) -> str:
        return ", ".join(label_text(labels.get(v, v)) if labels else v for v in values)

    def _equals(
        self, declared: DashboardFilter, control: FilterInput, path: str, spec: Any
    ) -> None:
        labels = self._choices(control, spec)
        raw = self.params.get(declared.key, "").strip()
        control.chosen = [raw] if raw else []
        if not raw:
            return
        value = self._coerce(declared, path, spec, raw)
        if value is None:
            return
        self.values[declared.key] = value
        self.query.append((declared.key, raw))
        control.description = self._described(labels, [raw])

    def _choice(
        self, declared: DashboardFilter, control: FilterInput, path: str, spec: Any
    ) -> None:
        labels = self._choices(control, spec)
        chosen = [v.strip() for v in self.params.getlist(declared.key) if v.strip()]
        if not control.options:  # a free-text control: comma-separated values
            chosen = [part.strip() for v in chosen for part in v.split(",") if part.strip()]
        control.chosen = chosen
        if not chosen:
            return
        values = [self._coerce(declared, path, spec, v) for v in chosen]
        if any(v is None for v in values):
            return
        self.values[declared.key] = values
        self.query.extend((declared.key, v) for v in chosen)
        control.description = self._described(labels, chosen)


def _range_text(chosen: dict[str, str]) -> str:
    start, end = chosen.get("from"), chosen.get("to")
    if start and end:
        return _(
            "%(start)s – %(end)s",
            start=formatting.format_date(start),
            end=formatting.format_date(end),
        )
    if start:
        return _("from %(start)s", start=formatting.format_date(start))
    return _("until %(end)s", end=formatting.format_date(end))


def parse_filters(
    board: Dashboard,
    app: PublishedApp,
    params: QueryParams,
    zone: str,
    departments: Sequence[tuple[int, str]] = (),
) -> FilterState:
    """The filters' controls and values from the query string (errors by parameter name)."""
    return _Parser(board, app, params, zone, departments).parse()


def apply_problem(state: FilterState, errors: Sequence[Any]) -> None:
    """The service's per-filter errors (``filters.<key>``) shown at the filter's control."""
    for error in errors:
        name = str(error.field)
        state.errors.add(name.removeprefix("filters."), error.message)
