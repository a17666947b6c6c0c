"""Cron schedules: syntax, errors, Vixie day semantics, time zones and DST, describe, pydantic."""

from __future__ import annotations

import dataclasses
import itertools
import pickle
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from engines.rules.cron import CronError, CronExpression, CronSchedule, parse_cron

BERLIN, NEW_YORK, SHANGHAI = "Europe/Berlin", "America/New_York", "Asia/Shanghai"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(expression: str, start: datetime, timezone: str, count: int) -> list[datetime]:
    schedule = parse_cron(expression)
    return list(schedule.between(start, start + timedelta(days=3660), timezone, limit=count))


def local(instants: list[datetime], timezone: str) -> list[str]:
    zone = ZoneInfo(timezone)
    return [t.astimezone(zone).isoformat() for t in instants]


# -- syntax --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "attribute", "values"),
    [
        ("* * * * *", "minutes", tuple(range(60))),
        ("5 * * * *", "minutes", (5,)),
        ("1,5,59 * * * *", "minutes", (1, 5, 59)),
        ("10-13 * * * *", "minutes", (10, 11, 12, 13)),
        ("*/15 * * * *", "minutes", (0, 15, 30, 45)),
        ("10-30/10 * * * *", "minutes", (10, 20, 30)),
        ("50/4 * * * *", "minutes", (50, 54, 58)),
        ("0,10-12,*/30 * * * *", "minutes", (0, 10, 11, 12, 30)),
        ("0 */6 * * *", "hours", (0, 6, 12, 18)),
        ("0 23 * * *", "hours", (23,)),
        ("0 0 1,15,31 * *", "days", (1, 15, 31)),
        ("0 0 */10 * *", "days", (1, 11, 21, 31)),
        ("0 0 * JAN,jul *", "months", (1, 7)),
        ("0 0 * Mar-May *", "months", (3, 4, 5)),
        ("0 0 * */3 *", "months", (1, 4, 7, 10)),
        ("0 0 * 2-DEC/5 *", "months", (2, 7, 12)),
        ("0 0 * * MON-FRI", "weekdays", (1, 2, 3, 4, 5)),
        ("0 0 * * sun,Sat", "weekdays", (0, 6)),
        ("0 0 * * 7", "weekdays", (0,)),
        ("0 0 * * 0,7", "weekdays", (0,)),
        ("0 0 * * 5-7", "weekdays", (0, 5, 6)),
        ("0 0 * * 1/2", "weekdays", (0, 1, 3, 5)),  # 1, 3, 5, 7 (= Sunday)
        ("0 0 * * */2", "weekdays", (0, 2, 4, 6)),
        ("0 0 * * *", "weekdays", tuple(range(7))),
    ],
)
def test_field_syntax(expression: str, attribute: str, values: tuple[int, ...]) -> None:
    assert getattr(parse_cron(expression), attribute) == values


@pytest.mark.parametrize(
    ("nickname", "equivalent"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
        ("@DAILY", "0 0 * * *"),
    ],
)
def test_nicknames(nickname: str, equivalent: str) -> None:
    schedule, expected = parse_cron(nickname), parse_cron(equivalent)
    assert schedule.expression == nickname
    assert schedule == dataclasses.replace(expected, expression=nickname)
    after = utc(2026, 5, 17, 13, 7)
    assert schedule.next_after(after, SHANGHAI) == expected.next_after(after, SHANGHAI)


def test_value_semantics() -> None:
    schedule = parse_cron("  0   9 * *\tMON-FRI ")
    assert schedule.expression == "0 9 * * MON-FRI"
    assert schedule == parse_cron("0 9 * * MON-FRI")
    assert hash(schedule) == hash(parse_cron("0 9 * * MON-FRI"))
    assert {schedule, parse_cron("0 9 * * MON-FRI")} == {schedule}
    assert schedule != parse_cron("0 9 * * 1-5")  # the same times, another expression
    assert repr(schedule) == "CronSchedule(expression='0 9 * * MON-FRI')"
    with pytest.raises(AttributeError):
        schedule.expression = "* * * * *"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(schedule)) == schedule


