"""Date and datetime columns against constant strings, exactly as the evaluator compares.

The evaluator sees a date as ``YYYY-MM-DD`` and a datetime as
``YYYY-MM-DDTHH:MM:SS.mmmZ`` and compares those *strings* (JS string order)
with whatever the rule holds: ``"2024-05"``, ``"2024-05-01T10:00:00.000Z"``,
``"soon"``. Canonical strings are fixed-width, so their string order is the
time order; hence for any constant string ``s`` the values ``v`` with
``text(v) < s`` form a prefix of the timeline. A binary search over the
timeline (days for dates, milliseconds for datetimes, years 1 to 9999) finds
the boundary, and the SQL condition becomes a plain, index-friendly range on
the column. Datetimes are truncated to milliseconds by the evaluator's view, so
boundaries are millisecond-aligned and ``x < boundary`` is exact for stored
microseconds too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from .. import dates
from ..coerce import format_datetime

_MS: Final = timedelta(milliseconds=1)
_EPOCH: Final = datetime(1, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Timeline:
    """The values of one kind (``date`` or ``datetime``) as integer positions."""

    kind: str
    first: int
    last: int

    def value(self, index: int) -> date:
        if self.kind == "date":
            return date.fromordinal(index)
        return _EPOCH + _MS * index

    def index(self, value: date) -> int:
        if isinstance(value, datetime):
            return (value - _EPOCH) // _MS
        return value.toordinal()

    def text(self, index: int) -> str:
        return format_datetime(self.value(index))

    def step(self) -> timedelta:
        return timedelta(days=1) if self.kind == "date" else _MS

    def canonical(self, text: str) -> date | None:
        """The value whose canonical text is exactly ``text``, if any."""
        parsed = dates.parse(text)
        if parsed is None or (isinstance(parsed, datetime)) != (self.kind == "datetime"):
            return None
        return parsed if format_datetime(parsed) == text else None

    def first_true(self, predicate: Callable[[str], bool]) -> int:
        """Smallest index whose text satisfies ``predicate`` (false, then true along the
        timeline); ``last + 1`` if none does."""
        low, high = self.first, self.last + 1
        while low < high:
            middle = (low + high) // 2
            if predicate(self.text(middle)):
                high = middle
            else:
                low = middle + 1
        return low


DATES: Final = Timeline("date", date(1, 1, 1).toordinal(), date(9999, 12, 31).toordinal())
DATETIMES: Final = Timeline(
    "datetime",
    0,
    (datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC) - _EPOCH) // _MS,
)


def timeline(kind: str) -> Timeline:
    return DATES if kind == "date" else DATETIMES
