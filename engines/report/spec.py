"""The dashboard and widget spec (DESIGN §5): pydantic models, validated once, immutable.

A widget names a source form, optional one-to-many joins, measures, dimensions, a JsonLogic
filter, sort, limit or top-N with "others", a previous-period comparison, a pivot layout and a
chart type. Fields are *paths*: ``priority`` (a field of the source), ``customer.region``
(through the source's relation ``customer``, many-to-one, any depth up to
:data:`MAX_PATH_DEPTH`), ``tags`` / ``tags.weight`` (a many-relation of the source, one-to-many)
or ``replies.minutes`` (a declared :class:`Join`: records of another form whose relation points
at the source). System columns are fields too: ``id``, ``created_at``, ``updated_at``,
``created_by``, ``updated_by``, ``owner_id``, ``department_id``.

:func:`parse_widget` and :func:`parse_dashboard` turn pydantic's errors into
:class:`~engines.report.errors.ReportError` naming the widget and the path
(``widgets[volume].measures[0].p``). Checks that need the forms (fields exist, aggregations fit
the type, limits) are compiler passes, not model validators.
"""

from __future__ import annotations

from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from engines.form.schema import KEY_PATTERN, Labels
from engines.report.errors import ReportError

Chart = Literal["kpi", "line", "bar", "stacked_bar", "pie", "funnel", "pivot", "table"]
Aggregation = Literal[
    "count", "count_distinct", "sum", "avg", "min", "max", "median", "percentile", "ratio"
]
BucketName = Literal["hour", "day", "week", "month", "quarter", "year", "hour_of_day", "weekday"]
Rule = Any  # a JsonLogic rule, checked by the validate pass
PATH_PATTERN = r"^[a-z][a-z0-9_]{0,62}(\.[a-z][a-z0-9_]{0,62}){0,3}$"
MAX_PATH_DEPTH = 4
#: The dashboard grid: widgets are 1 to 12 columns wide and 1 to 12 rows high.
GRID_COLUMNS = 12
GRID_ROWS = 12


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


FormatStyle = Literal["number", "percent", "duration"]
DurationUnit = Literal["seconds", "minutes", "hours", "days"]
MAX_DECIMALS = 6


class MeasureFormat(Model):
    """How a measure's values are shown (never how they are computed or exported).

    ``number``: with ``decimals`` digits after the point (by default as many as needed, up to
    two). ``percent``: a ratio (0.896) times 100 with a percent sign (89.6 %). ``duration``: the
    value is a length of time in ``unit`` (the field's unit, ``minutes`` by default), shown in
    ``show_as`` (``unit`` by default) — ``{"style": "duration", "unit": "minutes", "show_as":
    "hours", "decimals": 1}`` shows 90 as "1.5 h". ``decimals`` is fixed (0 to 6)."""

    style: FormatStyle = "number"
    decimals: int | None = Field(default=None, ge=0, le=MAX_DECIMALS)
    unit: DurationUnit | None = None
    show_as: DurationUnit | None = None

    @model_validator(mode="after")
    def _units(self) -> MeasureFormat:
        if self.style != "duration" and (self.unit is not None or self.show_as is not None):
            raise ValueError("only a duration has a unit and show_as")
        return self


class Measure(Model):
    """One number per group. ``field`` is a path (none for ``count`` of records); ``filter``
    makes it a *filtered measure* (only the rows where the JsonLogic rule holds count);
    ``ratio`` divides ``numerator`` by ``denominator`` (null where the denominator is 0)."""

    key: str = Field(pattern=KEY_PATTERN)
    agg: Aggregation
    field: str | None = Field(default=None, pattern=PATH_PATTERN)
    p: float | None = Field(default=None, gt=0, lt=1, description="percentile: 0 < p < 1")
    filter: Rule | None = None
    numerator: Measure | None = None
    denominator: Measure | None = None
    label: Labels = Field(default_factory=dict)
    #: How the values are shown; ``None``: :meth:`display_format`'s default.
    format: MeasureFormat | None = None

    def display_format(self) -> tuple[MeasureFormat, int, int]:
        """The measure's format with the least and most digits after the point: the given
        format (``decimals`` fixed, else up to two; a percent or duration up to one), else the
        default of the aggregation — a ratio as a percent with one decimal, an average, median
        or percentile with at most one decimal, counts and sums as numbers up to two."""
        chosen = self.format
        if chosen is None:
            if self.agg == "ratio":
                return MeasureFormat(style="percent", decimals=1), 1, 1
            if self.agg in ("avg", "median", "percentile"):
                return MeasureFormat(), 0, 1
            return MeasureFormat(), 0, 2
        if chosen.decimals is not None:
            return chosen, chosen.decimals, chosen.decimals
        return chosen, 0, 2 if chosen.style == "number" else 1

    @model_validator(mode="after")
    def _shape(self) -> Measure:
        if self.agg == "ratio":
            if self.numerator is None or self.denominator is None:
                raise ValueError("a ratio needs a numerator and a denominator")
            if self.field is not None:
                raise ValueError("a ratio has no field of its own")
        elif self.numerator is not None or self.denominator is not None:
            raise ValueError("only a ratio has a numerator and a denominator")
        if self.agg == "percentile" and self.p is None:
            raise ValueError("a percentile needs p (0 < p < 1)")
        if self.agg != "percentile" and self.p is not None:
            raise ValueError("only a percentile has p")
        if self.agg not in ("count", "ratio") and self.field is None:
            raise ValueError(f"{self.agg} needs a field")
        return self