def test_fixed_time_flag() -> None:
    """Vixie's rule: a schedule is fixed-time unless its minute or hour text starts with ``*``."""
    assert parse_cron("30 2 * * *").fixed_time
    assert parse_cron("@daily").fixed_time
    assert parse_cron("0,30 1-3 * * *").fixed_time
    assert not parse_cron("*/15 * * * *").fixed_time
    assert not parse_cron("0 * * * *").fixed_time
    assert not parse_cron("@hourly").fixed_time
    assert not parse_cron("*/5 9 * * *").fixed_time


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "code", "field"),
    [
        ("", "cron.field_count", None),
        ("* * * *", "cron.field_count", None),
        ("0 * * * * *", "cron.field_count", None),
        ("0 0 * * * 2026", "cron.field_count", None),
        ("@daily extra", "cron.field_count", None),
        ("@reboot", "cron.bad_nickname", None),
        ("@every_5m", "cron.bad_nickname", None),
        ("0 " * 300, "cron.too_long", None),
        ("x * * * *", "cron.bad_value", "minute"),
        ("1,,2 * * * *", "cron.bad_value", "minute"),
        ("1, * * * *", "cron.bad_value", "minute"),
        ("-1 * * * *", "cron.bad_value", "minute"),
        ("1- * * * *", "cron.bad_value", "minute"),
        ("1-2-3 * * * *", "cron.bad_value", "minute"),
        ("+1 * * * *", "cron.bad_value", "minute"),
        ("١ * * * *", "cron.bad_value", "minute"),  # not an ASCII digit
        ("0 ? * * *", "cron.bad_value", "hour"),
        ("0 0 L * *", "cron.bad_value", "day"),
        ("0 0 15W * *", "cron.bad_value", "day"),
        ("0 0 * MON *", "cron.bad_value", "month"),
        ("0 0 * JANUARY *", "cron.bad_value", "month"),
        ("0 0 * * JAN", "cron.bad_value", "weekday"),
        ("0 0 * * 5#3", "cron.bad_value", "weekday"),
        ("0 0 * * */", "cron.bad_step", "weekday"),
        ("60 * * * *", "cron.out_of_range", "minute"),
        ("0 24 * * *", "cron.out_of_range", "hour"),
        ("0 0 0 * *", "cron.out_of_range", "day"),
        ("0 0 32 * *", "cron.out_of_range", "day"),
        ("0 0 * 0 *", "cron.out_of_range", "month"),
        ("0 0 * 13 *", "cron.out_of_range", "month"),
        ("0 0 * * 8", "cron.out_of_range", "weekday"),
        ("0-99999999999 * * * *", "cron.bad_value", "minute"),
        ("*/0 * * * *", "cron.bad_step", "minute"),
        ("*/61 * * * *", "cron.bad_step", "minute"),
        ("*/x * * * *", "cron.bad_step", "minute"),
        ("*/2/3 * * * *", "cron.bad_step", "minute"),
        ("0 0 * * */8", "cron.bad_step", "weekday"),
        ("59-0 * * * *", "cron.bad_range", "minute"),
        ("0 0 * DEC-JAN *", "cron.bad_range", "month"),
        ("0 0 * * FRI-MON", "cron.bad_range", "weekday"),
        ("0 0 30 2 *", "cron.never", "day"),
        ("0 0 30,31 FEB *", "cron.never", "day"),
        ("0 0 31 4,6,9,11 *", "cron.never", "day"),
        ("0 0 31 2 */2", "cron.never", "day"),  # */2 weekdays: both fields must match
    ],
)
def test_errors(expression: str, code: str, field: str | None) -> None:
    with pytest.raises(CronError) as caught:
        parse_cron(expression)
    error = caught.value
    assert (error.code, error.field) == (code, field)
    assert isinstance(error, ValueError)
    assert str(error).endswith(f"[{code}]")
    english, chinese = error.message("en"), error.message("zh-CN")
    assert english and chinese and english != chinese
    assert "{" not in english and "{" not in chinese
    assert error.to_dict("zh-CN") == {"code": code, "field": field, "message": chinese}
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.field, copy.message("zh-CN")) == (code, field, chinese)


def test_error_messages() -> None:
    with pytest.raises(CronError) as caught:
        parse_cron("0 24 * * *")
    assert caught.value.message() == "hour: 24 is out of range (0 to 23)."
    assert caught.value.message("zh-CN") == "小时：24 超出范围（0 至 23）。"
    with pytest.raises(CronError) as caught:
        parse_cron("0 0 30,31 2 *")
    assert caught.value.message() == (
        "The schedule never fires: there is no day 30 or 31 in February."
    )
    assert caught.value.message("zh-CN") == "该计划永远不会触发：2 月没有 30、31 日。"


