"""Tangram extension operators: dates, text, context."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from engines.logic import OPERATORS, ArgumentError, ContextError, compile, evaluate, validate

NOW = datetime(2024, 1, 31, 22, 30, 15, 123456, tzinfo=UTC)
CTX = {
    "now": NOW,
    "user": {"id": 7, "name": "Ada", "roles": ["admin", "hr"], "profile": {"email": "a@x.io"}},
    "department": {"id": 3, "name": "Finance"},
}


def ev(rule: Any, data: Any = None, context: Any = CTX) -> Any:
    result = evaluate(rule, data, context=context)
    assert compile(rule)(data, context=context) == result
    return result


# --- now / today ---------------------------------------------------------------------------


def test_now_is_canonical_utc_and_pinnable() -> None:
    assert ev({"now": []}) == "2024-01-31T22:30:15.123Z"
    assert ev({"now": []}, context={"now": "2024-02-01T01:00:00+02:00"}) == (
        "2024-01-31T23:00:00.000Z"
    )
    real = evaluate({"now": []})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", real)
    parsed = datetime.fromisoformat(real)
    assert abs(parsed - datetime.now(UTC)) < timedelta(minutes=1)


def test_today_uses_timezone() -> None:
    assert ev({"today": []}) == "2024-01-31"
    assert ev({"today": []}, context={**CTX, "timezone": "Asia/Tokyo"}) == "2024-02-01"
    assert ev({"today": []}, context={"now": "2024-03-05"}) == "2024-03-05"
    with pytest.raises(ContextError):
        evaluate({"today": []}, context={"timezone": "Mars/Olympus"})
    with pytest.raises(ContextError):
        evaluate({"now": []}, context={"now": "yesterday"})


# --- date ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01", "2024-05-01"),
        (" 2024-05-01 ", "2024-05-01"),
        ("2024-05-01T12:30", "2024-05-01T12:30:00.000Z"),
        ("2024-05-01 12:30:05.5", "2024-05-01T12:30:05.500Z"),
        ("2024-05-01T12:30:00+02:00", "2024-05-01T10:30:00.000Z"),
        ("2024-05-01T12:30:00Z", "2024-05-01T12:30:00.000Z"),
        (date(2024, 5, 1), "2024-05-01"),
        (datetime(2024, 5, 1, 9, tzinfo=timezone(timedelta(hours=-5))), "2024-05-01T14:00:00.000Z"),
        ("2024-02-30", None),
        ("not a date", None),
        (None, None),
        (20240501, None),
    ],
)
def test_date(value: Any, expected: Any) -> None:
    assert ev({"date": {"var": "v"}}, {"v": value}) == expected


# --- date_add ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "amount", "unit", "expected"),
    [
        ("2024-01-31", 1, "days", "2024-02-01"),
        ("2024-01-31", -2, "weeks", "2024-01-17"),
        ("2024-01-31", 1, "months", "2024-02-29"),
        ("2023-01-31", 1, "month", "2023-02-28"),
        ("2024-02-29", 1, "years", "2025-02-28"),
        ("2024-03-31", -1, "months", "2024-02-29"),
        ("2024-01-31", 2.9, "months", "2024-03-31"),
        ("2024-01-31", 36, "hours", "2024-02-01T12:00:00.000Z"),
        ("2024-01-31", 0.5, "days", "2024-01-31T12:00:00.000Z"),
        ("2024-01-31T23:59:59Z", 1, "seconds", "2024-02-01T00:00:00.000Z"),
        ("2024-01-31T10:00:00+01:00", 90, "minutes", "2024-01-31T10:30:00.000Z"),
        ("2024-01-31T10:00:00Z", "2", "days", "2024-02-02T10:00:00.000Z"),
        ("2024-01-31", "x", "days", None),
        ("garbage", 1, "days", None),
        (None, 1, "days", None),
        ("9999-12-31", 1, "days", None),
        ("9999-12-31", 1, "years", None),
    ],
)
def test_date_add(value: Any, amount: Any, unit: str, expected: Any) -> None:
    assert (
        ev({"date_add": [{"var": "v"}, {"var": "n"}, unit]}, {"v": value, "n": amount}) == expected
    )


def test_date_add_with_now_and_dynamic_unit() -> None:
    assert ev({"date_add": [{"now": []}, 1, "days"]}) == "2024-02-01T22:30:15.123Z"
    assert ev({"date_add": ["2024-01-01", 1, {"var": "u"}]}, {"u": "weeks"}) == "2024-01-08"
    assert ev({"date_add": ["2024-01-01", 1, {"var": "u"}]}, {"u": "fortnights"}) is None


# --- date_diff -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "unit", "expected"),
    [
        ("2024-03-01", "2024-02-01", "days", 29),
        ("2024-02-01", "2024-03-01", "days", -29),
        ("2024-03-01", "2024-02-01", "weeks", 29 / 7),
        ("2024-01-15", "2024-01-01", "weeks", 2),
        ("2024-01-02T12:00:00Z", "2024-01-01", "days", 1.5),
        ("2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", "hours", 0),
        ("2024-01-01T00:01:30Z", "2024-01-01T00:00:00Z", "minutes", 1.5),
        ("2024-01-01T00:00:01.5Z", "2024-01-01T00:00:00Z", "seconds", 1.5),
        ("2024-02-29", "2024-01-31", "months", 0),
        ("2024-03-31", "2024-01-31", "months", 2),
        ("2024-01-31", "2024-03-31", "months", -2),
        ("2024-03-30", "2024-01-31", "months", 1),
        ("2025-01-30", "2024-01-31", "years", 0),
        ("2025-01-31", "2024-01-31", "years", 1),
        ("2020-06-01", "2024-01-31", "years", -3),
        ("bad", "2024-01-31", "days", None),
        (None, "2024-01-31", "days", None),
    ],
)
def test_date_diff(a: Any, b: Any, unit: str, expected: Any) -> None:
    result = ev({"date_diff": [{"var": "a"}, {"var": "b"}, unit]}, {"a": a, "b": b})
    assert result == expected
    if isinstance(expected, int):
        assert type(result) is int


def test_date_aware_comparison_via_date_diff() -> None:
    rule = {">": [{"date_diff": [{"now": []}, {"var": "due"}, "days"]}, 3]}
    assert ev(rule, {"due": "2024-01-27"}) is True
    assert ev(rule, {"due": "2024-01-29T00:00:00+01:00"}) is False
    # Lexicographic comparison works for values in the same canonical form.
    assert ev({"<": [{"var": "due"}, {"today": []}]}, {"due": "2024-01-30"}) is True


@pytest.mark.parametrize("op", ["date_add", "date_diff"])
def test_unknown_literal_unit_is_rejected(op: str) -> None:
    with pytest.raises(ArgumentError) as info:
        validate({op: ["2024-01-01", 1, "fortnights"]})
    assert info.value.path == f"$.{op}[2]"


# --- text and collections ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"contains": ["Springfield", "field"]}, True),
        ({"contains": ["Springfield", "Field"]}, False),
        ({"contains": ["a1b", 1]}, True),
        ({"contains": ["null", None]}, False),
        ({"contains": [["a", "b"], "b"]}, True),
        ({"contains": [[1, 2], "1"]}, False),
        ({"contains": [[1, 2], 2.0]}, True),
        ({"contains": [[True], 1]}, False),
        ({"contains": [None, "a"]}, False),
        ({"contains": [{"var": "n"}, {"var": "n"}]}, False),
        ({"starts_with": ["Tangram", "Tan"]}, True),
        ({"starts_with": ["Tangram", "tan"]}, False),
        ({"starts_with": [12345, 12]}, True),
        ({"starts_with": [None, ""]}, False),
        ({"ends_with": ["report.pdf", ".pdf"]}, True),
        ({"ends_with": ["report.pdf", None]}, False),
        ({"ends_with": [["a"], "a"]}, False),
        ({"lower": ["ÀBC"]}, "àbc"),
        ({"upper": ["straße"]}, "STRASSE"),
        ({"lower": [None]}, None),
        ({"upper": [1.5]}, "1.5"),
        ({"length": ["héllo"]}, 5),
        ({"length": ["😀"]}, 1),
        ({"length": [[1, 2, 3]]}, 3),
        ({"length": [None]}, 0),
        ({"length": [12]}, None),
        ({"is_empty": [None]}, True),
        ({"is_empty": [""]}, True),
        ({"is_empty": [[]]}, True),
        ({"is_empty": [" "]}, False),
        ({"is_empty": [0]}, False),
        ({"is_empty": [False]}, False),
    ],
)
def test_text_operators(rule: Any, expected: Any) -> None:
    assert ev(rule, {"n": [float("nan")]}) == expected


def test_contains_on_data_and_case_insensitive_idiom() -> None:
    rule = {"contains": [{"lower": {"var": "title"}}, "urgent"]}
    assert ev(rule, {"title": "URGENT: pay invoice"}) is True
    assert ev({"contains": [{"var": "tags"}, "vip"]}, {"tags": ["new", "vip"]}) is True
    assert ev({"length": {"var": "d"}}, {"d": {"a": 1, "b": 2}}) == 2


# --- context -------------------------------------------------------------------------------


def test_current_user_and_department() -> None:
    assert ev({"current_user": []}) == CTX["user"]
    assert ev({"current_user": "id"}) == 7
    assert ev({"current_user": ["profile.email"]}) == "a@x.io"
    assert ev({"current_user": ["profile.phone", "n/a"]}) == "n/a"
    assert ev({"in": ["hr", {"current_user": "roles"}]}) is True
    assert ev({"current_department": []}) == {"id": 3, "name": "Finance"}
    assert ev({"current_department": "name"}) == "Finance"
    assert ev({"current_user": "id"}, context={}) is None
    assert ev({"current_user": ["id", -1]}, context={}) == -1
    assert ev({"current_user": [{"var": "field"}]}, {"field": "name"}) == "Ada"
    rule = {"==": [{"var": "owner_id"}, {"current_user": "id"}]}
    assert ev(rule, {"owner_id": 7}) is True
    assert ev(rule, {"owner_id": "7"}) is True
    assert ev(rule, {"owner_id": 8}) is False


def test_context_does_not_leak_into_var() -> None:
    assert ev({"var": "user"}, {}) is None


# --- documentation -------------------------------------------------------------------------


def test_every_operator_is_documented() -> None:
    readme = (Path(__file__).parents[3] / "engines" / "logic" / "README.md").read_text("utf-8")
    headings = set(re.findall(r"^#{3,4} .*$", readme, flags=re.MULTILINE))
    documented = {name for line in headings for name in re.findall(r"`([^`]+)`", line)}
    missing = [op for op in OPERATORS.types() if op not in documented]
    assert missing == []
