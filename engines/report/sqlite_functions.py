"""SQLite functions the report engine's SQL calls (SQLite has no time zones and no percentiles).

**The runtime must register them on every SQLite connection** (``runtime/db.py``)::

    from engines.report import sqlite_functions
    event.listen(engine.sync_engine, "connect", lambda conn, _r: sqlite_functions.register(conn))

``register`` accepts a plain ``sqlite3`` connection or SQLAlchemy's aiosqlite adapter (the
``dbapi_connection`` of a ``connect`` event). The functions are deterministic:

* ``tangram_trunc(value, unit, tz)`` — the local start of the ``unit`` (hour, day, week
  (ISO, Monday), month, quarter, year) holding ``value``, as ``YYYY-MM-DD HH:MM:SS`` text. A
  date-time value is the stored UTC text and is converted to the IANA zone ``tz`` first (with
  ``zoneinfo``: right across DST); a date (``YYYY-MM-DD``, ``tz`` NULL) is taken as it is.
* ``tangram_part(value, part, tz)`` — ``hour_of_day`` (0–23) or ``weekday`` (ISO, 1 = Monday).
* ``tangram_percentile(value, p)`` — aggregate: the continuous percentile (linear
  interpolation, as PostgreSQL's ``percentile_cont``) of the non-null values; NULL if none.

Both agree with the PostgreSQL spellings in :mod:`engines.report.dialect`, which the
correctness tests check on both databases.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

_FORMAT = "%Y-%m-%d %H:%M:%S"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_datetime(value: Any, tz: str | None) -> datetime | None:
    """The naive local date-time of a stored value (UTC text / date text) in zone ``tz``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    else:
        text = str(value)
        if len(text) <= 10:
            return datetime.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    if tz is None:
        return moment.replace(tzinfo=None)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone(tz)).replace(tzinfo=None)


def truncate(local: datetime, unit: str) -> datetime:
    """The start of ``unit`` holding the naive local date-time ``local``."""
    if unit == "hour":
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown unit {unit!r}")


def part(local: datetime, name: str) -> int:
    """``hour_of_day`` (0–23) or ``weekday`` (1 = Monday … 7 = Sunday) of ``local``."""
    if name == "hour_of_day":
        return local.hour
    if name == "weekday":
        return local.isoweekday()
    raise ValueError(f"unknown part {name!r}")


def percentile_cont(values: list[float], p: float) -> float | None:
    """PostgreSQL's ``percentile_cont(p)``: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(ordered[low])
    return float(ordered[low]) + (float(ordered[high]) - float(ordered[low])) * (position - low)


def _trunc(value: Any, unit: str, tz: str | None) -> str | None:
    local = local_datetime(value, tz)
    return None if local is None else truncate(local, unit).strftime(_FORMAT)


def _part(value: Any, name: str, tz: str | None) -> int | None:
    local = local_datetime(value, tz)
    return None if local is None else part(local, name)


class _Percentile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.p: float | None = None

    def step(self, value: Any, p: Any) -> None:
        if p is not None:
            self.p = float(p)
        if value is not None:
            self.values.append(float(value))

    def finalize(self) -> float | None:
        return percentile_cont(self.values, self.p if self.p is not None else 0.5)


def register_sqlite3(connection: sqlite3.Connection) -> None:
    """Register the functions on a ``sqlite3`` connection (in the connection's thread)."""
    connection.create_function("tangram_trunc", 3, _trunc, deterministic=True)
    connection.create_function("tangram_part", 3, _part, deterministic=True)
    connection.create_aggregate("tangram_percentile", 2, _Percentile)  # type: ignore[arg-type]


def register(dbapi_connection: Any) -> None:
    """Register the functions on a DBAPI connection: ``sqlite3`` or SQLAlchemy's aiosqlite
    adapter (whose ``sqlite3`` connection lives in aiosqlite's worker thread: the registration
    runs there, through aiosqlite's queue, as aiosqlite's own ``create_function`` does)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        register_sqlite3(dbapi_connection)
        return
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is None or not hasattr(dbapi_connection, "run_async"):
        raise TypeError(f"not an SQLite connection: {dbapi_connection!r}")
    dbapi_connection.run_async(lambda aio: aio._execute(register_sqlite3, aio._conn))