class Dimension(Model):
    """A grouping: a field path, optionally bucketed (date and date-time fields)."""

    key: str = Field(pattern=KEY_PATTERN)
    field: str = Field(pattern=PATH_PATTERN)
    bucket: BucketName | None = None
    label: Labels = Field(default_factory=dict)


class Sort(Model):
    """Order by a measure or dimension key."""

    key: str = Field(pattern=KEY_PATTERN)
    desc: bool = False


class TopN(Model):
    """Keep the ``n`` values of the first dimension ranked highest by measure ``by`` (the first
    measure by default); with ``others`` the rest are folded into one "others" group, whose
    measures are computed over its rows (so averages and distinct counts stay right)."""

    n: int
    by: str | None = Field(default=None, pattern=KEY_PATTERN)
    others: bool = True


class Compare(Model):
    """This period vs the previous one of the same length, on date(-time) ``field``.

    The period is the dashboard's ``date_range`` filter on that field; without one, the last
    ``days`` local days up to today."""

    field: str = Field(pattern=PATH_PATTERN)
    period: Literal["previous_period"] = "previous_period"
    days: int | None = Field(default=None, ge=1, le=3660)


class Pivot(Model):
    """Pivot layout: dimension keys down (``rows``) and across (``columns``), with totals."""

    rows: list[str] = Field(min_length=1)
    columns: list[str] = Field(default_factory=list)
    totals: bool = True


class Join(Model):
    """One-to-many: records of ``form`` whose relation field ``via`` points at the source.

    Measures over ``<key>.<field>`` (or ``count`` of ``<key>``) are aggregated per source
    record in a subquery first, so joining never double counts."""

    key: str = Field(pattern=KEY_PATTERN)
    form: str = Field(pattern=KEY_PATTERN)
    via: str = Field(pattern=KEY_PATTERN)


class Layout(Model):
    """A widget's size on the dashboard grid: ``w`` of :data:`GRID_COLUMNS` columns, ``h``
    rows (a row is a fixed height; charts fill their widget). Phones show every widget at
    full width."""

    w: int = Field(ge=1, le=GRID_COLUMNS)
    h: int = Field(ge=1, le=GRID_ROWS)


#: The size of a widget without a layout: half the width (tables and pivots the full width),
#: four rows high — two charts side by side, as a dashboard without layouts shows them.
DEFAULT_HEIGHT = 4


