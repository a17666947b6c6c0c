"""Cron schedules for time-based rules: parse, next fire time, fire times in a window, describe.

``parse_cron("0 9 * * MON-FRI")`` returns an immutable, hashable :class:`CronSchedule`;
``schedule.next_after(now, "Asia/Shanghai")`` is the first fire time strictly after ``now``
(an aware UTC ``datetime``), the expression read as wall-clock time in that IANA zone.

Syntax: the five Vixie-cron fields ``minute hour day-of-month month day-of-week`` with ``*``,
lists ``a,b``, ranges ``a-b``, steps ``*/n``, ``a-b/n`` and ``a/n`` (``a`` to the field's
maximum), month names ``JAN``-``DEC`` and weekday names ``SUN``-``SAT`` (any case, also in
ranges), weekday ``0``-``7`` (0 and 7 are Sunday) and the nicknames ``@yearly``/``@annually``,
``@monthly``, ``@weekly``, ``@daily``/``@midnight`` and ``@hourly``. Anything else (seconds,
``L``/``W``/``#``/``?``, wrap-around ranges such as ``FRI-MON``, ``@reboot``) is a
:class:`CronError` with a stable ``cron.*`` code.

Vixie semantics, as cronie has them:

- **Day of month vs day of week.** When both fields are restricted, a day matches if *either*
  matches (``0 0 13 * FRI`` is every 13th and every Friday). A field counts as unrestricted
  when its text starts with ``*`` -- so ``*/2`` in one of them means "both must match", exactly
  like cron (``0 0 1 * */2``: the 1st, when it falls on Sun/Tue/Thu/Sat).
- **Daylight saving time** depends, like cron's, on whether the minute or the hour field starts
  with ``*`` (an *interval* schedule: ``*/15 * * * *``, ``0 * * * *``, ``@hourly``) or
  neither does (a *fixed-time* schedule: ``30 2 * * *``, ``@daily``; :attr:`CronSchedule
  .fixed_time`):

  * fixed-time, a wall time skipped by the spring-forward gap fires once, at the first instant
    after the gap (02:30 on a 02:00->03:00 night fires at 03:00); a wall time that happens
    twice when clocks fall back fires once, at its first occurrence;
  * interval, the schedule follows elapsed time: skipped wall times do not fire and a repeated
    hour fires on both passes (``*/30`` stays every 30 minutes across both transitions).

  Cron gets there by comparing clocks each minute and only catches up jumps under 3 hours (a
  larger jump is a clock reset to it); a computed schedule has no clock to reset, so every gap
  is caught up.

Fire times are found field by field (next month, next day, next hour, next minute), never minute
by minute: ``0 0 29 2 *`` from a non-leap year takes a handful of steps.
"""

from __future__ import annotations

import bisect
import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

__all__ = [
    "NICKNAMES",
    "CronError",
    "CronExpression",
    "CronSchedule",
    "parse_cron",
]

#: The longest expression accepted (a guard against pathological input, not a cron rule).
MAX_LENGTH = 500

#: Nickname -> the five fields it stands for.
NICKNAMES: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

MESSAGES: dict[str, tuple[str, str]] = {
    "cron.field_count": (
        "A cron expression has 5 fields (minute hour day month weekday) or is a nickname "
        "such as @daily; {expression!r} has {count}.",
        "cron 表达式应有 5 个字段（分 时 日 月 周）或使用 @daily 等别名；"
        "{expression!r} 有 {count} 个。",
    ),
    "cron.bad_value": (
        "{field}: {value!r} is not a valid value.",
        "{field_zh}：{value!r} 不是有效的值。",
    ),
    "cron.bad_nickname": (
        "{value!r} is not a cron nickname (@yearly, @annually, @monthly, @weekly, @daily, "
        "@midnight, @hourly).",
        "{value!r} 不是 cron 别名（@yearly、@annually、@monthly、@weekly、@daily、"
        "@midnight、@hourly）。",
    ),
    "cron.too_long": (
        "The cron expression is longer than {max} characters.",
        "cron 表达式超过 {max} 个字符。",
    ),
    "cron.out_of_range": (
        "{field}: {value} is out of range ({low} to {high}).",
        "{field_zh}：{value} 超出范围（{low} 至 {high}）。",
    ),
    "cron.bad_step": (
        "{field}: the step in {value!r} must be a whole number from 1 to {max}.",
        "{field_zh}：{value!r} 中的步长必须是 1 至 {max} 的整数。",
    ),
    "cron.bad_range": (
        "{field}: the range {value!r} runs backwards ({start} > {end}).",
        "{field_zh}：范围 {value!r} 的起点大于终点（{start} > {end}）。",
    ),
    "cron.never": (
        "The schedule never fires: there is no day {days} in {months}.",
        "该计划永远不会触发：{months_zh}没有 {days_zh} 日。",
    ),
    "cron.bad_timezone": (
        "{timezone!r} is not a known time zone.",
        "{timezone!r} 不是有效的时区。",
    ),
}

