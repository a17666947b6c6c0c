"""Date helpers behind the Tangram date operators.

Accepted inputs: ISO 8601 strings (``2024-05-01``, ``2024-05-01T12:30``,
``2024-05-01T12:30:00+02:00``, ``...Z``), ``date`` and ``datetime`` objects.
Naive datetimes are UTC. Outputs are canonical strings (see
``coerce.format_datetime``): ``YYYY-MM-DD`` for dates and
``YYYY-MM-DDTHH:MM:SS.mmmZ`` (JS ``toISOString()``) for datetimes, so values in
the same form compare correctly as strings.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .coerce import INF, Number, js_number, to_number
from .errors import ContextError

_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

UNITS: Final[dict[str, str]] = {
    **{u: u for u in ("seconds", "minutes", "hours", "days", "weeks", "months", "years")},
    **{u[:-1]: u for u in ("seconds", "minutes", "hours", "days", "weeks", "months", "years")},
}
_SECONDS: Final[dict[str, int]] = {
    "seconds": 1,
    "minutes": 60,
    "hours": 3600,
    "days": 86400,
    "weeks": 604800,
}


def parse(value: Any) -> date | None:
    """A ``date`` or an aware UTC ``datetime`` from ``value``; ``None`` if unparseable."""
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if _DATE_RE.fullmatch(text):
            return date.fromisoformat(text)
        return to_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_datetime(value: date) -> datetime:
    """Dates become midnight UTC."""
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def normalize_unit(unit: Any) -> str | None:
    return UNITS.get(unit.strip().lower()) if isinstance(unit, str) else None


@lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def current_datetime(context: Mapping[str, Any]) -> datetime:
    """``context["now"]`` (datetime or ISO string) or the real current UTC time."""
    value = context.get("now")
    if value is None:
        return datetime.now(UTC)
    parsed = parse(value)
    if parsed is None:
        raise ContextError(f"context 'now' is not a date or datetime: {value!r}")
    return to_datetime(parsed)


def current_date(context: Mapping[str, Any]) -> date:
    """Today in ``context["timezone"]`` (IANA name or tzinfo; default UTC)."""
    value = context.get("now")
    if value is not None and not isinstance(value, datetime):
        parsed = parse(value)
        if parsed is not None and not isinstance(parsed, datetime):
            return parsed
    now = current_datetime(context)
    zone = context.get("timezone")
    if zone is None:
        return now.date()
    if isinstance(zone, str):
        try:
            zone = _zone(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ContextError(f"context 'timezone' is not a known time zone: {zone!r}") from None
    if not isinstance(zone, tzinfo):
        raise ContextError(f"context 'timezone' must be a name or tzinfo: {zone!r}")
    return now.astimezone(zone).date()


def _add_months(value: date, months: int) -> date | None:
    years, month0 = divmod(value.month - 1 + months, 12)
    year = value.year + years
    if not 1 <= year <= 9999:
        return None
    day = min(value.day, calendar.monthrange(year, month0 + 1)[1])
    return value.replace(year=year, month=month0 + 1, day=day)


def add(value: Any, amount: Any, unit: Any) -> date | None:
    """``value + amount unit``; ``None`` for unparseable input or overflow.

    Months and years use calendar arithmetic clamped to the month's end
    (Jan 31 + 1 month = Feb 28/29) with the amount truncated to an integer.
    A date stays a date when whole days or weeks are added; otherwise it is
    promoted to a datetime at midnight UTC.
    """
    moment = parse(value)
    name = normalize_unit(unit)
    number = to_number(amount)
    if moment is None or name is None or number != number or number in (INF, -INF):
        return None
    try:
        if name in ("months", "years"):
            months = math.trunc(number) * (12 if name == "years" else 1)
            return _add_months(moment, months)
        if not isinstance(moment, datetime) and name in ("days", "weeks"):
            days = number * (7 if name == "weeks" else 1)
            if float(days).is_integer():
                return moment + timedelta(days=int(days))
        return to_datetime(moment) + timedelta(seconds=number * _SECONDS[name])
    except (OverflowError, ValueError):
        return None


def _rest(value: datetime) -> tuple[int, int, int, int, int]:
    return (value.day, value.hour, value.minute, value.second, value.microsecond)


def _months_between(a: date, b: date) -> int:
    x, y = to_datetime(a), to_datetime(b)
    months = (x.year - y.year) * 12 + x.month - y.month
    if months > 0 and _rest(x) < _rest(y):
        months -= 1
    elif months < 0 and _rest(x) > _rest(y):
        months += 1
    return months


def diff(a: Any, b: Any, unit: Any) -> Number | None:
    """``a - b`` in ``unit``; ``None`` for unparseable input.

    Seconds to weeks are exact (fractional when not whole); months and years
    count whole calendar months/years, truncated toward zero. A date mixed with
    a datetime is taken as midnight UTC.
    """
    x = parse(a)
    y = parse(b)
    name = normalize_unit(unit)
    if x is None or y is None or name is None:
        return None
    if name in ("months", "years"):
        months = _months_between(x, y)
        return months if name == "months" else int(months / 12)
    if not isinstance(x, datetime) and not isinstance(y, datetime):
        delta = x - y
    else:
        delta = to_datetime(x) - to_datetime(y)
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    unit_micros = _SECONDS[name] * 1_000_000
    if micros % unit_micros == 0:
        return micros // unit_micros
    return js_number(micros / unit_micros)
