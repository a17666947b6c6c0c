"""Reading widget results (``WidgetResult`` as JSON) in tests."""

from __future__ import annotations

from typing import Any


def kpi(result: dict[str, Any], measure: str) -> Any:
    """A KPI widget's value of ``measure``."""
    return (result.get("value") or {}).get(measure)


def dimensions(result: dict[str, Any]) -> list[str]:
    return [c["key"] for c in result["columns"] if c["role"] == "dimension"]


def by_dimension(result: dict[str, Any], measure: str) -> dict[tuple[Any, ...], Any]:
    """``measure`` per group, keyed by the tuple of the group's dimension values."""
    keys = dimensions(result)
    return {tuple(row[k] for k in keys): row[measure] for row in result["rows"]}
