"""Report SQL whose spelling differs between SQLite and PostgreSQL (DESIGN §10.9).

Each construct is a small ``FunctionElement`` with ``@compiles`` handlers: the default is
SQLite's spelling (functions from :mod:`engines.report.sqlite_functions`, which the runtime
registers on its connections), ``postgresql`` has its own. Arguments stay bound parameters;
units and parts come from a whitelist, time zones are checked IANA names.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import TIMESTAMP, Float, Integer, String, cast, extract, func, literal, null
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

UNITS = frozenset({"hour", "day", "week", "month", "quarter", "year"})


def _args(element: FunctionElement[Any]) -> list[ColumnElement[Any]]:
    return list(element.clauses)


def _is_null(element: ColumnElement[Any]) -> bool:
    return element.__visit_name__ == "null"


class LocalTrunc(FunctionElement[Any]):
    """The local start of a time unit: ``LocalTrunc(value, unit, tz)``; ``tz`` NULL for dates.

    SQLite: ``tangram_trunc(value, unit, tz)`` (text ``YYYY-MM-DD HH:MM:SS``); PostgreSQL:
    ``date_trunc(unit, timezone(tz, value))`` (a ``timestamp``; ISO weeks start on Monday).
    """

    name = "tangram_local_trunc"
    inherit_cache = True

    def __init__(self, value: ColumnElement[Any], unit: str, tz: str | None) -> None:
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}")
        zone = literal(tz, String()) if tz is not None else null()
        super().__init__(value, literal(unit, String()), zone)


@compiles(LocalTrunc)
def _local_trunc(element: LocalTrunc, compiler: SQLCompiler, **kw: Any) -> str:
    value, unit, tz = _args(element)
    return compiler.process(func.tangram_trunc(value, unit, tz, type_=String()), **kw)


@compiles(LocalTrunc, "postgresql")
def _local_trunc_pg(element: LocalTrunc, compiler: SQLCompiler, **kw: Any) -> str:
    value, unit, tz = _args(element)
    local = cast(value, TIMESTAMP()) if _is_null(tz) else func.timezone(tz, value)
    return compiler.process(func.date_trunc(unit, local, type_=TIMESTAMP()), **kw)


class LocalPart(FunctionElement[int]):
    """A part of a value's local date-time in zone ``tz`` (NULL for dates); subclasses say which.

    SQLite: ``tangram_part(value, part, tz)``; PostgreSQL: ``EXTRACT(<field> FROM
    timezone(tz, value))``. (One class per part, so the SQL cache key tells them apart.)
    """

    part: str = ""
    pg_field: str = ""
    name = "tangram_local_part"
    type = Integer()
    inherit_cache = True

    def __init__(self, value: ColumnElement[Any], tz: str | None) -> None:
        zone = literal(tz, String()) if tz is not None else null()
        super().__init__(value, zone)


class LocalHour(LocalPart):
    """The local hour of day, 0–23."""

    part = "hour_of_day"
    pg_field = "hour"
    inherit_cache = True


class LocalWeekday(LocalPart):
    """The local ISO weekday, 1 = Monday … 7 = Sunday."""

    part = "weekday"
    pg_field = "isodow"
    inherit_cache = True


@compiles(LocalPart)
def _local_part(element: LocalPart, compiler: SQLCompiler, **kw: Any) -> str:
    value, tz = _args(element)
    part = literal(element.part, String())
    return compiler.process(func.tangram_part(value, part, tz, type_=Integer()), **kw)


@compiles(LocalPart, "postgresql")
def _local_part_pg(element: LocalPart, compiler: SQLCompiler, **kw: Any) -> str:
    value, tz = _args(element)
    local = cast(value, TIMESTAMP()) if _is_null(tz) else func.timezone(tz, value)
    return compiler.process(cast(extract(element.pg_field, local), Integer()), **kw)


class Percentile(FunctionElement[float]):
    """Continuous percentile (aggregate): ``percentile_cont(p) WITHIN GROUP (ORDER BY value)``
    on PostgreSQL, ``tangram_percentile(value, p)`` on SQLite (same interpolation)."""

    name = "tangram_percentile_cont"
    type = Float()
    inherit_cache = True

    def __init__(self, value: ColumnElement[Any], p: float) -> None:
        super().__init__(value, literal(float(p), Float()))


@compiles(Percentile)
def _percentile(element: Percentile, compiler: SQLCompiler, **kw: Any) -> str:
    value, p = _args(element)
    return compiler.process(func.tangram_percentile(value, p, type_=Float()), **kw)


@compiles(Percentile, "postgresql")
def _percentile_pg(element: Percentile, compiler: SQLCompiler, **kw: Any) -> str:
    value, p = _args(element)
    return compiler.process(func.percentile_cont(p).within_group(value), **kw)


def as_float(value: ColumnElement[Any]) -> ColumnElement[float]:
    """``CAST(x AS FLOAT)`` (REAL / double precision)."""
    return cast(value, Float())