_FIELD_ZH = {"minute": "分钟", "hour": "小时", "day": "日期", "month": "月份", "weekday": "星期"}


class CronError(ValueError):
    """An expression (or time zone) the schedule engine refuses: ``code``, ``field``, ``params``.

    ``code`` is stable (``cron.*``, see :data:`MESSAGES`), ``field`` the cron field at fault
    (``minute``, ``hour``, ``day``, ``month``, ``weekday``; ``None`` for the whole expression)
    and :meth:`message` renders the message in ``en`` or ``zh-CN``. The codes the parser uses
    are ``cron.field_count``, ``cron.bad_value``, ``cron.bad_nickname`` (an ``@word`` that is not
    a nickname), ``cron.too_long``, ``cron.out_of_range``, ``cron.bad_step``, ``cron.bad_range``
    and ``cron.never``; :meth:`CronSchedule.next_after` adds ``cron.bad_timezone``.
    """

    def __init__(self, code: str, *, field: str | None = None, **params: Any) -> None:
        self.code = code
        self.field = field
        self.params = params
        super().__init__(f"{self.message('en')} [{code}]")

    def message(self, locale: str = "en") -> str:
        """The human message in ``en`` or ``zh-CN``."""
        en, zh = MESSAGES.get(self.code, (self.code, self.code))
        field_zh = _FIELD_ZH.get(self.field or "", "")
        values = {"field": self.field, "field_zh": field_zh, **self.params}
        try:
            return (zh if locale == "zh-CN" else en).format(**values)
        except (KeyError, IndexError, ValueError):
            return en

    def to_dict(self, locale: str = "en") -> dict[str, Any]:
        """One problem entry: ``{code, field, message}``."""
        return {"code": self.code, "field": self.field, "message": self.message(locale)}

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_error, (self.code, self.field, self.params))


def _rebuild_error(code: str, field: str | None, params: dict[str, Any]) -> CronError:
    return CronError(code, field=field, **params)


# -- parsing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] is value low + i

    def value(self, text: str) -> int:
        """One value: a number or, for month and weekday, a three-letter name."""
        upper = text.upper()
        if upper in self.names:
            return self.low + self.names.index(upper)
        if not _NUMBER.fullmatch(text):
            raise CronError("cron.bad_value", field=self.name, value=text)
        number = int(text)
        if not self.low <= number <= self.high:
            raise CronError(
                "cron.out_of_range", field=self.name, value=number, low=self.low, high=self.high
            )
        return number