def test_possible_day_month_combinations_are_accepted() -> None:
    parse_cron("0 0 29 2 *")  # leap years
    parse_cron("0 0 30,31 2,3 *")  # March 30 and 31
    parse_cron("0 0 30 2 MON")  # day OR weekday: every Monday in February
    parse_cron("0 0 31 * *")  # months with 31 days


def test_bad_timezone_and_naive_datetimes() -> None:
    schedule = parse_cron("@daily")
    with pytest.raises(CronError) as caught:
        schedule.next_after(utc(2026, 1, 1), "Mars/Olympus_Mons")
    assert caught.value.code == "cron.bad_timezone"
    assert caught.value.message("zh-CN") == "'Mars/Olympus_Mons' 不是有效的时区。"
    with pytest.raises(CronError):
        list(schedule.between(utc(2026, 1, 1), utc(2026, 1, 2), "../etc/passwd"))
    with pytest.raises(ValueError, match="aware"):
        schedule.next_after(datetime(2026, 1, 1), SHANGHAI)


# -- day of month vs day of week (Vixie) ----------------------------------------------------------


def test_restricted_day_and_weekday_match_either() -> None:
    # 2026-02: the 13th is a Friday; Fridays are the 6th, 13th, 20th and 27th.
    got = fires("0 0 13,14 * FRI", utc(2026, 1, 31, 16), SHANGHAI, 6)
    assert local(got, SHANGHAI) == [
        f"2026-02-{day:02d}T00:00:00+08:00" for day in (6, 13, 14, 20, 27)
    ] + ["2026-03-06T00:00:00+08:00"]


def test_star_day_or_weekday_means_both_must_match() -> None:
    assert [t.day for t in fires("0 0 * * FRI", utc(2026, 2, 1), "UTC", 4)] == [6, 13, 20, 27]
    assert [t.day for t in fires("0 0 13 * *", utc(2026, 2, 1), "UTC", 2)] == [13, 13]
    # A weekday field starting with ``*`` counts as unrestricted, as in cron: the 1st AND
    # Sun/Tue/Thu/Sat. 2026: Feb 1 and Mar 1 are Sundays, Apr-Jul 1 Wed/Fri/Mon/Wed, Aug 1 a
    # Saturday.
    got = fires("0 0 1 * */2", utc(2026, 1, 15), "UTC", 3)
    assert [t.date().isoformat() for t in got] == ["2026-02-01", "2026-03-01", "2026-08-01"]
    # ... and so does ``*/n`` in the day field: odd days that are Mondays.
    got = fires("0 0 */2 * MON", utc(2026, 5, 31), "UTC", 3)
    assert [t.date().isoformat() for t in got] == ["2026-06-01", "2026-06-15", "2026-06-29"]


def test_matches() -> None:
    schedule = parse_cron("30 9 13 * FRI")
    assert schedule.matches(datetime(2026, 2, 6, 9, 30))  # a Friday
    assert schedule.matches(datetime(2026, 4, 13, 9, 30, tzinfo=ZoneInfo(SHANGHAI)))  # the 13th
    assert not schedule.matches(datetime(2026, 4, 14, 9, 30))
    assert not schedule.matches(datetime(2026, 2, 6, 9, 31))


# -- next_after, time zones ------------------------------------------------------------------------


