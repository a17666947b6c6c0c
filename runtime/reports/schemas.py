"""Bodies of the dashboards API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runtime.errors import reject_nul

#: Runtime filters one request may set (a dashboard declares a handful).
MAX_FILTERS = 50


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _no_nul = field_validator("*")(reject_nul)


class RunIn(_In):
    """Values of the dashboard's declared filters, by filter key (absent or null: not set).

    ``date_range``: ``{"from": "2026-01-01", "to": "2026-01-31"}`` (local dates, inclusive);
    ``department``: an id or a list of ids; ``equals``: one value; ``choice``: a list."""

    filters: dict[str, Any] = Field(default_factory=dict, max_length=MAX_FILTERS)
    #: False skips the result cache (the answer is computed afresh and not kept).
    cache: bool = True


class DrillIn(RunIn):
    """A clicked cell: the value of each of the widget's dimensions (by dimension key; a
    pivot's total leaves some out), optionally the measure clicked, and a page."""

    cell: dict[str, Any] = Field(default_factory=dict, max_length=8)
    measure: str | None = Field(default=None, max_length=63)
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=200)
    sort: str | None = Field(default=None, max_length=300)
    total: bool = True


class ExportIn(RunIn):
    format: Literal["csv", "xlsx"] = "csv"


class FilterOut(BaseModel):
    key: str
    kind: str
    field: str | None
    label: dict[str, str]
    widgets: list[str] | None


class DashboardSummary(BaseModel):
    key: str
    title: dict[str, str]
    widgets: int


class DashboardOut(BaseModel):
    key: str
    title: dict[str, str]
    timezone: str
    filters: list[FilterOut]
    widgets: list[dict[str, Any]]


class WidgetOut(BaseModel):
    widget: str
    ok: bool
    cached: bool
    result: Any = None
    problem: dict[str, Any] | None = None


class DashboardRunOut(BaseModel):
    dashboard: str
    timezone: str
    widgets: list[WidgetOut]
