"""``compile_widget``: a widget spec -> ONE SQLAlchemy Core statement, column meta and shaper.

The passes run in order, each a pure function of the plan (DESIGN §10.8)::

    normalise → validate → resolve fields → joins → permission scope → filters (widget and
    runtime) → limits → compile (engines.report.build)

Execution is the caller's: run ``compiled.statement`` on a connection of the dialect it was
compiled for, then ``compiled.shape(rows)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engines.report.build import OutputColumn, Statement, build_statement
from engines.report.catalog import Catalog, Viewer
from engines.report.errors import ReportError
from engines.report.passes.joins import plan_joins
from engines.report.passes.limits import apply_limits
from engines.report.passes.normalise import normalise
from engines.report.passes.resolve import resolve_fields
from engines.report.passes.runtime_filters import apply_runtime_filters
from engines.report.passes.scope import apply_scope
from engines.report.passes.validate import validate
from engines.report.plan import Plan
from engines.report.shape import Shaper, WidgetResult
from engines.report.spec import RuntimeFilter, Widget

DIALECTS = frozenset({"sqlite", "postgresql"})


@dataclass(frozen=True)
class CompiledWidget:
    """A compiled widget: run ``statement``, then ``shape(rows)``.

    ``columns`` describes each output column (``name`` = SQL label, ``role`` dimension /
    measure / previous / record / level, ``key``, ``label``, ``type``)."""

    widget: Widget
    statement: Any
    columns: list[OutputColumn]
    plan: Plan
    compiled: Statement

    def shape(self, rows: Iterable[Any]) -> WidgetResult:
        """The chart's data from the statement's rows (pure)."""
        return Shaper(self.widget, self.compiled)(rows)


def plan_widget(
    widget: Widget,
    catalog: Catalog,
    viewer: Viewer,
    *,
    runtime_filters: Sequence[RuntimeFilter] | None = None,
    timezone: str = "UTC",
    now: datetime | None = None,
    dialect_name: str = "sqlite",
) -> Plan:
    """Every pass but the last: the plan that ``compile_widget`` and ``drill`` build on."""
    if dialect_name not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect_name!r}")
    widget = normalise(widget)
    validate(widget, timezone)
    source = catalog.form(widget.form)
    if source is None:
        raise ReportError(
            "report.unknown_form",
            widget=widget.key,
            stage="resolve",
            path=f"widgets[{widget.key}].form",
            form=widget.form,
        )
    plan = Plan(
        widget=widget,
        source=source,
        timezone=timezone,
        now=now or datetime.now(UTC),
        dialect=dialect_name,
        context=dict(viewer.context),
        runtime_filters=tuple(runtime_filters or ()),
    )
    plan = resolve_fields(plan, catalog, viewer)
    plan = plan_joins(plan, catalog)
    plan = apply_scope(plan, viewer)
    plan = apply_runtime_filters(plan)
    return apply_limits(plan)


def compile_widget(
    widget: Widget,
    catalog: Catalog,
    viewer: Viewer,
    *,
    runtime_filters: Sequence[RuntimeFilter] | None = None,
    timezone: str = "UTC",
    now: datetime | None = None,
    dialect_name: str,
) -> CompiledWidget:
    """Compile ``widget`` for ``viewer``; raises :class:`ReportError` when it is refused.

    ``runtime_filters`` are the dashboard's filters bound to this widget
    (``Dashboard.runtime_filters(widget.key, values)``); ``timezone`` the organisation's IANA
    zone for date buckets and date ranges; ``now`` pins the clock (relative periods, ``now`` in
    filters); ``dialect_name`` is ``sqlite`` or ``postgresql``.
    """
    plan = plan_widget(
        widget,
        catalog,
        viewer,
        runtime_filters=runtime_filters,
        timezone=timezone,
        now=now,
        dialect_name=dialect_name,
    )
    statement = build_statement(plan)
    return CompiledWidget(plan.widget, statement.statement, statement.columns, plan, statement)