def test_next_after_is_strictly_after_and_in_utc() -> None:
    schedule = parse_cron("0 9 * * *")
    nine = datetime(2026, 5, 17, 9, tzinfo=ZoneInfo(SHANGHAI))
    result = schedule.next_after(nine, SHANGHAI)
    assert result == utc(2026, 5, 18, 1) and result.tzinfo is UTC
    assert schedule.next_after(nine - timedelta(microseconds=1), SHANGHAI) == utc(2026, 5, 17, 1)
    # ``after`` may be in any zone: 2026-05-17 00:30 UTC is 08:30 in Shanghai.
    tokyo = datetime(2026, 5, 17, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert schedule.next_after(tokyo, SHANGHAI) == utc(2026, 5, 17, 1)
    assert schedule.next_after(tokyo, "UTC") == utc(2026, 5, 17, 9)


def test_shanghai_has_no_dst() -> None:
    got = fires("0 2 * * *", utc(2026, 3, 1), SHANGHAI, 366)
    assert all(t.hour == 18 and t.minute == 0 for t in got)
    assert len({t.date() for t in got}) == 366


def test_every_minute_and_month_and_year_rollover() -> None:
    assert fires("* * * * *", utc(2026, 12, 31, 23, 58) + timedelta(seconds=30), "UTC", 3) == [
        utc(2026, 12, 31, 23, 59),
        utc(2027, 1, 1, 0, 0),
        utc(2027, 1, 1, 0, 1),
    ]
    assert fires("59 23 31 12 *", utc(2026, 12, 31, 23, 59), "UTC", 1) == [
        utc(2027, 12, 31, 23, 59)
    ]
    assert fires("0 0 31 * *", utc(2026, 1, 31), "UTC", 3) == [
        utc(2026, 3, 31),
        utc(2026, 5, 31),
        utc(2026, 7, 31),
    ]


# -- DST -----------------------------------------------------------------------------------------
# Berlin 2026: 03-29 02:00 CET -> 03:00 CEST (01:00 UTC); 10-25 03:00 CEST -> 02:00 CET (01:00 UTC).
# New York 2026: 03-08 02:00 EST -> 03:00 EDT (07:00 UTC); 11-01 02:00 EDT -> 01:00 EST (06:00 UTC).


@pytest.mark.parametrize(
    ("timezone", "start", "expected"),
    [
        (
            BERLIN,
            utc(2026, 3, 27),
            [
                "2026-03-27T02:30:00+01:00",
                "2026-03-28T02:30:00+01:00",
                "2026-03-29T03:00:00+02:00",  # 02:30 does not exist: the first instant after
                "2026-03-30T02:30:00+02:00",
            ],
        ),
        (
            NEW_YORK,
            utc(2026, 3, 6, 12),
            [
                "2026-03-07T02:30:00-05:00",
                "2026-03-08T03:00:00-04:00",
                "2026-03-09T02:30:00-04:00",
            ],
        ),
    ],
)
def test_fixed_time_in_the_spring_gap_fires_when_the_gap_ends(
    timezone: str, start: datetime, expected: list[str]
) -> None:
    assert local(fires("30 2 * * *", start, timezone, len(expected)), timezone) == expected


def test_fixed_times_in_one_gap_fire_once() -> None:
    got = fires("0,15,30 2 * * *", utc(2026, 3, 28, 12), BERLIN, 3)
    assert local(got, BERLIN) == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:00:00+02:00",
        "2026-03-30T02:15:00+02:00",
    ]
    # 02:00 (in the gap) and 03:00 (just after) are the same instant: one fire.
    got = fires("0 2,3 * * *", utc(2026, 3, 28, 12), BERLIN, 2)
    assert local(got, BERLIN) == ["2026-03-29T03:00:00+02:00", "2026-03-30T02:00:00+02:00"]


def test_fixed_time_gap_catch_up_is_strictly_after() -> None:
    schedule = parse_cron("30 2 * * *")
    gap_end = utc(2026, 3, 29, 1)
    assert schedule.next_after(gap_end - timedelta(seconds=1), BERLIN) == gap_end
    assert schedule.next_after(gap_end, BERLIN) == utc(2026, 3, 30, 0, 30)


def test_interval_schedules_skip_the_spring_gap() -> None:
    got = fires("*/30 * * * *", utc(2026, 3, 29, 0, 15), BERLIN, 3)
    assert local(got, BERLIN) == [
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T03:30:00+02:00",
    ]
    got = fires("30 * * * *", utc(2026, 3, 8, 6), NEW_YORK, 2)
    assert local(got, NEW_YORK) == ["2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"]
    assert got[1] - got[0] == timedelta(hours=1)


@pytest.mark.parametrize(
    ("timezone", "start", "expected"),
    [
        (
            BERLIN,
            utc(2026, 10, 24),
            ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        ),
        (
            NEW_YORK,
            utc(2026, 10, 31),
            ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        ),
    ],
)
def test_fixed_time_in_the_fall_overlap_fires_once(
    timezone: str, start: datetime, expected: list[str]
) -> None:
    time_of_day = "30 2 * * *" if timezone == BERLIN else "30 1 * * *"
    assert local(fires(time_of_day, start, timezone, 3), timezone) == expected