_NUMBER = re.compile(r"[0-9]{1,9}")
_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DAY = _Field("day", 1, 31)
_MONTH = _Field(
    "month",
    1,
    12,
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
)
_WEEKDAY = _Field("weekday", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
_FIELDS = (_MINUTE, _HOUR, _DAY, _MONTH, _WEEKDAY)

#: The most days each month can have (February in a leap year).
_MAX_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _parse_field(spec: _Field, text: str) -> tuple[int, ...]:
    """The sorted values of one field (``*/15``, ``1-5,10``, ``MON-FRI``...)."""
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            span = spec.high - spec.low + (0 if spec is _WEEKDAY else 1)  # 0 and 7 are one day
            if not _NUMBER.fullmatch(step_text) or not 1 <= int(step_text) <= span:
                raise CronError("cron.bad_step", field=spec.name, value=item, max=span)
            step = int(step_text)
        if base == "*":
            start, end = spec.low, spec.high
        elif "-" in base:
            first, _, last = base.partition("-")
            if not first or not last:
                raise CronError("cron.bad_value", field=spec.name, value=item)
            start, end = spec.value(first), spec.value(last)
            if start > end:
                raise CronError("cron.bad_range", field=spec.name, value=item, start=start, end=end)
        elif base:
            start = spec.value(base)
            end = spec.high if slash else start
        else:
            raise CronError("cron.bad_value", field=spec.name, value=item)
        values.update(range(start, end + 1, step))
    if spec is _WEEKDAY and 7 in values:
        values.discard(7)
        values.add(0)
    return tuple(sorted(values))


@lru_cache(maxsize=1024)
def parse_cron(expression: str) -> CronSchedule:
    """Parse a five-field cron expression or nickname; raise :class:`CronError` if invalid.

    Whitespace between fields is normalised (``CronSchedule.expression`` has single spaces);
    case is kept. Equal expressions return the same (immutable) schedule.
    """
    if len(expression) > MAX_LENGTH:
        raise CronError("cron.too_long", max=MAX_LENGTH)
    parts = expression.split()
    if len(parts) == 1 and parts[0].startswith("@"):
        fields_text = NICKNAMES.get(parts[0].lower())
        if fields_text is None:
            raise CronError("cron.bad_nickname", value=parts[0])
        texts = fields_text.split()
    elif len(parts) == 5:
        texts = parts
    else:
        raise CronError("cron.field_count", expression=expression.strip(), count=len(parts))
    minutes, hours, days, months, weekdays = (
        _parse_field(spec, text) for spec, text in zip(_FIELDS, texts, strict=True)
    )
    day_star, weekday_star = texts[2].startswith("*"), texts[4].startswith("*")
    if (weekday_star or day_star) and not any(days[0] <= _MAX_DAYS[m - 1] for m in months):
        raise CronError(
            "cron.never",
            field="day",
            days=_join([str(d) for d in days], "en", "or"),
            months=_join([_MONTH_EN[m - 1] for m in months], "en"),
            days_zh="、".join(str(d) for d in days),
            months_zh="、".join(f"{m} 月" for m in months),
        )
    return CronSchedule(
        expression=" ".join(parts),
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=weekdays,
        day_star=day_star,
        weekday_star=weekday_star,
        fixed_time=not (texts[0].startswith("*") or texts[1].startswith("*")),
    )


# -- schedules ----------------------------------------------------------------------------------


@lru_cache(maxsize=128)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError("cron.bad_timezone", timezone=name) from None


def _ceil(values: tuple[int, ...], value: int) -> int | None:
    """The smallest of the sorted ``values`` that is ``>= value``."""
    index = bisect.bisect_left(values, value)
    return values[index] if index < len(values) else None


_MINUTE_STEP = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A parsed cron expression: the values each field allows, and how days and DST are read.

    ``weekdays`` uses 0 = Sunday ... 6 = Saturday (7 folded into 0). ``day_star`` and
    ``weekday_star`` say the day-of-month / day-of-week text starts with ``*`` (then a day
    must match both fields, else either); ``fixed_time`` that neither the minute nor the hour
    field does (the DST rule, see the module docstring). Build one with :func:`parse_cron`.
    """

    expression: str
    minutes: tuple[int, ...] = field(repr=False)
    hours: tuple[int, ...] = field(repr=False)
    days: tuple[int, ...] = field(repr=False)
    months: tuple[int, ...] = field(repr=False)
    weekdays: tuple[int, ...] = field(repr=False)
    day_star: bool = field(repr=False)
    weekday_star: bool = field(repr=False)
    fixed_time: bool = field(repr=False)

    def matches(self, wall: datetime) -> bool:
        """Whether the wall-clock minute ``wall`` (its own fields, any zone or none) matches."""
        return (
            wall.minute in self.minutes
            and wall.hour in self.hours
            and wall.month in self.months
            and self._day_matches(wall.day, (wall.weekday() + 1) % 7)
        )

    def next_after(self, after: datetime, timezone: str) -> datetime:
        """The first fire time strictly after ``after`` (aware, any zone), as an aware UTC time.

        The fields are read as wall-clock time in the IANA zone ``timezone`` (an unknown one is
        ``cron.bad_timezone``), with cron's DST rules (module docstring). Raises
        ``OverflowError`` when there is none before the year 9999.
        """
        return self._next(_aware(after), _zone(timezone))

    def between(
        self, start: datetime, end: datetime, timezone: str, *, limit: int | None = None
    ) -> Iterator[datetime]:
        """The fire times ``t`` with ``start < t <= end``, in order, as aware UTC times.

        ``(start, end]`` so that a scheduler asking "what fell due since the last tick" with
        consecutive windows sees every fire time once. ``limit`` caps how many are yielded.
        """
        zone = _zone(timezone)
        current, stop = _aware(start), _aware(end)
        count = 0
        while limit is None or count < limit:
            try:
                current = self._next(current, zone)
            except OverflowError:
                return
            if current > stop:
                return
            yield current
            count += 1

    def describe(self, locale: str = "en") -> str:
        """A short text for common shapes ("every day at 09:00", "每天 09:00"), else the expression.

        ``locale`` is ``en`` or ``zh-CN``; the text does not name the time zone.
        """
        return _describe(self, locale) or self.expression

    # -- search ---------------------------------------------------------------------------------

    def _next(self, after: datetime, zone: ZoneInfo) -> datetime:
        local = after.astimezone(zone)
        wall = local.replace(tzinfo=None, second=0, microsecond=0)
        if not self.fixed_time and local.fold == 0:
            # In the first pass of a fall-back overlap the second pass (later instants, earlier
            # wall times) is still ahead: start the wall-time scan at the overlap's start.
            early, late = local.replace(fold=0).utcoffset(), local.replace(fold=1).utcoffset()
            if early is not None and late is not None and early > late:
                wall -= early - late
        best: datetime | None = None
        while True:
            candidate = self._next_wall(wall)
            if candidate is None:
                break
            first, second = _instants(candidate, zone)
            if first is None:  # in a spring-forward gap
                gap_end = _gap_end(candidate, zone)
                if self.fixed_time and gap_end > after and (best is None or gap_end < best):
                    best = gap_end
                earliest = gap_end
            else:
                # Fixed-time: the first pass of a repeated wall time only; interval: both.
                for instant in (first,) if self.fixed_time else (first, second):
                    if instant is not None and instant > after and (best is None or instant < best):
                        best = instant
                earliest = first
            # ``earliest`` never decreases with the wall time and bounds every later instant.
            if best is not None and earliest >= best:
                return best
            wall = candidate + _MINUTE_STEP
        if best is not None:
            return best
        raise OverflowError(f"{self.expression!r} has no fire time before the year 9999")

    def _next_wall(self, start: datetime) -> datetime | None:
        """The first matching wall-clock minute at or after the naive ``start``."""
        year, month, day = start.year, start.month, start.day
        hour, minute = start.hour, start.minute
        while year <= 9999:
            found_month = _ceil(self.months, month)
            if found_month is None:
                year, month, day, hour, minute = year + 1, self.months[0], 1, 0, 0
                continue
            if found_month != month:
                month, day, hour, minute = found_month, 1, 0, 0
            found_day = self._next_day(year, month, day)
            if found_day is None:
                year, month = (year + 1, 1) if month == 12 else (year, month + 1)
                day, hour, minute = 1, 0, 0
                continue
            if found_day != day:
                day, hour, minute = found_day, 0, 0
            found_hour = _ceil(self.hours, hour)
            if found_hour is None:
                day, hour, minute = day + 1, 0, 0
                continue
            if found_hour != hour:
                hour, minute = found_hour, 0
            found_minute = _ceil(self.minutes, minute)
            if found_minute is None:
                hour, minute = hour + 1, 0
                continue
            return datetime(year, month, day, hour, found_minute)
        return None

    def _next_day(self, year: int, month: int, day: int) -> int | None:
        last = calendar.monthrange(year, month)[1]
        if day > last:
            return None
        weekday = (calendar.weekday(year, month, day) + 1) % 7
        for candidate in range(day, last + 1):
            if self._day_matches(candidate, weekday):
                return candidate
            weekday = (weekday + 1) % 7
        return None

    def _day_matches(self, day: int, weekday: int) -> bool:
        in_days, in_weekdays = day in self.days, weekday in self.weekdays
        if self.day_star or self.weekday_star:
            return in_days and in_weekdays
        return in_days or in_weekdays


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"a time zone-aware datetime is required, got {value!r}")
    return value


def _instants(wall: datetime, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """The UTC instants showing the naive ``wall``: ``(t, None)``, ``(first, second)`` when the
    clocks fall back over it, ``(None, None)`` when it falls in a spring-forward gap."""
    first = wall.replace(tzinfo=zone).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return first, None
    if first < second:
        return first, second
    return None, None  # PEP 495: in a gap, fold=0 maps later than fold=1


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the spring-forward gap the naive ``wall`` falls in."""
    # Before the transition the clock shows less than ``wall``, after it more; bisect the
    # whole seconds between the two PEP 495 readings of ``wall``.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


# -- describe -----------------------------------------------------------------------------------

_MONTH_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAY_EN = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_WEEKDAY_ZH = ("周日", "周一", "周二", "周三", "周四", "周五", "周六")
_ALL_MINUTES, _ALL_HOURS = tuple(range(60)), tuple(range(24))
_ALL_DAYS, _ALL_MONTHS, _ALL_WEEKDAYS = tuple(range(1, 32)), tuple(range(1, 13)), tuple(range(7))
_MAX_ITEMS = 4  # the most times of day / days of the month a description lists


def _join(items: list[str], locale: str, word: str = "and") -> str:
    if locale == "zh-CN":
        return "、".join(items)
    if len(items) <= 2:
        return f" {word} ".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _step(values: tuple[int, ...], size: int) -> int | None:
    """``n`` when ``values`` is ``0, n, 2n, ...`` with ``n > 1`` dividing ``size`` evenly."""
    if len(values) < 2 or values[0] != 0:
        return None
    step = values[1]
    return step if size % step == 0 and values == tuple(range(0, size, step)) else None


def _describe(schedule: CronSchedule, locale: str) -> str | None:
    zh = locale == "zh-CN"
    minutes, hours = schedule.minutes, schedule.hours
    if _every_day(schedule):
        if hours == _ALL_HOURS:
            if minutes == _ALL_MINUTES:
                return "每分钟" if zh else "every minute"
            if (step := _step(minutes, 60)) is not None:
                return f"每 {step} 分钟" if zh else f"every {step} minutes"
            if len(minutes) == 1:
                minute = minutes[0]
                return f"每小时{_minute_zh(minute)}" if zh else f"every hour at :{minute:02d}"
            return None
        if len(minutes) == 1 and (step := _step(hours, 24)) is not None:
            if zh:
                return f"每 {step} 小时{_minute_zh(minutes[0])}"
            return f"every {step} hours at :{minutes[0]:02d}"
    if len(minutes) * len(hours) > _MAX_ITEMS:
        return None
    days = _describe_days(schedule, zh)
    if days is None:
        return None
    times = _join([f"{h:02d}:{m:02d}" for h in hours for m in minutes], locale)
    return f"{days} {times}" if zh else f"{days} at {times}"


def _minute_zh(minute: int) -> str:
    return "整点" if minute == 0 else f"的第 {minute} 分钟"


def _every_day(schedule: CronSchedule) -> bool:
    return (
        schedule.days == _ALL_DAYS
        and schedule.weekdays == _ALL_WEEKDAYS
        and schedule.months == _ALL_MONTHS
    )


def _describe_days(schedule: CronSchedule, zh: bool) -> str | None:
    """The day part ("every day", "every Monday to Friday", "每月 1 日"...) or None."""
    if _every_day(schedule):
        return "每天" if zh else "every day"
    all_weekdays = schedule.weekdays == _ALL_WEEKDAYS and schedule.weekday_star
    if schedule.day_star and schedule.days == _ALL_DAYS and schedule.months == _ALL_MONTHS:
        return _describe_weekdays(schedule.weekdays, zh)
    if not all_weekdays or len(schedule.days) > _MAX_ITEMS:
        return None  # days of the month OR weekdays, or too many days to list
    numbers = [str(d) for d in schedule.days]
    if schedule.months == _ALL_MONTHS:
        if zh:
            return f"每月 {'、'.join(numbers)} 日"
        return f"on day{'s' if len(numbers) > 1 else ''} {_join(numbers, 'en')} of every month"
    if len(schedule.months) == 1 and len(numbers) == 1:
        month = schedule.months[0]
        if zh:
            return f"每年 {month} 月 {numbers[0]} 日"
        return f"every year on {_MONTH_EN[month - 1]} {numbers[0]}"
    return None


def _describe_weekdays(weekdays: tuple[int, ...], zh: bool) -> str:
    ordered = sorted(weekdays, key=lambda d: (d - 1) % 7)  # Monday first
    names = _WEEKDAY_ZH if zh else _WEEKDAY_EN
    positions = [(d - 1) % 7 for d in ordered]
    if len(ordered) >= 3 and positions == list(range(positions[0], positions[-1] + 1)):
        first, last = names[ordered[0]], names[ordered[-1]]
        return f"每{first}至{last}" if zh else f"every {first} to {last}"
    if zh:
        return "每" + "、".join(names[d] for d in ordered)
    return "every " + _join([names[d] for d in ordered], "en")


# -- pydantic -----------------------------------------------------------------------------------


def _validate_expression(value: str) -> str:
    try:
        return parse_cron(value).expression
    except CronError as error:
        raise PydanticCustomError(
            error.code,
            "{message} [{code}]",
            {"message": error.message("en"), "code": error.code, "field": error.field},
        ) from None


#: A cron expression field for pydantic models (``schedule: CronExpression``): validated by
#: :func:`parse_cron`, an error's type is its ``cron.*`` code and its message ends with it.
CronExpression = Annotated[
    str,
    AfterValidator(_validate_expression),
    WithJsonSchema({"type": "string", "format": "cron", "maxLength": MAX_LENGTH}),
]
