"""Business-hours calendars for SLA targets (DESIGN §6): weekly hours, holidays, make-up workdays.

A :class:`BusinessCalendar` says when an organisation works: per weekday a list of half-open local
time ranges (``["09:00", "12:00"]``, ``["13:30", "18:00"]``; ``"24:00"`` may end a range), minus
``holidays`` (dates or date ranges), plus ``workdays`` (dates that work although they fall on a
weekend, like China's 调休 make-up days; they work the hours of weekday ``like``, Monday by
default, or their own ``hours``). Times are wall-clock times in ``timezone`` (an IANA name).

Arithmetic is in real elapsed time, exact to the microsecond, and DST-correct (:mod:`zoneinfo`):
a range covers exactly the instants whose wall-clock time falls in it. So a 00:00-24:00 day lasts
23 or 25 hours on the days the clocks change, a range inside the spring-forward gap has no time,
and the repeated hour of a fall-back night is worked twice.

Build calendars with :func:`parse_calendar` (errors are :class:`CalendarError`, with a stable code
and the path of the offending entry, ``weekly.0[1]`` or ``holidays[3]``) or load a shipped one
with :func:`load_calendar`. See ``engines/rules/README.md`` for how the SLA engine uses
:meth:`BusinessCalendar.add_business` and :meth:`BusinessCalendar.business_between` with pauses.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from engines.form.schema import LOCALES, Labels

#: How long a stretch without any working time may be before arithmetic gives up.
HORIZON_DAYS: Final = 5 * 366
_US: Final = timedelta(microseconds=1)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_SECONDS: Final = 86_400
_SECOND: Final = 1_000_000  # microseconds
_EPOCH_DATE: Final = date(1970, 1, 1)
#: No zone's offset (LMT included) reaches 16 hours either way.
_MAX_OFFSET: Final = 16 * 3600
#: Offset changes are found by probing this often (seconds); they are always days apart.
_PROBE: Final = 6 * 3600
_BLOCK: Final = 32 * _DAY_SECONDS
_TIME_RE: Final = re.compile(r"(?:([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?|24:00(?::00)?)")
_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,62}")
_LAST_DAY: Final = date(9999, 12, 1)
_CACHE_LIMIT: Final = 8192
WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

MESSAGES: dict[str, tuple[str, str]] = {
    "calendar.invalid": ("The calendar is not valid: {detail}", "日历无效：{detail}"),
    "calendar.bad_time": (
        "{value!r} is not a time of day (HH:MM or HH:MM:SS; 24:00 only as an end).",
        "{value!r} 不是有效的时间（HH:MM 或 HH:MM:SS；24:00 只能作为结束时间）。",
    ),
    "calendar.bad_range": (
        "The range must start before it ends ({start} to {end}).",
        "时间范围的开始必须早于结束（{start} 至 {end}）。",
    ),
    "calendar.overlapping_ranges": (
        "The range {start}-{end} overlaps {other_start}-{other_end} on the same day.",
        "时间范围 {start}-{end} 与同一天的 {other_start}-{other_end} 重叠。",
    ),
    "calendar.bad_weekday": (
        "{value!r} is not a weekday (0 = Monday to 6 = Sunday).",
        "{value!r} 不是有效的星期（0 表示周一，6 表示周日）。",
    ),
    "calendar.unknown_timezone": (
        "{value!r} is not a known time zone (an IANA name such as Asia/Shanghai).",
        "{value!r} 不是有效的时区（应为 IANA 名称，例如 Asia/Shanghai）。",
    ),
    "calendar.holiday_and_workday": (
        "{day} is both a holiday (holidays[{holiday}]) and a workday.",
        "{day} 同时被设为节假日（holidays[{holiday}]）和工作日。",
    ),
    "calendar.duplicate_workday": (
        "{day} is listed as a workday twice (also workdays[{other}]).",
        "{day} 被重复设为工作日（另见 workdays[{other}]）。",
    ),
    "calendar.empty_workday": (
        "The workday {day} has no working hours: {weekday} has none; give it hours.",
        "工作日 {day} 没有工作时间：{weekday_zh}没有工作时间，请为它设定 hours。",
    ),
    "calendar.empty_calendar": (
        "The calendar has no working time at all.",
        "该日历没有任何工作时间。",
    ),
    "calendar.unknown_locale": (
        "Unknown locale(s) in the name: {locales}.",
        "名称中有未知的语言：{locales}。",
    ),
    "calendar.naive_datetime": (
        "{value} has no time zone; pass an aware datetime.",
        "{value} 没有时区信息，请传入带时区的时间。",
    ),
    "calendar.negative_duration": (
        "The duration {value} is negative.",
        "时长 {value} 为负数。",
    ),
    "calendar.no_working_time": (
        "The calendar {calendar!r} has no working time within {years} years after {after}.",
        "日历 {calendar!r} 在 {after} 之后 {years} 年内没有任何工作时间。",
    ),
    "calendar.out_of_range": (
        "The result lies beyond the last date this calendar can compute ({last}).",
        "计算结果超出日历可计算的最后日期（{last}）。",
    ),
    "calendar.unknown_calendar": (
        "There is no shipped calendar {name!r}; known: {known}.",
        "没有内置日历 {name!r}；可用：{known}。",
    ),
}

K = TypeVar("K")
V = TypeVar("V")
_WEEKDAYS_ZH: Final = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class CalendarError(ValueError):
    """A calendar the engine refuses, or arithmetic it cannot do: ``code``, ``path``, ``params``."""

    def __init__(self, code: str, *, path: str = "", **params: Any) -> None:
        self.code = code
        self.path = path
        self.params = params
        super().__init__(f"{path or 'calendar'}: {self.message('en')} [{code}]")

    def message(self, locale: str = "en") -> str:
        """The human message in ``en`` or ``zh-CN``."""
        en, zh = MESSAGES.get(self.code, (self.code, self.code))
        weekday = self.params.get("weekday")
        zh_day = _WEEKDAYS_ZH[WEEKDAYS.index(weekday)] if weekday in WEEKDAYS else ""
        values = {"weekday_zh": zh_day}
        try:
            return (zh if locale == "zh-CN" else en).format(**values, **self.params)
        except (KeyError, IndexError, ValueError):
            return en

    def to_dict(self, locale: str = "en") -> dict[str, Any]:
        """One problem entry: ``{code, field, message}``."""
        return {"code": self.code, "field": self.path, "message": self.message(locale)}


class _Memo(dict[K, V]):
    """A calendar's computed days or offsets: not part of its value (all memos compare equal)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Memo)

    __hash__ = None

    def keep(self, key: K, value: V) -> V:
        if len(self) >= _CACHE_LIMIT:
            self.clear()
        self[key] = value
        return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TimeRange = tuple[str, str]


