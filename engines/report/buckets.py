"""Date buckets as small registered classes (DESIGN §10.9): SQL expression, output, drill range.

Truncating buckets (hour … year) give the local start of the unit in the organisation's time
zone; ``hour_of_day`` (0–23) and ``weekday`` (ISO, 1 = Monday) give a part. Date-time fields are
converted from UTC to the zone first (right across DST on both databases); date fields are
local already. Outputs: ``YYYY-MM-DD`` for day and longer units, ``YYYY-MM-DDTHH:00:00`` (local,
no offset) for hours, integers for parts. A bucket value turns back into a UTC range for
drill-down (:meth:`Bucket.condition`), so the drilled rows are exactly the bucket's rows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

from engines.registry import Registry
from engines.report.dialect import LocalHour, LocalPart, LocalTrunc, LocalWeekday
from engines.report.sqlite_functions import truncate

Expr = ColumnElement[Any]


class Bucket(ABC):
    """A date bucket: its SQL expression, its output value, and the drill condition."""

    type: ClassVar[str]
    #: Logic kinds of the fields this bucket applies to.
    kinds: ClassVar[frozenset[str]] = frozenset({"date", "datetime"})
    value_type: ClassVar[str] = "date"

    @abstractmethod
    def expression(self, value: Expr, kind: str, tz: str) -> Expr:
        """Implemented by every bucket."""

    @abstractmethod
    def output(self, raw: Any) -> Any:
        """Implemented by every bucket."""

    @abstractmethod
    def condition(self, value: Expr, kind: str, tz: str, bucket_value: Any) -> ColumnElement[bool]:
        """Implemented by every bucket."""


def _local(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw.replace(tzinfo=None)
    if isinstance(raw, date):
        return datetime(raw.year, raw.month, raw.day)
    return datetime.fromisoformat(str(raw))


def _next(start: datetime, unit: str) -> datetime:
    if unit == "hour":
        return start + timedelta(hours=1)
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1, day=1)


def to_utc(local: datetime, tz: str) -> datetime:
    """The UTC instant of a naive local time (the earlier one when it is ambiguous)."""
    return local.replace(tzinfo=ZoneInfo(tz), fold=0).astimezone(UTC)


class Trunc(Bucket):
    unit: ClassVar[str]

    def expression(self, value: Expr, kind: str, tz: str) -> Expr:
        return LocalTrunc(value, self.unit, tz if kind == "datetime" else None)

    def output(self, raw: Any) -> Any:
        if raw is None:
            return None
        local = _local(raw)
        return local.date().isoformat() if self.value_type == "date" else local.isoformat()

    def condition(self, value: Expr, kind: str, tz: str, bucket_value: Any) -> ColumnElement[bool]:
        start = truncate(_local(bucket_value), self.unit)
        end = _next(start, self.unit)
        if kind == "date":
            return and_(value >= start.date(), value < end.date())
        return and_(value >= to_utc(start, tz), value < to_utc(end, tz))


class Hour(Trunc):
    type = "hour"
    unit = "hour"
    kinds = frozenset({"datetime"})
    value_type = "datetime_local"


class Day(Trunc):
    type = "day"
    unit = "day"


class Week(Trunc):
    type = "week"
    unit = "week"


class Month(Trunc):
    type = "month"
    unit = "month"


class Quarter(Trunc):
    type = "quarter"
    unit = "quarter"


class Year(Trunc):
    type = "year"
    unit = "year"


class Part(Bucket):
    element: ClassVar[type[LocalPart]]
    value_type = "integer"

    def expression(self, value: Expr, kind: str, tz: str) -> Expr:
        return self.element(value, tz if kind == "datetime" else None)

    def output(self, raw: Any) -> Any:
        return None if raw is None else int(raw)

    def condition(self, value: Expr, kind: str, tz: str, bucket_value: Any) -> ColumnElement[bool]:
        return self.expression(value, kind, tz) == int(bucket_value)


class HourOfDay(Part):
    type = "hour_of_day"
    kinds = frozenset({"datetime"})
    element = LocalHour


class Weekday(Part):
    type = "weekday"
    element = LocalWeekday


BUCKETS: Registry[Bucket] = Registry(
    "report_bucket",
    [Hour(), Day(), Week(), Month(), Quarter(), Year(), HourOfDay(), Weekday()],
)
