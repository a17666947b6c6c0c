"""Cell values as people read them, in the page's language: option labels, dates and date
buckets, numbers with the locale's separators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from babel import dates, numbers

from engines.report.spec import Measure
from runtime.web import formatting
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _
from runtime.web.templating import label_text


def _babel() -> str:
    return formatting.babel_locale()


def bucket_text(value: Any, bucket: str) -> str:
    """A date bucket's value (``2026-03-01`` for March, ``14`` for 14:00, ``1`` for Monday)."""
    if bucket == "hour_of_day":
        return f"{int(value):02d}:00"
    if bucket == "weekday":
        return str(dates.get_day_names("wide", locale=_babel())[(int(value) - 1) % 7])
    moment = datetime.fromisoformat(str(value))
    if bucket == "year":
        return dates.format_skeleton("y", moment, locale=_babel())
    if bucket == "quarter":
        return dates.format_skeleton("yQQQ", moment, locale=_babel())
    if bucket == "month":
        return dates.format_skeleton("yMMM", moment, locale=_babel())
    if bucket == "hour":
        return dates.format_datetime(moment, "short", locale=_babel())
    return dates.format_date(moment.date(), "medium", locale=_babel())


def display(
    value: Any,
    *,
    kind: str = "text",
    bucket: str | None = None,
    options: dict[str, Any] | None = None,
    tz: str | None = None,
) -> str:
    """``value`` of a column of type ``kind`` (integer, decimal, number, date, datetime …)."""
    if value is None or value == "":
        return _("(empty)")
    try:
        if bucket is not None:
            return bucket_text(value, bucket)
        if options is not None:
            if isinstance(value, list):
                return ", ".join(label_text(options.get(str(v), v)) for v in value)
            return label_text(options.get(str(value), value))
        if isinstance(value, bool) or kind == "boolean":
            return _("Yes") if value else _("No")
        if kind in ("integer", "decimal", "number") or isinstance(value, int | float):
            return formatting.format_number(value)
        if kind == "datetime":
            return formatting.format_datetime(str(value), tz, "medium")
        if kind == "date":
            return formatting.format_date(str(value)[:10])
    except (TypeError, ValueError, ArithmeticError):
        return str(value)
    if isinstance(value, datetime):
        return formatting.format_datetime(value, tz)
    if isinstance(value, date):
        return formatting.format_date(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


#: A duration unit in seconds, and its short sign as people read it.
UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
UNIT_SIGNS = {"seconds": N_("s"), "minutes": N_("min"), "hours": N_("h"), "days": N_("d")}


@dataclass(frozen=True)
class NumberFormat:
    """A measure's display format resolved for the page: the value times ``scale``, with
    ``least`` to ``most`` digits after the point and ``suffix`` after it (`` %``, `` h`` …)."""

    scale: float = 1.0
    least: int = 0
    most: int = 2
    suffix: str = ""

    def text(self, value: Any) -> str:
        if value is None or value == "" or isinstance(value, bool):
            return _("(empty)")
        try:
            number = float(value) * self.scale
        except (TypeError, ValueError):
            return str(value)
        pattern = "#,##0" + (
            "." + "0" * self.least + "#" * (self.most - self.least) if self.most else ""
        )
        shown = numbers.format_decimal(number, format=pattern, locale=_babel())
        return shown + self.suffix

    def to_json(self) -> dict[str, Any]:
        """What ``static/dashboards.js`` formats chart values with."""
        return {"scale": self.scale, "min": self.least, "max": self.most, "suffix": self.suffix}


def number_format(measure: Measure) -> NumberFormat:
    """The page's format of ``measure`` (its spec's format, else its aggregation's default)."""
    chosen, least, most = measure.display_format()
    if chosen.style == "percent":
        return NumberFormat(100.0, least, most, " %")
    if chosen.style == "duration":
        unit = chosen.unit or "minutes"
        shown = chosen.show_as or unit
        scale = UNIT_SECONDS[unit] / UNIT_SECONDS[shown]
        return NumberFormat(scale, least, most, " " + _(UNIT_SIGNS[shown]))
    return NumberFormat(1.0, least, most)
