"""Business-hours calendars: validation codes, arithmetic (DST, holidays, 调休), shipped data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engines.rules.calendar import (
    BusinessCalendar,
    CalendarError,
    load_calendar,
    parse_calendar,
    shipped_calendars,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
CN = load_calendar("cn_workdays_2026_2027")
STANDARD = load_calendar("standard_weekdays")


def calendar(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": "office",
        "name": {"en": "Office", "zh-CN": "办公室"},
        "timezone": "Europe/Berlin",
        "weekly": {str(d): [["09:00", "17:00"]] for d in range(5)},
    }
    return {**base, **changes}


BERLIN_OFFICE = parse_calendar(calendar())
#: Every second of every day: real elapsed time, so DST days last 23 or 25 hours.
BERLIN_ALWAYS = parse_calendar(calendar(weekly={str(d): [["00:00", "24:00"]] for d in range(7)}))
#: Odd hours on purpose: Sunday nights cross the DST changes, Saturday works all day,
#: Christmas is off and the Sunday after it works Monday's hours.
BERLIN_SHIFTS = parse_calendar(
    calendar(
        weekly={
            **{str(d): [["08:00", "12:00"], ["13:00", "17:00"]] for d in range(5)},
            "5": [["00:00", "24:00"]],
            "6": [["01:00", "04:00"], ["22:30:15", "24:00"]],
        },
        holidays=[{"start": "2026-12-24", "end": "2026-12-26", "name": {"en": "Christmas"}}],
        workdays=[{"date": "2026-12-27"}],
    )
)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def be(*args: int, fold: int = 0) -> datetime:
    """The instant Berlin clocks read ``args`` (in UTC: aware datetimes that share a tzinfo
    compare and subtract as wall-clock times, which is wrong across a DST change)."""
    return datetime(*args, tzinfo=BERLIN, fold=fold).astimezone(UTC)  # type: ignore[misc]


# -- worked examples ------------------------------------------------------------------------------


def test_friday_evening_plus_two_hours_is_monday_ten() -> None:
    due = CN.add_business(sh(2026, 3, 6, 17), 2 * H)  # a Friday; work ends at 18:00
    assert due == sh(2026, 3, 9, 10)
    assert due.tzinfo == SHANGHAI and due.weekday() == 0


def test_standard_weekdays_from_utc() -> None:
    assert STANDARD.add_business(datetime(2026, 3, 6, 16, tzinfo=UTC), 2 * H) == datetime(
        2026, 3, 9, 10, tzinfo=UTC
    )


def test_result_at_the_end_of_an_interval_is_that_end() -> None:
    assert CN.add_business(sh(2026, 3, 6, 17), H) == sh(2026, 3, 6, 18)
    assert CN.add_business(sh(2026, 3, 6, 11), H) == sh(2026, 3, 6, 12)
    assert CN.add_business(sh(2026, 3, 6, 11), 90 * timedelta(minutes=1)) == sh(2026, 3, 6, 14)


def test_start_in_non_working_time_counts_from_the_next_working_moment() -> None:
    assert CN.add_business(sh(2026, 3, 7, 15), H) == sh(2026, 3, 9, 10)  # Saturday
    assert CN.add_business(sh(2026, 3, 9, 12, 15), H) == sh(2026, 3, 9, 14, 30)  # lunch
    assert CN.add_business(sh(2026, 3, 9, 6), timedelta(0)) == sh(2026, 3, 9, 9)
    assert CN.next_working(sh(2026, 3, 9, 9, 30)) == sh(2026, 3, 9, 9, 30)
    assert CN.next_working(sh(2026, 3, 9, 18)) == sh(2026, 3, 10, 9)  # ranges are half-open


def test_exact_to_the_microsecond() -> None:
    start = sh(2026, 3, 9, 17, 59, 59, 999_999)
    assert CN.add_business(start, timedelta(microseconds=2)) == sh(2026, 3, 10, 9, 0, 0, 1)
    assert CN.business_between(start, sh(2026, 3, 10, 9, 0, 0, 1)) == timedelta(microseconds=2)


def test_across_the_national_day_week_and_its_make_up_saturday() -> None:
    # Wed 30 Sep: 1 h left; 1-7 Oct off; Thu 8 Oct 09:00 + 1 h.
    assert CN.add_business(sh(2026, 9, 30, 17), 2 * H) == sh(2026, 10, 8, 10)
    # Fri 9 Oct 17:00: Saturday 10 Oct is a 调休 workday.
    assert CN.add_business(sh(2026, 10, 9, 17), 2 * H) == sh(2026, 10, 10, 10)
    # 7.5 h on 30 Sep, 8 and 9 Oct; 10 Oct is a make-up workday.
    assert CN.business_between(sh(2026, 9, 30), sh(2026, 10, 11)) == timedelta(hours=30)


def test_across_spring_festival() -> None:
    # Sat 14 Feb 2026 is a make-up workday; 15-23 Feb are off.
    assert CN.add_business(sh(2026, 2, 13, 17), 2 * H) == sh(2026, 2, 14, 10)
    assert CN.add_business(sh(2026, 2, 14, 17), 2 * H) == sh(2026, 2, 24, 10)
    assert CN.business_between(sh(2026, 2, 14, 18), sh(2026, 2, 24, 9)) == timedelta(0)


def test_office_hours_across_the_spring_forward_weekend() -> None:
    start = be(2026, 3, 27, 16)  # Friday, CET (+01:00)
    due = BERLIN_OFFICE.add_business(start, 2 * H)
    assert due == be(2026, 3, 30, 10)  # Monday, CEST (+02:00)
    assert due.utcoffset() == 2 * H and due.astimezone(UTC).hour == 8
    assert BERLIN_OFFICE.business_between(start, due) == 2 * H


def test_dst_days_last_23_and_25_hours() -> None:
    assert BERLIN_ALWAYS.business_between(be(2026, 3, 29), be(2026, 3, 30)) == 23 * H
    assert BERLIN_ALWAYS.business_between(be(2026, 10, 25), be(2026, 10, 26)) == 25 * H
    assert BERLIN_ALWAYS.add_business(be(2026, 3, 28, 12), 24 * H) == be(2026, 3, 29, 13)
    assert BERLIN_ALWAYS.add_business(be(2026, 10, 24, 12), 24 * H) == be(2026, 10, 25, 11)


def test_ranges_across_the_clock_changes_count_real_time() -> None:
    # Sunday 01:00-04:00: 2 h when 02:00-03:00 is skipped, 4 h when it is repeated.
    assert BERLIN_SHIFTS.business_between(be(2026, 3, 29), be(2026, 3, 29, 12)) == 2 * H
    assert BERLIN_SHIFTS.business_between(be(2026, 10, 25), be(2026, 10, 25, 12)) == 4 * H
    # The repeated hour: 02:30 first time (CEST) + 1 h is 02:30 the second time (CET). (PEP 495:
    # a time in the fold never equals one in another zone, so compare in UTC.)
    due = BERLIN_SHIFTS.add_business(be(2026, 10, 25, 2, 30), H)
    assert (due.hour, due.minute, due.fold) == (2, 30, 1)
    assert due.astimezone(UTC) == be(2026, 10, 25, 2, 30, fold=1)
    in_gap = parse_calendar(calendar(weekly={"6": [["02:15", "02:45"]], "0": [["09:00", "10:00"]]}))
    assert in_gap.business_between(be(2026, 3, 29), be(2026, 3, 30)) == timedelta(0)
    assert in_gap.business_between(be(2026, 3, 22), be(2026, 3, 23)) == timedelta(minutes=30)


def test_holidays_and_workdays_of_a_custom_calendar() -> None:
    assert not BERLIN_SHIFTS.is_working(be(2026, 12, 26, 12))  # a holiday Saturday
    assert BERLIN_SHIFTS.is_working(be(2026, 12, 27, 9))  # a Sunday working Monday's hours
    assert not BERLIN_SHIFTS.is_working(be(2026, 12, 27, 2))  # ... and not Sunday's
    assert BERLIN_SHIFTS.add_business(be(2026, 12, 23, 16), 2 * H) == be(2026, 12, 27, 9)
    assert BERLIN_SHIFTS.is_working(be(2026, 12, 20, 22, 30, 15))
    assert not BERLIN_SHIFTS.is_working(be(2026, 12, 20, 22, 30, 14))


def test_long_durations_are_fast_and_consistent() -> None:
    start = sh(2026, 1, 1)
    due = CN.add_business(start, 400 * H)
    assert due == sh(2026, 3, 24, 11, 30)
    assert CN.business_between(start, due) == 400 * H
    far = STANDARD.add_business(datetime(2026, 1, 5, 9, tzinfo=UTC), 8 * 260 * 10 * H)
    assert far.year == 2035


def test_intervals() -> None:
    spans = list(CN.intervals(sh(2026, 9, 30, 10), sh(2026, 10, 10, 9, 30)))
    assert spans == [
        (sh(2026, 9, 30, 10), sh(2026, 9, 30, 12)),
        (sh(2026, 9, 30, 13, 30), sh(2026, 9, 30, 18)),
        (sh(2026, 10, 8, 9), sh(2026, 10, 8, 12)),
        (sh(2026, 10, 8, 13, 30), sh(2026, 10, 8, 18)),
        (sh(2026, 10, 9, 9), sh(2026, 10, 9, 12)),
        (sh(2026, 10, 9, 13, 30), sh(2026, 10, 9, 18)),
        (sh(2026, 10, 10, 9), sh(2026, 10, 10, 9, 30)),
    ]
    assert list(CN.intervals(sh(2026, 10, 2), sh(2026, 10, 1))) == []


def test_business_between_is_zero_unless_b_after_a() -> None:
    assert CN.business_between(sh(2026, 3, 9, 12), sh(2026, 3, 9, 10)) == timedelta(0)
    assert CN.business_between(sh(2026, 3, 9, 10), sh(2026, 3, 9, 10)) == timedelta(0)


def test_pauses_are_subtracted_span_by_span() -> None:
    opened, closed = sh(2026, 3, 9, 10), sh(2026, 3, 11, 10)
    paused = [(sh(2026, 3, 9, 17), sh(2026, 3, 10, 10))]  # waiting on the customer
    elapsed = CN.business_between(opened, closed) - sum(
        (CN.business_between(a, b) for a, b in paused), timedelta(0)
    )
    assert elapsed == timedelta(hours=15) - 2 * H


# -- properties -----------------------------------------------------------------------------------

CALENDARS = st.sampled_from([CN, BERLIN_SHIFTS, BERLIN_OFFICE, STANDARD])
STARTS = st.datetimes(
    min_value=datetime(2025, 12, 1), max_value=datetime(2027, 12, 31), allow_imaginary=False
)
DURATIONS = st.integers(min_value=0, max_value=400 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, STARTS, DURATIONS, st.sampled_from([SHANGHAI, BERLIN, UTC]))
def test_business_between_inverts_add_business(
    cal: BusinessCalendar, naive: datetime, duration: timedelta, zone: ZoneInfo
) -> None:
    start = naive.replace(tzinfo=zone)
    due = cal.add_business(start, duration)
    assert due.astimezone(UTC) >= start.astimezone(UTC)
    assert cal.business_between(start, due) == duration
    if duration:
        assert cal.is_working(due - timedelta(microseconds=1))


@settings(max_examples=100, deadline=None)
@given(CALENDARS, STARTS, DURATIONS, DURATIONS)
def test_add_business_composes(
    cal: BusinessCalendar, naive: datetime, first: timedelta, second: timedelta
) -> None:
    start = naive.replace(tzinfo=cal.zone)
    assert cal.add_business(cal.add_business(start, first), second) == cal.add_business(
        start, first + second
    )


@settings(max_examples=60, deadline=None)
@given(CALENDARS, STARTS, st.integers(min_value=0, max_value=20 * 86400))
def test_business_between_sums_the_intervals(
    cal: BusinessCalendar, naive: datetime, seconds: int
) -> None:
    a = naive.replace(tzinfo=cal.zone).astimezone(UTC)
    b = a + timedelta(seconds=seconds)
    spans = [(begin.astimezone(UTC), end.astimezone(UTC)) for begin, end in cal.intervals(a, b)]
    assert cal.business_between(a, b) == sum((end - begin for begin, end in spans), timedelta(0))
    for begin, end in spans:
        assert a <= begin < end <= b and cal.is_working(begin)
        assert cal.is_working(end - timedelta(microseconds=1))
    for (_, end), (begin, _) in pairwise(spans):
        assert end < begin and not cal.is_working(end)


# -- validation -----------------------------------------------------------------------------------

BAD = [
    (calendar(timezone="Mars/Olympus_Mons"), "calendar.unknown_timezone", "timezone"),
    (calendar(timezone="../etc/passwd"), "calendar.unknown_timezone", "timezone"),
    (
        calendar(weekly={"0": [["09:00", "12:00"], ["11:30", "18:00"]]}),
        "calendar.overlapping_ranges",
        "weekly.0[1]",
    ),
    (
        calendar(weekly={"3": [["13:00", "18:00"], ["09:00", "13:30"]]}),
        "calendar.overlapping_ranges",
        "weekly.3[1]",
    ),
    (calendar(weekly={"2": [["10:00", "09:00"]]}), "calendar.bad_range", "weekly.2[0]"),
    (calendar(weekly={"2": [["10:00", "10:00"]]}), "calendar.bad_range", "weekly.2[0]"),
    (calendar(weekly={"1": [["9:00", "17:00"]]}), "calendar.bad_time", "weekly.1[0]"),
    (calendar(weekly={"1": [["09:00", "12:60"]]}), "calendar.bad_time", "weekly.1[0]"),
    (calendar(weekly={"1": [["24:00", "24:00"]]}), "calendar.bad_time", "weekly.1[0]"),
    (calendar(weekly={"1": [["08:00", "24:01"]]}), "calendar.bad_time", "weekly.1[0]"),
    (calendar(weekly={"7": [["09:00", "17:00"]]}), "calendar.bad_weekday", "weekly.7"),
    (
        calendar(holidays=["2026-01-01", {"start": "2026-05-05", "end": "2026-05-01"}]),
        "calendar.bad_range",
        "holidays[1]",
    ),
    (
        calendar(
            holidays=[{"start": "2026-10-01", "end": "2026-10-07"}],
            workdays=[{"date": "2026-10-10"}, {"date": "2026-10-03"}],
        ),
        "calendar.holiday_and_workday",
        "workdays[1]",
    ),
    (
        calendar(workdays=[{"date": "2026-10-10"}, {"date": "2026-10-10"}]),
        "calendar.duplicate_workday",
        "workdays[1]",
    ),
    (
        calendar(workdays=[{"date": "2026-10-10", "like": 6}]),
        "calendar.empty_workday",
        "workdays[0]",
    ),
    (
        calendar(workdays=[{"date": "2026-10-10", "like": 9}]),
        "calendar.bad_weekday",
        "workdays[0].like",
    ),
    (
        calendar(workdays=[{"date": "2026-10-10", "hours": [["18:00", "09:00"]]}]),
        "calendar.bad_range",
        "workdays[0].hours[0]",
    ),
    (calendar(weekly={}), "calendar.empty_calendar", ""),
    (calendar(weekly={str(d): [] for d in range(7)}), "calendar.empty_calendar", ""),
    (calendar(name={"fr": "Bureau"}), "calendar.unknown_locale", "name"),
    (
        calendar(holidays=["2026-01-01", {"start": "2026-05-01", "name": {"de": "Maifeiertag"}}]),
        "calendar.unknown_locale",
        "holidays[1].name",
    ),
    (calendar(weekly={"0": "09:00-17:00"}), "calendar.invalid", "weekly.0"),
    (calendar(holidays=[{"start": "2026-02-30"}]), "calendar.invalid", "holidays[0].start"),
    (calendar(colour="blue"), "calendar.invalid", "colour"),
]


@pytest.mark.parametrize(("data", "code", "path"), BAD)
def test_bad_calendars_are_refused_with_code_and_path(data: Any, code: str, path: str) -> None:
    with pytest.raises(CalendarError) as caught:
        parse_calendar(data)
    error = caught.value
    assert (error.code, error.path) == (code, path)
    assert error.to_dict()["field"] == path
    assert error.message("en") != error.message("zh-CN")
    assert "{" not in error.message("en") + error.message("zh-CN")


def test_a_calendar_of_make_up_days_only_is_valid() -> None:
    only = parse_calendar(
        calendar(weekly={}, workdays=[{"date": "2026-01-03", "hours": [["09:00", "10:00"]]}])
    )
    assert only.add_business(be(2026, 1, 1), 30 * timedelta(minutes=1)) == be(2026, 1, 3, 9, 30)


def test_no_working_time_in_five_years_is_a_clear_error() -> None:
    only = parse_calendar(
        calendar(weekly={}, workdays=[{"date": "2026-01-03", "hours": [["09:00", "10:00"]]}])
    )
    with pytest.raises(CalendarError) as caught:
        only.add_business(be(2026, 1, 1), 2 * H)
    assert caught.value.code == "calendar.no_working_time"
    assert "5" in caught.value.message("en") and "5" in caught.value.message("zh-CN")
    with pytest.raises(CalendarError, match=r"no_working_time"):
        only.next_working(be(2026, 1, 3, 10))
    blocked = parse_calendar(calendar(holidays=[{"start": "2026-01-01", "end": "2032-12-31"}]))
    with pytest.raises(CalendarError, match=r"no_working_time"):
        blocked.add_business(be(2026, 1, 1), H)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: CN.add_business(datetime(2026, 3, 9, 10), H), "calendar.naive_datetime"),
        (lambda: CN.is_working(datetime(2026, 3, 9, 10)), "calendar.naive_datetime"),
        (
            lambda: CN.business_between(sh(2026, 3, 9), datetime(2026, 3, 10)),
            "calendar.naive_datetime",
        ),
        (lambda: CN.add_business(sh(2026, 3, 9), -H), "calendar.negative_duration"),
        (
            lambda: STANDARD.add_business(datetime(9999, 1, 1, tzinfo=UTC), 9000 * H),
            "calendar.out_of_range",
        ),
        (lambda: load_calendar("../pyproject"), "calendar.unknown_calendar"),
        (lambda: load_calendar("nowhere"), "calendar.unknown_calendar"),
    ],
)
def test_bad_arguments(call: Any, code: str) -> None:
    with pytest.raises(CalendarError) as caught:
        call()
    assert caught.value.code == code


def test_overlapping_and_adjacent_holidays_join() -> None:
    cal = parse_calendar(
        calendar(
            holidays=[
                {"start": "2026-05-04", "end": "2026-05-06"},
                {"start": "2026-05-01", "end": "2026-05-05"},
                "2026-05-07",
                "2026-05-11",
            ]
        )
    )
    off = [d for d in range(1, 15) if cal.is_holiday(date(2026, 5, d))]
    assert off == [1, 2, 3, 4, 5, 6, 7, 11]


def test_holiday_shorthands_and_round_trip() -> None:
    cal = parse_calendar(
        calendar(holidays=["2026-01-01", {"date": "2026-01-02", "name": {"en": "Bridge"}}])
    )
    assert [(h.start, h.last) for h in cal.holidays] == [
        (date(2026, 1, 1), date(2026, 1, 1)),
        (date(2026, 1, 2), date(2026, 1, 2)),
    ]
    for shipped in (CN, cal):
        shipped.is_working(sh(2026, 1, 5, 10))  # fills the memo: not part of the value
        again = parse_calendar(json.loads(json.dumps(shipped.model_dump(mode="json"))))
        assert again == shipped


# -- the shipped calendars ------------------------------------------------------------------------


def test_shipped_calendars_load() -> None:
    assert shipped_calendars() == ["cn_workdays_2026_2027", "standard_weekdays"]
    for name in shipped_calendars():
        assert load_calendar(name).key == name
    assert load_calendar("standard_weekdays").timezone == "UTC"
    assert not STANDARD.holidays and not STANDARD.workdays


def test_china_hours_have_a_lunch_break() -> None:
    assert CN.timezone == "Asia/Shanghai"
    assert CN.is_working(sh(2026, 3, 9, 9)) and CN.is_working(sh(2026, 3, 9, 17, 59))
    assert not CN.is_working(sh(2026, 3, 9, 12, 30)) and not CN.is_working(sh(2026, 3, 9, 18))
    assert CN.business_between(sh(2026, 3, 9), sh(2026, 3, 10)) == timedelta(hours=7.5)


def test_china_national_day_2026() -> None:
    for day in range(1, 8):
        assert not CN.is_working_day(date(2026, 10, day))
        assert not CN.is_working(sh(2026, 10, day, 10))
    assert CN.is_working_day(date(2026, 10, 8))


def test_china_2026_matches_the_notice() -> None:
    """Every weekday off and every weekend day on in 2026, as the notice of 2025-11-04 has them."""
    weekdays_off, weekends_on = [], []
    day = date(2026, 1, 1)
    while day.year == 2026:
        weekend = day.weekday() >= 5
        if CN.is_working_day(day) == weekend:
            (weekends_on if weekend else weekdays_off).append(day.isoformat())
        day += timedelta(days=1)
    assert weekdays_off == [
        "2026-01-01", "2026-01-02",
        "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",
        "2026-04-06",
        "2026-05-01", "2026-05-04", "2026-05-05",
        "2026-06-19",
        "2026-09-25",
        "2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07",
    ]  # fmt: skip
    assert weekends_on == [
        "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"
    ]  # fmt: skip


def test_china_make_up_workdays_are_weekend_days_working_monday_hours() -> None:
    for workday in CN.workdays:
        assert workday.date.weekday() >= 5
        assert CN.hours_on(workday.date) == CN.hours_on(date(2026, 3, 9))
        assert workday.name["zh-CN"].startswith("调休上班")


def test_china_2027_is_provisional_statutory_days() -> None:
    years = CN.years
    assert not years[2026].provisional and years[2027].provisional
    assert years[2026].source is not None
    assert years[2026].source.title == "国务院办公厅关于2026年部分节假日安排的通知"
    assert years[2026].source.url and years[2026].source.url.startswith("https://www.gov.cn/")
    assert "2027" in years[2027].note and years[2027].source is not None
    assert all(h.provisional == (h.start.year == 2027) for h in CN.holidays)
    off = {
        "2027-01-01",  # 元旦 (Fri)
        "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10",  # 除夕 .. 初三, 补假 Tue/Wed
        "2027-04-05",  # 清明 (Mon)
        "2027-05-03", "2027-05-04",  # 1-2 May are a weekend: 补假 Mon/Tue
        "2027-06-09",  # 端午 (Wed)
        "2027-09-15",  # 中秋 (Wed)
        "2027-10-01", "2027-10-04", "2027-10-05",  # 2-3 Oct are a weekend: 补假 Mon/Tue
    }  # fmt: skip
    day = date(2027, 1, 1)
    while day.year == 2027:
        assert CN.is_working_day(day) == (day.weekday() < 5 and day.isoformat() not in off), day
        day += timedelta(days=1)


def test_china_coverage() -> None:
    assert CN.covers(date(2026, 6, 1)) and CN.covers(date(2027, 12, 31))
    assert not CN.covers(date(2028, 1, 3)) and not STANDARD.covers(date(2026, 1, 1))
    assert CN.is_working_day(date(2028, 1, 3))  # past the data: weekly hours only


def test_data_files_are_package_data() -> None:
    data = resources.files("engines.rules") / "data"
    names = sorted(p.name for p in data.iterdir() if p.name.endswith(".json"))
    assert names == [f"{n}.json" for n in shipped_calendars()]
