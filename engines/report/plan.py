"""The state the compiler passes hand on: a frozen :class:`Plan`, replaced pass by pass."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from engines.report.catalog import FormEntry
from engines.report.fields import FieldRef, ManyJoin
from engines.report.spec import RuntimeFilter, Widget

Bool = ColumnElement[bool]


@dataclass(frozen=True)
class OneJoin:
    """A many-to-one step: ``alias`` of ``entry``'s table, reached from ``parent`` (a path, ""
    for the source) through the relation column ``column`` of the parent."""

    path: str
    entry: FormEntry
    alias: Any  # an Alias of entry.table
    parent: str
    column: str
    conditions: tuple[Bool, ...] = ()


@dataclass(frozen=True)
class ManyPlan:
    """A one-to-many join: the many side's ``alias`` and, for many-relations, the link table."""

    join: ManyJoin
    entry: FormEntry
    alias: Any
    link: Any = None  # an alias of the link table (many-relations)
    conditions: tuple[Bool, ...] = ()


@dataclass(frozen=True)
class Window:
    """Previous-period comparison: current ``[start, end)``, previous ``[previous, start)``."""

    path: str
    previous: Any
    start: Any
    end: Any


@dataclass(frozen=True)
class Plan:
    widget: Widget
    source: FormEntry
    timezone: str
    now: datetime
    dialect: str
    context: dict[str, Any] = field(default_factory=dict)
    runtime_filters: tuple[RuntimeFilter, ...] = ()
    alias: Any = None  # the source table's alias
    refs: dict[str, FieldRef] = field(default_factory=dict)
    ones: dict[str, OneJoin] = field(default_factory=dict)
    manys: dict[str, ManyPlan] = field(default_factory=dict)
    where: tuple[Bool, ...] = ()
    window: Window | None = None
    limit: int = 0

    def but(self, **changes: Any) -> Plan:
        return replace(self, **changes)
