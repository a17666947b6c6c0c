"""Publish-time checks of an app's dashboards: every widget compiles against the app's forms.

Each widget is compiled by the report engine with an all-seeing viewer (the row scope and the
hidden fields are the viewer's, known only at run time), once without runtime filters and once
with every declared filter that applies to it set to a sample value, so that unknown fields,
measures that make no sense for a field's type, joins that do not exist, bad limits and filters
on fields that cannot take them are refused at publish, named by dashboard and widget.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData

from engines.form.check import SchemaProblem
from engines.form.schema import FormSchema
from engines.report.catalog import StaticCatalog, Viewer
from engines.report.compiler import compile_widget
from engines.report.errors import ReportError
from engines.report.spec import Dashboard, DashboardFilter
from runtime.models import metadata as platform_metadata

#: A fixed moment, so that a check never depends on the clock.
_NOW = datetime(2026, 1, 1, tzinfo=UTC)
_SAMPLES: dict[str, Any] = {
    "date_range": {"from": "2026-01-01", "to": "2026-01-31"},
    "department": [1],
}


def _catalog(forms: list[FormSchema]) -> StaticCatalog:
    metadata = MetaData()
    for name in ("users", "departments"):
        platform_metadata.tables[name].to_metadata(metadata)
    return StaticCatalog.build(forms, metadata)


def _sample(declared: DashboardFilter) -> Any:
    return _SAMPLES.get(declared.kind)


def check_dashboards(
    dashboards: list[Dashboard], forms: list[FormSchema], time_zone: str = "UTC"
) -> list[SchemaProblem]:
    """Every problem of every dashboard, with paths like
    ``dashboards[ops].widgets[volume].measures[0].field``."""
    problems: list[SchemaProblem] = []
    for key, count in Counter(d.key for d in dashboards).items():
        if count > 1:
            problems.append(
                SchemaProblem(
                    f"dashboards[{key}]", "duplicate_key", "a dashboard key is used twice"
                )
            )
    if not dashboards:
        return problems
    catalog = _catalog(forms)
    viewer = Viewer()
    for board in dashboards:
        prefix = f"dashboards[{board.key}]"
        samples = {f.key: _sample(f) for f in board.filters if _sample(f) is not None}
        for declared in board.filters:
            unknown = sorted(set(declared.widgets or ()) - {w.key for w in board.widgets})
            for widget_key in unknown:
                problems.append(
                    SchemaProblem(
                        f"{prefix}.filters[{declared.key}].widgets",
                        "unknown_widget",
                        f"the dashboard has no widget {widget_key!r}",
                    )
                )
        for widget in board.widgets:
            seen: set[tuple[str, str]] = set()
            for values in ({}, samples) if samples else ({},):
                try:
                    compile_widget(
                        widget,
                        catalog,
                        viewer,
                        runtime_filters=board.runtime_filters(widget.key, values),
                        timezone=getattr(board, "timezone", None) or time_zone,
                        now=_NOW,
                        dialect_name="postgresql",
                    )
                except ReportError as exc:
                    path = exc.path or f"widgets[{widget.key}]"
                    if not path.startswith("widgets["):
                        path = f"widgets[{widget.key}].{path}"
                    if (path, exc.code) not in seen:
                        seen.add((path, exc.code))
                        problems.append(SchemaProblem(f"{prefix}.{path}", exc.code, exc.message()))
    return problems