def test_fixed_time_from_inside_the_overlap() -> None:
    schedule = parse_cron("30 1 * * *")
    first_pass, second_pass = utc(2026, 11, 1, 5, 10), utc(2026, 11, 1, 6, 10)  # 01:10 EDT / EST
    assert schedule.next_after(first_pass, NEW_YORK) == utc(2026, 11, 1, 5, 30)
    assert schedule.next_after(second_pass, NEW_YORK) == utc(2026, 11, 2, 6, 30)


def test_interval_schedules_fire_on_both_passes_of_the_overlap() -> None:
    expected = [
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:30:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ]
    assert local(fires("*/30 * * * *", utc(2026, 11, 1, 4, 45), NEW_YORK, 5), NEW_YORK) == expected
    # From the middle of the first pass, the second pass's earlier wall times are still ahead.
    got = fires("*/30 * * * *", utc(2026, 11, 1, 5, 40), NEW_YORK, 3)
    assert local(got, NEW_YORK) == expected[2:]
    got = fires("*/30 * * * *", utc(2026, 11, 1, 5, 15), NEW_YORK, 3)
    assert local(got, NEW_YORK) == expected[1:4]
    # From the second pass.
    assert local(fires("*/30 * * * *", utc(2026, 11, 1, 6, 10), NEW_YORK, 1), NEW_YORK) == [
        expected[3]
    ]


def test_hourly_keeps_real_hours_across_both_transitions() -> None:
    for start in (utc(2026, 3, 28, 20), utc(2026, 10, 24, 20)):
        got = fires("@hourly", start, BERLIN, 12)
        assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(got))


def test_lord_howe_half_hour_dst() -> None:
    """Australia/Lord_Howe moves by 30 minutes: 2026-10-04 02:00 -> 02:30, 04-05 02:00 -> 01:30."""
    zone = "Australia/Lord_Howe"
    assert local(fires("15 2 * * *", utc(2026, 10, 3, 12), zone, 2), zone) == [
        "2026-10-04T02:30:00+11:00",
        "2026-10-05T02:15:00+11:00",
    ]
    assert local(fires("45 1 * * *", utc(2026, 4, 4, 12), zone, 2), zone) == [
        "2026-04-05T01:45:00+11:00",
        "2026-04-06T01:45:00+10:30",
    ]


# -- leap years ----------------------------------------------------------------------------------


def test_february_29_is_found_quickly() -> None:
    schedule = parse_cron("0 0 29 2 *")
    began = time.perf_counter()
    assert schedule.next_after(utc(2025, 3, 1), "UTC") == utc(2028, 2, 29)
    assert schedule.next_after(utc(2096, 3, 1), "UTC") == utc(2104, 2, 29)  # 2100 is no leap year
    assert schedule.next_after(utc(2027, 6, 1), SHANGHAI) == utc(2028, 2, 28, 16)
    assert time.perf_counter() - began < 0.05


def test_no_fire_time_before_the_year_9999() -> None:
    schedule = parse_cron("0 0 29 2 *")
    with pytest.raises(OverflowError):
        schedule.next_after(utc(9996, 3, 1), "UTC")
    assert list(schedule.between(utc(9996, 3, 1), utc(9999, 12, 31), "UTC")) == []


# -- between -------------------------------------------------------------------------------------


def test_between_is_start_exclusive_end_inclusive() -> None:
    schedule = parse_cron("0 */6 * * *")
    got = list(schedule.between(utc(2026, 1, 1), utc(2026, 1, 2), "UTC"))
    assert got == [utc(2026, 1, 1, h) for h in (6, 12, 18)] + [utc(2026, 1, 2)]
    assert list(schedule.between(utc(2026, 1, 2), utc(2026, 1, 1), "UTC")) == []
    assert list(schedule.between(utc(2026, 1, 1), utc(2026, 1, 1, 5, 59), "UTC")) == []


def test_between_consecutive_windows_see_each_fire_time_once() -> None:
    schedule = parse_cron("*/7 * * * *")
    whole = list(schedule.between(utc(2026, 1, 1), utc(2026, 1, 2), BERLIN))
    edges = [utc(2026, 1, 1) + timedelta(minutes=m) for m in range(0, 1441, 55)] + [utc(2026, 1, 2)]
    pieces = [t for a, b in itertools.pairwise(edges) for t in schedule.between(a, b, BERLIN)]
    assert pieces == whole and len(whole) == 24 * 9