def default_layout(chart: str) -> Layout:
    wide = chart in ("table", "pivot")
    return Layout(w=GRID_COLUMNS if wide else GRID_COLUMNS // 2, h=DEFAULT_HEIGHT)


class Widget(Model):
    key: str = Field(pattern=KEY_PATTERN)
    title: Labels = Field(default_factory=dict)
    chart: Chart
    form: str = Field(pattern=KEY_PATTERN, description="Key of the source form")
    joins: list[Join] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    dimensions: list[Dimension] = Field(default_factory=list)
    filter: Rule | None = None
    sort: list[Sort] = Field(default_factory=list)
    limit: int | None = None
    top_n: TopN | None = None
    compare: Compare | None = None
    pivot: Pivot | None = None
    #: Size on the dashboard grid; ``None``: :func:`default_layout` (and a dashboard none of
    #: whose widgets has a layout keeps the flowing grid of equal widgets).
    layout: Layout | None = None

    @property
    def size(self) -> Layout:
        return self.layout or default_layout(self.chart)


class Grantee(Model):
    """Who may see a dashboard: a role key (the app's or a global role), a user group key, a
    department code (``include_children``: members of the departments below it too) or a
    username — named as permission grants name them."""

    kind: Literal["role", "group", "department", "user"]
    key: str = Field(min_length=1, max_length=200)
    include_children: bool = False


RuntimeFilterKind = Literal["date_range", "department", "equals", "choice"]


class DashboardFilter(Model):
    """A filter the viewer sets at run time. ``field`` is a path on each widget's source
    (``fields`` overrides it per widget key); ``widgets`` limits it to some widgets.

    Values: ``date_range`` ``{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`` (local dates, both
    inclusive, either may be missing); ``department`` an id or a list of ids (field
    ``department_id`` by default); ``equals`` one value; ``choice`` a list of values."""

    key: str = Field(pattern=KEY_PATTERN)
    kind: RuntimeFilterKind
    field: str | None = Field(default=None, pattern=PATH_PATTERN)
    label: Labels = Field(default_factory=dict)
    widgets: list[str] | None = None
    fields: dict[str, str] = Field(default_factory=dict)

    def field_for(self, widget_key: str) -> str:
        default = "department_id" if self.kind == "department" else ""
        return self.fields.get(widget_key) or self.field or default


class RuntimeFilter(Model):
    """A dashboard filter with its value, bound to one widget: what the compiler applies."""

    key: str
    kind: RuntimeFilterKind
    field: str
    value: Any = None


class Dashboard(Model):
    """``timezone``: an IANA zone name (``Asia/Shanghai``) the dashboard's buckets and date
    ranges use instead of the organisation's; ``None`` = the organisation's.

    ``visible_to``: who may see the dashboard (any of them; administrators always). Empty:
    everyone who may read one of its widgets' forms. The widgets' form rights hold either
    way."""

    key: str = Field(pattern=KEY_PATTERN)
    title: Labels = Field(default_factory=dict)
    timezone: str | None = Field(default=None, max_length=64)
    widgets: list[Widget] = Field(default_factory=list)
    filters: list[DashboardFilter] = Field(default_factory=list)
    visible_to: list[Grantee] = Field(default_factory=list, max_length=200)

    @property
    def sized(self) -> bool:
        """Whether any widget has a layout (then the grid has 12 columns, else it flows)."""
        return any(w.layout is not None for w in self.widgets)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name)") from None
        return value

    @model_validator(mode="after")
    def _unique(self) -> Dashboard:
        for what, keys in (
            ("widget", [w.key for w in self.widgets]),
            ("filter", [f.key for f in self.filters]),
            ("visible_to", [f"{g.kind}:{g.key}" for g in self.visible_to]),
        ):
            twice = {k for k in keys if keys.count(k) > 1}
            if twice:
                raise ValueError(f"{what} key(s) used twice: {', '.join(sorted(twice))}")
        return self

    def widget(self, key: str) -> Widget:
        for widget in self.widgets:
            if widget.key == key:
                return widget
        raise KeyError(key)

    def runtime_filters(self, widget_key: str, values: dict[str, Any]) -> list[RuntimeFilter]:
        """The filters ``values`` (by filter key; ``None`` or absent = not set) that apply to
        widget ``widget_key``, ready for ``compile_widget(runtime_filters=...)``."""
        bound = []
        for declared in self.filters:
            value = values.get(declared.key)
            if value is None or (
                declared.widgets is not None and widget_key not in declared.widgets
            ):
                continue
            bound.append(
                RuntimeFilter(
                    key=declared.key,
                    kind=declared.kind,
                    field=declared.field_for(widget_key),
                    value=value,
                )
            )
        return bound


def _render(loc: tuple[int | str, ...], data: Any) -> tuple[str | None, str]:
    """The widget key and the path of a pydantic error location: ``widgets[volume].measures[0]
    .field`` (widgets are named by their key, other list items by their index)."""
    widget_key: str | None = None
    out, node, parent = "", data, ""
    for segment in loc:
        if isinstance(segment, int):
            item = node[segment] if isinstance(node, list) and 0 <= segment < len(node) else None
            key = item.get("key") if isinstance(item, dict) else None
            named = parent == "widgets" and isinstance(key, str) and bool(key)
            if named and widget_key is None:
                widget_key = str(key)
            out += f"[{key if named else segment}]"
            node = item
        else:
            out += ("." if out else "") + str(segment)
            node = node.get(segment) if isinstance(node, dict) else None
            parent = str(segment)
    return widget_key, out


def _refused(exc: ValidationError, data: Any, prefix: tuple[int | str, ...] = ()) -> ReportError:
    first = exc.errors()[0]
    widget_key, path = _render((*prefix, *first["loc"]), data)
    return ReportError(
        "report.invalid_spec", widget=widget_key, stage="spec", path=path, detail=first["msg"]
    )


def parse_widget(data: Any) -> Widget:
    """A :class:`Widget` from JSON data; a ``ReportError`` naming the widget and path if not."""
    try:
        return Widget.model_validate(data)
    except ValidationError as exc:
        raise _refused(exc, {"widgets": [data]}, ("widgets", 0)) from None


def parse_dashboard(data: Any) -> Dashboard:
    """A :class:`Dashboard` from JSON data; errors name the widget (``widgets[volume]...``)."""
    try:
        return Dashboard.model_validate(data)
    except ValidationError as exc:
        raise _refused(exc, data) from None
