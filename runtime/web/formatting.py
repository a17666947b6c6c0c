"""Dates, numbers and money shown per locale and in the viewer's (else the organisation's)
time zone, with Babel."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import dates, numbers

from runtime.i18n import current_locale
from runtime.web.i18n import BABEL_LOCALES


def babel_locale() -> str:
    return BABEL_LOCALES.get(current_locale.get(), "en")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_datetime(value: datetime | str | None, tz: str | None, style: str = "medium") -> str:
    if value in (None, ""):
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    if moment.tzinfo is None:  # stored times are UTC
        moment = moment.replace(tzinfo=UTC)
    return dates.format_datetime(moment, style, tzinfo=zone(tz), locale=babel_locale())


def format_date(value: date | str | None, style: str = "medium") -> str:
    if value in (None, ""):
        return ""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(day, date)
    return dates.format_date(day, style, locale=babel_locale())


def format_number(value: int | float | Decimal | str | None, digits: int | None = None) -> str:
    if value in (None, ""):
        return ""
    number = Decimal(value) if isinstance(value, str) else value
    if digits is None:
        return numbers.format_decimal(number, locale=babel_locale())
    pattern = "#,##0." + "0" * digits if digits > 0 else "#,##0"
    return numbers.format_decimal(number, format=pattern, locale=babel_locale())


def format_currency(value: int | float | Decimal | str | None, currency: str) -> str:
    if value in (None, ""):
        return ""
    number = Decimal(value) if isinstance(value, str) else value
    return numbers.format_currency(number, currency, locale=babel_locale())


def format_relative(value: datetime | None, now: datetime | None = None) -> str:
    """ "3 hours ago" / "3小时前"."""
    if value is None:
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    delta = moment - (now or datetime.now(UTC))
    return dates.format_timedelta(delta, add_direction=True, locale=babel_locale())