def test_between_limit() -> None:
    schedule = parse_cron("* * * * *")
    got = list(schedule.between(utc(2026, 1, 1), utc(2027, 1, 1), "UTC", limit=5))
    assert got == [utc(2026, 1, 1, 0, m) for m in range(1, 6)]
    assert list(schedule.between(utc(2026, 1, 1), utc(2027, 1, 1), "UTC", limit=0)) == []


# -- describe ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "english", "chinese"),
    [
        ("* * * * *", "every minute", "每分钟"),
        ("*/15 * * * *", "every 15 minutes", "每 15 分钟"),
        ("5 * * * *", "every hour at :05", "每小时的第 5 分钟"),
        ("@hourly", "every hour at :00", "每小时整点"),
        ("30 */2 * * *", "every 2 hours at :30", "每 2 小时的第 30 分钟"),
        ("0 9 * * *", "every day at 09:00", "每天 09:00"),
        ("@daily", "every day at 00:00", "每天 00:00"),
        ("0 9,18 * * *", "every day at 09:00 and 18:00", "每天 09:00、18:00"),
        ("0,30 8 * * *", "every day at 08:00 and 08:30", "每天 08:00、08:30"),
        ("0 9 * * 1-5", "every Monday to Friday at 09:00", "每周一至周五 09:00"),
        ("0 9 * * MON-FRI", "every Monday to Friday at 09:00", "每周一至周五 09:00"),
        ("0 10 * * 6,0", "every Saturday and Sunday at 10:00", "每周六、周日 10:00"),
        ("0 10 * * 5-7", "every Friday to Sunday at 10:00", "每周五至周日 10:00"),
        (
            "15 8 * * 1,3,5",
            "every Monday, Wednesday and Friday at 08:15",
            "每周一、周三、周五 08:15",
        ),
        ("@weekly", "every Sunday at 00:00", "每周日 00:00"),
        ("0 0 1 * *", "on day 1 of every month at 00:00", "每月 1 日 00:00"),
        ("0 12 1,15 * *", "on days 1 and 15 of every month at 12:00", "每月 1、15 日 12:00"),
        ("@yearly", "every year on January 1 at 00:00", "每年 1 月 1 日 00:00"),
        ("30 6 5 MAR *", "every year on March 5 at 06:30", "每年 3 月 5 日 06:30"),
    ],
)
def test_describe(expression: str, english: str, chinese: str) -> None:
    schedule = parse_cron(expression)
    assert schedule.describe() == english
    assert schedule.describe("en") == english
    assert schedule.describe("zh-CN") == chinese


@pytest.mark.parametrize(
    "expression",
    [
        "0 0 13 * FRI",  # day OR weekday
        "*/7 * * * *",  # not an even split of the hour
        "*/15 9-17 * * 1-5",
        "0 * * * 1-5",
        "0 9 * 12 *",
        "0 9 1 1,7 *",
        "0 9 */2 * *",
        "0 8-17 * * *",
        "0 0 1 * */2",
    ],
)
def test_describe_falls_back_to_the_expression(expression: str) -> None:
    schedule = parse_cron(expression)
    assert schedule.describe() == schedule.describe("zh-CN") == expression


# -- pydantic ------------------------------------------------------------------------------------


class _Spec(BaseModel):
    schedule: CronExpression


def test_pydantic_field() -> None:
    assert _Spec(schedule=" 0  9 * * MON-FRI").schedule == "0 9 * * MON-FRI"
    assert _Spec.model_validate({"schedule": "@daily"}).schedule == "@daily"
    with pytest.raises(ValidationError) as caught:
        _Spec(schedule="0 0 30 2 *")
    (error,) = caught.value.errors()
    assert error["type"] == "cron.never"
    assert error["loc"] == ("schedule",)
    assert error["msg"].endswith("[cron.never]")
    assert error["ctx"]["field"] == "day"
    with pytest.raises(ValidationError) as caught:
        _Spec(schedule=5)  # type: ignore[arg-type]
    assert caught.value.errors()[0]["type"] == "string_type"
    schema = _Spec.model_json_schema()["properties"]["schedule"]
    assert schema["type"] == "string" and schema["format"] == "cron"


# -- property: the field-by-field search equals a minute-by-minute scan ---------------------------


def _reference_matches(schedule: CronSchedule, wall: datetime) -> bool:
    in_days = wall.day in schedule.days
    in_weekdays = wall.isoweekday() % 7 in schedule.weekdays
    if schedule.day_star or schedule.weekday_star:
        day = in_days and in_weekdays
    else:
        day = in_days or in_weekdays
    return (
        day
        and wall.minute in schedule.minutes
        and wall.hour in schedule.hours
        and wall.month in schedule.months
    )