class Holiday(Model):
    """Non-working dates ``start`` to ``end`` (inclusive; one day if ``end`` is omitted).

    In JSON a holiday may also be a bare ``"2026-10-01"`` or ``{"date": "2026-10-01"}``."""

    start: date
    end: date | None = None
    name: Labels = Field(default_factory=dict)
    #: Derived rather than announced (see the calendar's ``years``); still used as given.
    provisional: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str | date):
            return {"start": data}
        if isinstance(data, dict) and "date" in data and "start" not in data:
            rest = {k: v for k, v in data.items() if k != "date"}
            return {"start": data["date"], **rest}
        return data

    @property
    def last(self) -> date:
        """The last non-working date of the holiday."""
        return self.end or self.start


class Workday(Model):
    """A working date that would otherwise be off (a weekend, China's 调休 make-up day).

    It works its own ``hours`` if given, else the weekly hours of weekday ``like`` (0 = Monday)."""

    date: date
    name: Labels = Field(default_factory=dict)
    like: int = 0
    hours: tuple[TimeRange, ...] | None = None
    provisional: bool = False


class Source(Model):
    """Where a year's holidays come from: the notice's ``title``, ``url`` and publication date."""

    title: str
    url: str | None = None
    published: date | None = None


class YearInfo(Model):
    """Provenance of one year's holidays; ``provisional`` years are derived, not announced."""

    provisional: bool = False
    source: Source | None = None
    note: str = ""


