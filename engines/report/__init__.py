"""The report engine (DESIGN §5): dashboard/widget specs compiled to SQLAlchemy Core.

See ``README.md`` in this package. Public API::

    from engines.report import Dashboard, Widget, compile_widget, drill_condition
"""

from __future__ import annotations

from engines.report.catalog import Catalog, FormEntry, StaticCatalog, Viewer
from engines.report.compiler import CompiledWidget, compile_widget
from engines.report.errors import ReportError
from engines.report.shape import WidgetResult
from engines.report.spec import (
    Dashboard,
    DashboardFilter,
    Dimension,
    Measure,
    RuntimeFilter,
    Widget,
    parse_dashboard,
    parse_widget,
)

__all__ = [
    "Catalog",
    "CompiledWidget",
    "Dashboard",
    "DashboardFilter",
    "Dimension",
    "FormEntry",
    "Measure",
    "ReportError",
    "RuntimeFilter",
    "StaticCatalog",
    "Viewer",
    "Widget",
    "WidgetResult",
    "compile_widget",
    "parse_dashboard",
    "parse_widget",
]