def _reference(
    schedule: CronSchedule, start: datetime, end: datetime, timezone: str
) -> list[datetime]:
    """Fire times in ``(start, end]`` by walking every UTC minute (the zones have whole-minute
    offsets): a minute fires if its wall time matches -- for fixed-time schedules only on the
    first pass of a repeated hour, plus at the first minute after a gap any skipped wall time
    in the gap matched."""
    zone = ZoneInfo(timezone)
    instant = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    previous = (instant - timedelta(minutes=1)).astimezone(zone).replace(tzinfo=None)
    result = []
    while instant <= end:
        shown = instant.astimezone(zone)
        wall = shown.replace(tzinfo=None)
        if schedule.fixed_time:
            skipped = (
                previous + timedelta(minutes=m)
                for m in range(1, (wall - previous) // timedelta(minutes=1))
            )
            fire = (_reference_matches(schedule, wall) and shown.fold == 0) or any(
                _reference_matches(schedule, w) for w in skipped
            )
        else:
            fire = _reference_matches(schedule, wall)
        if fire:
            result.append(instant)
        previous, instant = wall, instant + timedelta(minutes=1)
    return result


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    single = value.map(str)
    span = st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}")
    step = st.integers(1, high - low + 1)
    return st.one_of(
        st.just("*"),
        step.map(lambda n: f"*/{n}"),
        single,
        span,
        st.tuples(span, step).map(lambda p: f"{p[0]}/{p[1]}"),
        st.tuples(value, step).map(lambda p: f"{p[0]}/{p[1]}"),
        st.lists(st.one_of(single, span), min_size=1, max_size=3).map(",".join),
    )


def _mostly_star(field: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``*`` three times in four, so that most schedules fire within a few days."""
    return st.integers(0, 3).flatmap(lambda k: field if k == 0 else st.just("*"))


_DST_HOURS = st.sampled_from(["1", "2", "1,2", "1-3", "0-23", "2/1", "0-4/2", "*"])
_EXPRESSIONS = st.tuples(
    _field(0, 59),
    st.integers(0, 1).flatmap(lambda k: _DST_HOURS if k else _field(0, 23)),
    _mostly_star(_field(1, 31)),
    _mostly_star(_field(1, 12)),
    _mostly_star(_field(0, 7).filter(lambda text: "/8" not in text)),
).map(" ".join)

HOWE = "Australia/Lord_Howe"
#: 2026 DST transitions: Berlin, New York and Lord Howe (30 minutes), spring and fall.
_TRANSITIONS = [
    (BERLIN, utc(2026, 3, 29, 1)),
    (BERLIN, utc(2026, 10, 25, 1)),
    (NEW_YORK, utc(2026, 3, 8, 7)),
    (NEW_YORK, utc(2026, 11, 1, 6)),
    (HOWE, utc(2026, 4, 4, 15)),
    (HOWE, utc(2026, 10, 3, 15, 30)),
]
#: (time zone, window start): mostly just before or around a transition, else anywhere.
_NEAR_TRANSITION = st.tuples(
    st.sampled_from(_TRANSITIONS),
    st.one_of(st.integers(-3 * 3600, 2 * 3600), st.integers(-48 * 3600, 12 * 3600)),
).map(lambda p: (p[0][0], p[0][1] + timedelta(seconds=p[1])))
_ANYWHERE = st.tuples(
    st.sampled_from([BERLIN, NEW_YORK, SHANGHAI, HOWE, "UTC"]),
    st.datetimes(datetime(2024, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC)),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    expression=_EXPRESSIONS,
    window=st.integers(0, 3).flatmap(lambda k: _ANYWHERE if k == 0 else _NEAR_TRANSITION),
)
def test_search_matches_a_minute_by_minute_scan(
    expression: str, window: tuple[str, datetime]
) -> None:
    timezone, start = window
    try:
        schedule = parse_cron(expression)
    except CronError as error:
        assert error.code == "cron.never"
        return
    end = start + timedelta(days=3)
    expected = _reference(schedule, start, end, timezone)
    assert list(schedule.between(start, end, timezone)) == expected
    if expected:
        assert schedule.next_after(start, timezone) == expected[0]