class BusinessCalendar(Model):
    """When an organisation works; validated once, immutable, safe to share between threads."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    name: Labels = Field(default_factory=dict)
    timezone: str
    weekly: dict[int, tuple[TimeRange, ...]] = Field(default_factory=dict)
    holidays: tuple[Holiday, ...] = ()
    workdays: tuple[Workday, ...] = ()
    #: Provenance per year of the holiday data (shipped calendars fill it in).
    years: dict[int, YearInfo] = Field(default_factory=dict)
    description: str = ""

    _zone: ZoneInfo = PrivateAttr()
    _weekly: tuple[tuple[tuple[int, int], ...], ...] = PrivateAttr()
    _workdays: dict[date, tuple[tuple[int, int], ...]] = PrivateAttr()
    _holiday_starts: list[int] = PrivateAttr()  # merged holidays as half-open ordinals
    _holiday_ends: list[int] = PrivateAttr()
    _days: _Memo[date, tuple[tuple[int, int], ...]] = PrivateAttr(default_factory=_Memo)
    _blocks: _Memo[int, tuple[tuple[int, int, int], ...]] = PrivateAttr(default_factory=_Memo)

    @model_validator(mode="after")
    def _check(self) -> BusinessCalendar:
        named = [("name", self.name)]
        named += [(f"holidays[{i}].name", h.name) for i, h in enumerate(self.holidays)]
        named += [(f"workdays[{i}].name", w.name) for i, w in enumerate(self.workdays)]
        for path, labels in named:
            unknown = set(labels) - set(LOCALES)
            if unknown:
                raise CalendarError(
                    "calendar.unknown_locale", path=path, locales=", ".join(sorted(unknown))
                )
        try:
            self._zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CalendarError(
                "calendar.unknown_timezone", path="timezone", value=self.timezone
            ) from None
        for weekday in self.weekly:
            if not 0 <= weekday <= 6:
                raise CalendarError("calendar.bad_weekday", path=f"weekly.{weekday}", value=weekday)
        self._weekly = tuple(
            _parse_ranges(self.weekly.get(weekday, ()), f"weekly.{weekday}") for weekday in range(7)
        )
        self._index_holidays()
        self._index_workdays()
        if not any(self._weekly) and not self._workdays:
            raise CalendarError("calendar.empty_calendar")
        return self

    def _index_holidays(self) -> None:
        spans: list[tuple[int, int]] = []  # half-open ordinals
        for index, holiday in enumerate(self.holidays):
            if holiday.last < holiday.start:
                raise CalendarError(
                    "calendar.bad_range",
                    path=f"holidays[{index}]",
                    start=holiday.start,
                    end=holiday.last,
                )
            spans.append((holiday.start.toordinal(), holiday.last.toordinal() + 1))
        merged = _merge(spans)
        self._holiday_starts = [start for start, _ in merged]
        self._holiday_ends = [end for _, end in merged]

    def _index_workdays(self) -> None:
        self._workdays = {}
        seen: dict[date, int] = {}
        for index, workday in enumerate(self.workdays):
            path, day = f"workdays[{index}]", workday.date
            if day in seen:
                raise CalendarError(
                    "calendar.duplicate_workday", path=path, day=day, other=seen[day]
                )
            seen[day] = index
            if not 0 <= workday.like <= 6:
                raise CalendarError("calendar.bad_weekday", path=f"{path}.like", value=workday.like)
            if self.is_holiday(day):
                holiday = next(i for i, h in enumerate(self.holidays) if h.start <= day <= h.last)
                raise CalendarError(
                    "calendar.holiday_and_workday", path=path, day=day, holiday=holiday
                )
            if workday.hours is None:
                ranges = self._weekly[workday.like]
            else:
                ranges = _parse_ranges(workday.hours, f"{path}.hours")
            if not ranges:
                raise CalendarError(
                    "calendar.empty_workday", path=path, day=day, weekday=WEEKDAYS[workday.like]
                )
            self._workdays[day] = ranges

    # -- days ---------------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        """The calendar's time zone."""
        return self._zone

    def is_holiday(self, day: date) -> bool:
        """Whether ``day`` falls within one of the ``holidays``."""
        ordinal = day.toordinal()
        index = bisect_right(self._holiday_starts, ordinal) - 1
        return index >= 0 and ordinal < self._holiday_ends[index]

    def hours_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The working ranges of the local date ``day``, as seconds after local midnight."""
        workday = self._workdays.get(day)
        if workday is not None:
            return workday
        if self.is_holiday(day):
            return ()
        return self._weekly[day.weekday()]

    def is_working_day(self, day: date) -> bool:
        """Whether the local date ``day`` has any working hours."""
        return bool(self.hours_on(day))

    def covers(self, day: date) -> bool:
        """Whether ``years`` records holiday data for ``day``'s year (``False`` past the data)."""
        return day.year in self.years

    def _day(self, day: date) -> tuple[tuple[int, int], ...]:
        """The working intervals of local date ``day``: merged ``[start, end)`` UTC epoch
        microseconds of exactly the instants whose wall-clock time falls in the day's ranges."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        ranges, base = self.hours_on(day), _midnight(day)
        intervals: list[tuple[int, int]] = []
        if ranges:
            segments = self._segments(
                base + ranges[0][0] - _MAX_OFFSET, base + ranges[-1][1] + _MAX_OFFSET
            )
            for begin, end in ranges:
                for lo, hi, offset in segments:
                    lo, hi = max(lo, base + begin - offset), min(hi, base + end - offset)
                    if lo < hi:
                        intervals.append((lo * _SECOND, hi * _SECOND))
            intervals = _merge(intervals)
        return self._days.keep(day, tuple(intervals))

    def _offset(self, at: int) -> int:
        """The zone's UTC offset in seconds at ``at`` (epoch seconds)."""
        offset = (_EPOCH + timedelta(seconds=at)).astimezone(self._zone).utcoffset()
        return offset // timedelta(seconds=1) if offset is not None else 0

    def _segments(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """``[lo, hi)`` (epoch seconds) split where the UTC offset changes: ``(start, end,
        offset)``, from memoised blocks of :data:`_BLOCK` seconds."""
        out: list[tuple[int, int, int]] = []
        for block in range(lo // _BLOCK, (hi - 1) // _BLOCK + 1):
            for start, end, offset in self._block(block):
                start, end = max(start, lo), min(end, hi)
                if start >= end:
                    continue
                if out and out[-1][2] == offset:
                    out[-1] = (out[-1][0], end, offset)
                else:
                    out.append((start, end, offset))
        return out

    def _block(self, block: int) -> tuple[tuple[int, int, int], ...]:
        """The offset segments of block ``block``: probed every :data:`_PROBE` seconds, each
        change bisected to the exact second."""
        cached = self._blocks.get(block)
        if cached is not None:
            return cached
        lo, hi = block * _BLOCK, (block + 1) * _BLOCK
        out: list[tuple[int, int, int]] = []
        start, offset, probe = lo, self._offset(lo), lo
        while probe < hi:
            ahead = min(probe + _PROBE, hi)
            if self._offset(ahead) == offset:
                probe = ahead
                continue
            while ahead - probe > 1:
                middle = (probe + ahead) // 2
                probe, ahead = (
                    (middle, ahead) if self._offset(middle) == offset else (probe, middle)
                )
            out.append((start, ahead, offset))
            start, offset, probe = ahead, self._offset(ahead), ahead
        out.append((start, hi, offset))
        return self._blocks.keep(block, tuple(out))

    def _local_date(self, at_us: int) -> date:
        return (_EPOCH + at_us * _US).astimezone(self._zone).date()

    def _at(self, at_us: int) -> datetime:
        return (_EPOCH + at_us * _US).astimezone(self._zone)

    def _days_from(self, day: date) -> Iterator[date]:
        while True:
            yield day
            if day >= _LAST_DAY:
                raise CalendarError("calendar.out_of_range", last=_LAST_DAY)
            day += timedelta(days=1)

    # -- arithmetic ---------------------------------------------------------------------------

    def is_working(self, at: datetime) -> bool:
        """Whether the instant ``at`` (aware) lies in working time."""
        pos = _micros(at)
        return any(start <= pos < end for start, end in self._day(self._local_date(pos)))

    def next_working(self, at: datetime) -> datetime:
        """``at`` itself if it is working time, else the start of the next working interval."""
        return self.add_business(at, timedelta(0))

    def add_business(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of working time has elapsed after ``start``.

        A ``start`` in non-working time counts from the next working moment; a result that lands
        on the end of a working interval is that end (Friday 16:00 + 1 h with 09-17 hours is
        Friday 17:00). The result is in the calendar's time zone. Raises
        ``calendar.no_working_time`` after :data:`HORIZON_DAYS` days without working time."""
        if duration < timedelta(0):
            raise CalendarError("calendar.negative_duration", value=duration)
        remaining, pos = duration // _US, _micros(start)
        idle = 0
        for day in self._days_from(self._local_date(pos)):
            intervals = self._day(day)
            if not intervals or intervals[-1][1] <= pos:
                idle += 1
                if idle > HORIZON_DAYS:
                    raise CalendarError(
                        "calendar.no_working_time",
                        calendar=self.key,
                        years=HORIZON_DAYS // 366,
                        after=self._at(pos).isoformat(),
                    )
                continue
            idle = 0
            for begin, end in intervals:
                if end <= pos:
                    continue
                begin = max(begin, pos)
                if remaining <= end - begin:
                    return self._at(begin + remaining)
                remaining -= end - begin
                pos = end
        raise AssertionError("unreachable")  # pragma: no cover - _days_from raises first

    def business_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in ``[a, b)``; zero if ``b <= a``."""
        lo, hi = _micros(a), _micros(b)
        if hi <= lo:
            return timedelta(0)
        total = 0
        for day in self._days_from(self._local_date(lo)):
            for begin, end in self._day(day):
                total += max(0, min(end, hi) - max(begin, lo))
            if _earliest(day + timedelta(days=1)) >= hi:
                return total * _US
        raise AssertionError("unreachable")  # pragma: no cover - _days_from raises first

    def intervals(self, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals overlapping ``[a, b)``, clipped to it, in the calendar's zone."""
        lo, hi = _micros(a), _micros(b)
        if hi <= lo:
            return
        for day in self._days_from(self._local_date(lo)):
            if _earliest(day) >= hi:
                return
            for begin, end in self._day(day):
                begin, end = max(begin, lo), min(end, hi)
                if begin < end:
                    yield self._at(begin), self._at(end)


def _midnight(day: date) -> int:
    """Local midnight of ``day`` as if it were UTC, in epoch seconds (a wall-clock reading)."""
    return (day - _EPOCH_DATE).days * _DAY_SECONDS


def _earliest(day: date) -> int:
    """No instant whose wall-clock date is ``day`` is earlier than this (epoch microseconds)."""
    return (_midnight(day) - _MAX_OFFSET) * _SECOND


def _merge(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` pairs sorted, with overlapping and touching ones joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _micros(at: datetime) -> int:
    if at.tzinfo is None or at.utcoffset() is None:
        raise CalendarError("calendar.naive_datetime", value=at.isoformat())
    return (at - _EPOCH) // _US


def _seconds(value: str, path: str, *, end: bool) -> int:
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None or (not end and value.startswith("24")):
        raise CalendarError("calendar.bad_time", path=path, value=value)
    if value.startswith("24"):
        return _DAY_SECONDS
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)


def _parse_ranges(ranges: tuple[TimeRange, ...], path: str) -> tuple[tuple[int, int], ...]:
    """Seconds-after-midnight pairs of one day's ranges, sorted; errors name ``path[i]``."""
    parsed: list[tuple[int, int, int]] = []
    for index, (start_text, end_text) in enumerate(ranges):
        where = f"{path}[{index}]"
        start = _seconds(start_text, where, end=False)
        end = _seconds(end_text, where, end=True)
        if start >= end:
            raise CalendarError("calendar.bad_range", path=where, start=start_text, end=end_text)
        parsed.append((start, end, index))
    parsed.sort()
    for (_, prev_end, prev), (start, _, index) in pairwise(parsed):
        if start < prev_end:
            later, earlier = max(prev, index), min(prev, index)
            raise CalendarError(
                "calendar.overlapping_ranges",
                path=f"{path}[{later}]",
                start=ranges[later][0],
                end=ranges[later][1],
                other_start=ranges[earlier][0],
                other_end=ranges[earlier][1],
            )
    return tuple((start, end) for start, end, _ in parsed)


# -- parsing and shipped calendars ----------------------------------------------------------------


def _render(loc: tuple[int | str, ...]) -> str:
    out = ""
    for segment in loc:
        out += f"[{segment}]" if isinstance(segment, int) else ("." if out else "") + segment
    return out


def parse_calendar(data: Any) -> BusinessCalendar:
    """A :class:`BusinessCalendar` from JSON data; a :class:`CalendarError` naming the path if
    not (``calendar.invalid`` for wrong shapes and types, else the specific code)."""
    try:
        return BusinessCalendar.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        cause = first.get("ctx", {}).get("error")
        if isinstance(cause, CalendarError):
            raise cause from None
        raise CalendarError(
            "calendar.invalid", path=_render(tuple(first["loc"])), detail=first["msg"]
        ) from None


def _data_dir() -> Any:
    return resources.files("engines.rules") / "data"


def shipped_calendars() -> list[str]:
    """Names of the calendars shipped in ``engines/rules/data`` (for :func:`load_calendar`)."""
    return sorted(
        entry.name.removesuffix(".json")
        for entry in _data_dir().iterdir()
        if entry.name.endswith(".json")
    )


@lru_cache(maxsize=32)
def load_calendar(name: str) -> BusinessCalendar:
    """The shipped calendar ``name`` (``cn_workdays_2026_2027``, ``standard_weekdays``)."""
    known = shipped_calendars()
    if not _NAME_RE.fullmatch(name) or name not in known:
        raise CalendarError("calendar.unknown_calendar", name=name, known=", ".join(known))
    text = (_data_dir() / f"{name}.json").read_text(encoding="utf-8")
    return parse_calendar(json.loads(text))
