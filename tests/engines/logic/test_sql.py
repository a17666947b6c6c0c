"""JsonLogic -> SQL compiler: operator by operator, on SQLite and PostgreSQL.

Every case runs the compiled condition on the probe table and checks it against
the evaluator row by row (``Probe.check``), that it is two-valued, and against
the ids written here.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from engines.logic import ArityError, LogicError
from engines.logic.sql import NotSqlError, SqlField, UnknownFieldError, compile_condition
from engines.logic.sql.compiler import SPECIAL_LOWER, SPECIAL_UPPER

from .sql_probe import CONTEXT, FIELDS, Probe, utc

ROWS: list[tuple[Any, ...]] = [
    # id, name, code, n, amount, flag, day, at, tags
    (1, "Alice", "A-1", 5, "5.50", True, date(2024, 5, 1), "2024-05-01T12:30:15.123456", ["VIP", "a"]),  # noqa: E501
    (2, "alice", "a-1", 0, "0", False, date(2024, 4, 30), "2024-04-30T23:59:59.999500", []),
    (3, "", "", -7, "-2.25", None, None, None, None),
    (4, None, None, None, None, None, None, None, None),
    (5, "张三", "5", 42, "0.10", True, date(2024, 4, 24), "2024-05-01T12:30:15.123999", ["客户"]),
    (6, "a%b", "INV-001", 1, "0.20", False, date(2023, 12, 31), "2024-05-01T00:00:00", ["a", "b"]),
    (7, "ÄBC", "0x10", 100, "100", True, date(2024, 5, 2), "2023-01-01T08:00:00", [""]),
    (8, "\u212aelvin", "inv-002", 7, "0.30", None, date(2024, 2, 29), "2024-04-30T16:00:00", ["A"]),
    (9, "straße", " 5 ", -1, "-0.01", False, date(999, 1, 1), "2024-05-01T12:30:15.124", ["5"]),
    (10, "a_b", "7", 2**40, "5", True, date(2024, 5, 1), None, []),
]  # fmt: skip
COLUMNS = ("id", "name", "code", "n", "amount", "flag", "day", "at", "tags")
ALL = set(range(1, 11))


def _row(values: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(COLUMNS, values, strict=True))
    row["amount"] = None if row["amount"] is None else Decimal(row["amount"])
    row["at"] = None if row["at"] is None else utc(row["at"])
    return row


@pytest.fixture(scope="module")
def probe(db_url: str) -> Iterator[Probe]:
    db = Probe(db_url)
    db.load([_row(values) for values in ROWS])
    yield db
    db.close()


def v(name: str) -> dict[str, Any]:
    return {"var": name}


CASES: list[tuple[str, Any, set[int]]] = [
    # --- equality and JS coercion ---
    ("text ==", {"==": [v("name"), "Alice"]}, {1}),
    ("text == is case-sensitive", {"==": [v("name"), "alice"]}, {2}),
    ("text != keeps NULL rows", {"!=": [v("name"), "Alice"]}, ALL - {1}),
    ("== null is IS NULL", {"==": [v("name"), None]}, {4}),
    ("null == text", {"==": [None, v("code")]}, {4}),
    ("=== null", {"===": [v("n"), None]}, {4}),
    ("!== null", {"!==": [v("tags"), None]}, ALL - {3, 4}),
    ("number == numeric string", {"==": [v("n"), "5"]}, {1}),
    ("number == ' 7 '", {"==": [v("n"), " 7 "]}, {8}),
    ("number == '' is 0", {"==": [v("n"), ""]}, {2}),
    ("number == hex string", {"==": [v("n"), "0x64"]}, {7}),
    ("number == junk string", {"==": [v("n"), "abc"]}, set()),
    ("number === string", {"===": [v("n"), "5"]}, set()),
    ("number == true", {"==": [v("n"), True]}, {6}),
    ("number == [5]", {"==": [v("n"), [5]]}, {1}),
    ("decimal == float", {"==": [v("amount"), 0.3]}, {8}),
    ("decimal == int", {"==": [v("amount"), 5]}, {10}),
    ("boolean == 1", {"==": [v("flag"), 1]}, {1, 5, 7, 10}),
    ("boolean == '0'", {"==": [v("flag"), "0"]}, {2, 6, 9}),
    ("boolean === false", {"===": [v("flag"), False]}, {2, 6, 9}),
    ("boolean != true", {"!=": [v("flag"), True]}, ALL - {1, 5, 7, 10}),
    ("text == text field", {"==": [v("name"), v("code")]}, {3, 4}),
    ("number == boolean field", {"==": [v("n"), v("flag")]}, {2, 4}),
    ("number === decimal field", {"===": [v("n"), v("amount")]}, {2, 4, 7}),
    ("date == canonical", {"==": [v("day"), "2024-05-01"]}, {1, 10}),
    ("date == non-canonical", {"==": [v("day"), "2024-5-1"]}, set()),
    ("date == datetime string", {"==": [v("day"), "2024-05-01T00:00:00.000Z"]}, set()),
    ("datetime == now (ms)", {"==": [v("at"), {"now": []}]}, {1, 5}),
    ("datetime == datetime field", {"==": [v("at"), v("at")]}, ALL),
    ("array == null", {"==": [v("tags"), None]}, {3, 4}),
    ("array == [] is identity", {"==": [v("tags"), []]}, set()),
    ("array field is itself", {"===": [v("tags"), v("tags")]}, ALL),
    # --- ordering ---
    ("number < (null is 0)", {"<": [v("n"), 5]}, {2, 3, 4, 6, 9}),
    ("number > string", {">": [v("n"), "41"]}, {5, 7, 10}),
    ("null < 1 (null is 0)", {"<": [v("n"), 1]}, {2, 3, 4, 9}),
    ("number <= null", {"<=": [v("n"), None]}, {2, 3, 4, 9}),
    ("between exclusive", {"<": [0, v("n"), 7]}, {1, 6}),
    ("between inclusive", {"<=": [0, v("amount"), 0.3]}, {2, 4, 5, 6, 8}),
    ("decimal >= int field", {">=": [v("amount"), v("n")]}, {1, 2, 3, 4, 7, 9}),
    ("boolean > 0", {">": [v("flag"), 0]}, {1, 5, 7, 10}),
    ("text < text (code points)", {"<": [v("name"), "b"]}, {1, 2, 3, 6, 10}),
    ("text >= CJK", {">=": [v("name"), "张"]}, {5}),
    ("null text < '5' (Number)", {"<": [v("name"), "5"]}, {3, 4}),
    ("date < today", {"<": [v("day"), {"today": []}]}, {2, 5, 6, 8, 9}),
    ("date < partial string", {"<": [v("day"), "2024-05"]}, {2, 5, 6, 8, 9}),
    ("date <= partial string", {"<=": [v("day"), "2024-04-30"]}, {2, 5, 6, 8, 9}),
    ("date > date_add(today)", {">": [v("day"), {"date_add": [{"today": []}, -7, "days"]}]},
     {1, 2, 7, 10}),
    ("date vs datetime string", {"<": [v("day"), "2024-05-01T00:00:00.000Z"]},
     {1, 2, 5, 6, 8, 9, 10}),
    ("datetime >= now", {">=": [v("at"), {"now": []}]}, {1, 5, 9}),
    ("datetime > now", {">": [v("at"), {"now": []}]}, {9}),
    ("datetime < date string", {"<": [v("at"), "2024-05-01"]}, {2, 7, 8}),
    ("date vs number: NaN, null is 0", {"<": [v("day"), 5]}, {3, 4}),
    ("date < date field", {"<": [v("day"), v("day")]}, set()),
    ("date <= date field (null <= null)", {"<=": [v("day"), v("day")]}, ALL),
    # --- logic ---
    ("truthy text", v("name"), ALL - {3, 4}),
    ("truthy number", v("n"), ALL - {2, 4}),
    ("truthy decimal", v("amount"), ALL - {2, 4}),
    ("truthy boolean", v("flag"), {1, 5, 7, 10}),
    ("truthy date", v("day"), ALL - {3, 4}),
    ("truthy array", v("tags"), {1, 5, 6, 7, 8, 9}),
    ("!", {"!": v("flag")}, ALL - {1, 5, 7, 10}),
    ("!!", {"!!": [v("tags")]}, {1, 5, 6, 7, 8, 9}),
    ("and", {"and": [v("flag"), {">": [v("n"), 10]}]}, {5, 7, 10}),
    ("or", {"or": [{"==": [v("n"), 0]}, v("flag")]}, {1, 2, 5, 7, 10}),
    ("and with constants", {"and": [True, v("name"), 1]}, ALL - {3, 4}),
    ("or with a truthy constant", {"or": [v("name"), "x"]}, ALL),
    ("empty and", {"and": []}, set()),
    ("if as condition", {"if": [v("flag"), {">": [v("n"), 10]}, {"<": [v("n"), 0]}]},
     {3, 5, 7, 9, 10}),
    ("?: as condition", {"?:": [v("flag"), v("name"), v("code")]}, ALL - {3, 4}),
    ("if value compared", {"==": [{"if": [v("flag"), "yes", "no"]}, "yes"]}, {1, 5, 7, 10}),
    ("or value compared", {"==": [{"or": [v("name"), "anon"]}, "anon"]}, {3, 4}),
    ("and value compared", {">": [{"and": [v("n"), v("amount")]}, 1]}, {1, 7, 10}),
    ("comparison compared", {"==": [{">": [v("n"), 5]}, False]}, ALL - {5, 7, 8, 10}),
    # --- arithmetic ---
    ("+ with decimals", {"==": [{"+": [v("amount"), 0.2]}, 0.5]}, {8}),
    ("+ float rounding", {"==": [{"+": [v("amount"), 0.2]}, 0.30000000000000004]}, {5}),
    ("+ null is NaN", {"!": {"+": [v("n"), 1]}}, {4, 9}),
    ("- null is 0", {"==": [{"-": [v("n"), 1]}, -1]}, {2, 4}),
    ("unary -", {">": [{"-": v("n")}, 0]}, {3, 9}),
    ("* int", {">=": [{"*": [v("n"), 2]}, 84]}, {5, 7, 10}),
    ("/ constant", {"==": [{"/": [v("n"), 2]}, 2.5]}, {1}),
    ("/ decimal", {">": [{"/": [v("amount"), 0.1]}, 50]}, {1, 7}),
    ("% int", {"==": [{"%": [v("n"), 2]}, -1]}, {3, 9}),
    ("min", {"<": [{"min": [v("n"), v("amount")]}, 0]}, {3, 9}),
    ("max with null", {"==": [{"max": [v("n"), 3]}, 3]}, {2, 3, 4, 6, 9}),
    ("arithmetic with boolean", {"==": [{"-": [v("flag"), 1]}, 0]}, {1, 5, 7, 10}),
    # --- strings ---
    ("in substring", {"in": ["li", v("name")]}, {1, 2}),
    ("in substring literal haystack", {"in": [v("code"), "XA-1Y"]}, {1, 3}),
    ("in: null needle is 'null'", {"in": [v("name"), "is null here"]}, {3, 4}),
    ("in literal list", {"in": [v("name"), ["Alice", "张三", None]]}, {1, 4, 5}),
    ("in number list", {"in": [v("n"), [5, "7", 42]]}, {1, 5}),
    ("in: % is not a wildcard", {"in": ["%", v("name")]}, {6}),
    ("in: _ is not a wildcard", {"in": ["_", v("name")]}, {10}),
    ("in: empty needle", {"in": ["", v("name")]}, ALL - {3, 4}),
    ("contains", {"contains": [v("code"), "-"]}, {1, 2, 6, 8}),
    ("contains number needle", {"contains": [v("code"), 5]}, {5, 9}),
    ("contains empty needle", {"contains": [v("name"), ""]}, ALL - {4}),
    ("contains field in literal", {"contains": ["INV-001/A-1", v("code")]}, {1, 3, 6}),
    ("contains text fields", {"contains": [v("name"), v("name")]}, ALL - {4}),
    ("contains lower (case-insensitive idiom)", {"contains": [{"lower": v("name")}, "alice"]},
     {1, 2}),
    ("lower folds Kelvin sign", {"starts_with": [{"lower": v("name")}, "kel"]}, {8}),
    ("upper folds sharp s", {"==": [{"upper": v("name")}, "STRASSE"]}, {9}),
    ("upper keeps non-ASCII as non-ASCII", {"contains": [{"upper": v("name")}, "BC"]}, {7}),
    ("starts_with", {"starts_with": [v("code"), "INV-"]}, {6}),
    ("starts_with is case-sensitive", {"starts_with": [v("code"), "inv-"]}, {8}),
    ("ends_with wildcard", {"ends_with": [v("name"), "%b"]}, {6}),
    ("ends_with number field", {"ends_with": [v("n"), 0]}, {2, 7}),
    ("starts_with literal subject", {"starts_with": ["A-1 and more", v("code")]}, {1, 3}),
    ("starts_with date", {"starts_with": [v("day"), "2024-05"]}, {1, 7, 10}),
    ("starts_with datetime", {"starts_with": [v("at"), "2024-05-01T12"]}, {1, 5, 9}),
    ("cat", {"==": [{"cat": [v("code"), "/", v("n")]}, "A-1/5"]}, {1}),
    ("cat null is empty", {"==": [{"cat": [v("name"), v("flag")]}, ""]}, {3, 4}),
    ("substr", {"==": [{"substr": [v("name"), 1, 3]}, "lic"]}, {1, 2}),
    ("substr negative", {"==": [{"substr": [v("name"), -2]}, "_b"]}, {10}),
    ("substr drop tail", {"==": [{"substr": [v("name"), 0, -1]}, "ÄB"]}, {7}),
    ("substr of null is of 'null'", {"==": [{"substr": [v("name"), 1]}, "ull"]}, {4}),
    ("length text", {"==": [{"length": v("name")}, 5]}, {1, 2}),
    ("length counts code points", {"==": [{"length": v("name")}, 2]}, {5}),
    ("length lower (dotted I grows)", {">": [{"length": {"lower": v("name")}}, 5]}, {8, 9}),
    ("length array", {">=": [{"length": v("tags")}, 2]}, {1, 6}),
    ("length null", {"==": [{"length": v("tags")}, 0]}, {2, 3, 4, 10}),
    ("length of number is null", {"==": [{"length": v("n")}, None]}, ALL - {4}),
    ("is_empty text", {"is_empty": v("name")}, {3, 4}),
    ("is_empty array", {"is_empty": v("tags")}, {2, 3, 4, 10}),
    ("is_empty number", {"is_empty": v("n")}, {4}),
    # --- arrays ---
    ("in array field", {"in": ["a", v("tags")]}, {1, 6}),
    ("in array field, empty string", {"in": ["", v("tags")]}, {7}),
    ("in array field, number needle", {"in": [5, v("tags")]}, set()),
    ("contains array", {"contains": [v("tags"), "客户"]}, {5}),
    ("array has text field", {"in": [v("code"), v("tags")]}, set()),
    ("array has text field 2", {"contains": [v("tags"), {"upper": "a"}]}, {8}),
    # --- data and context ---
    ("missing", {"missing": ["name", "tags"]}, {3, 4}),
    ("missing, one array argument", {"missing": [["flag"]]}, {3, 4, 8}),
    ("missing_some", {"missing_some": [2, ["name", "flag", "day"]]}, {3, 4}),
    ("!missing", {"!": {"missing": ["name"]}}, ALL - {3, 4}),
    ("if missing", {"if": [{"missing": ["code"]}, False, True]}, ALL - {3, 4}),
    ("dotted field", {"==": [v("meta.code"), {"current_user": "dept.code"}]}, {1}),
    ("current_user", {"==": [v("n"), {"current_user": "id"}]}, {8}),
    ("current_department", {"==": [v("name"), {"current_department": "name"}]}, set()),
    ("var default never applies", {"==": [{"var": ["n", 5]}, 5]}, {1}),
    ("constant folding", {"==": [{"+": [1, 2]}, 3]}, ALL),
    ("map over a constant", {"in": [v("name"), {"map": [["alice"], {"var": ""}]}]}, {2}),
]  # fmt: skip


@pytest.mark.parametrize(("title", "rule", "expected"), CASES, ids=[c[0] for c in CASES])
def test_operator(probe: Probe, title: str, rule: Any, expected: set[int]) -> None:
    assert probe.check(rule) == expected, title


REFUSED: list[tuple[Any, str]] = [
    ({"==": [{"+": [v("name"), 1]}, 2]}, "$['=='][0]['+'][0]"),
    ({"==": [v("name"), 5]}, "$['==']"),
    ({"<": [v("name"), v("code")]}, "$['<']"),
    ({"<": [v("name"), "😀"]}, "$['<']"),
    ({"==": [{"lower": v("name")}, "ä"]}, "$['==']"),
    ({"/": [1, v("n")]}, "$['/']"),
    ({"/": [v("n"), 0]}, "$['/']"),
    ({"%": [v("amount"), 2]}, "$['%']"),
    ({"and": [True, {"some": [v("tags"), {"==": [{"var": ""}, "a"]}]}]}, "$.and[1].some"),
    ({"map": [v("tags"), {"var": ""}]}, "$.map"),
    ({"log": v("name")}, "$.log"),
    ({"var": ""}, "$.var"),
    ({"var": {"cat": ["na", "me"]}}, "$.var"),
    ({"==": [{"missing": ["name"]}, []]}, "$['=='][0].missing"),
    ({"==": [{"date_add": [v("day"), 1, "days"]}, "2024-05-02"]}, "$['=='][0].date_add"),
    ({"==": [{"if": [v("flag"), v("n"), v("name")]}, 1]}, "$['=='][0].if"),
    ({"==": [v("tags"), "a"]}, "$['==']"),
    ({"contains": [v("day"), "05"]}, "$.contains"),
]


@pytest.mark.parametrize(("rule", "path"), REFUSED)
def test_refused_with_path(rule: Any, path: str) -> None:
    with pytest.raises(NotSqlError) as caught:
        compile_condition(rule, FIELDS, context=CONTEXT)
    assert caught.value.code == "logic.not_sql"
    assert caught.value.path == path, caught.value.message


def test_unknown_field() -> None:
    with pytest.raises(UnknownFieldError) as caught:
        compile_condition({"and": [True, {"==": [v("nope"), 1]}]}, FIELDS)
    assert caught.value.to_dict()["code"] == "logic.unknown_field"
    assert caught.value.path == "$.and[1]['=='][0].var"
    assert isinstance(caught.value, LogicError)
    with pytest.raises(UnknownFieldError):
        compile_condition({"missing": ["nope"]}, FIELDS)
    numeric = {"1": SqlField(FIELDS["n"].expression, "number")}
    compile_condition({"var": 1}, numeric)  # keys are strings, as in var paths


def test_malformed_rules_raise_the_evaluators_errors() -> None:
    with pytest.raises(ArityError):
        compile_condition({"==": [v("name")]}, FIELDS)
    with pytest.raises(ValueError):
        SqlField(FIELDS["n"].expression, "money")  # type: ignore[arg-type]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.asyncpg.dialect()])
def test_literals_are_bound_parameters(dialect: Any) -> None:
    evil = "x'); DROP TABLE users; --"
    rule = {
        "or": [
            {"==": [v("name"), evil]},
            {"in": [evil, v("code")]},
            {"starts_with": [v("name"), evil]},
            {"in": [v("name"), [evil, "b"]]},
            {"<": [v("day"), "2024-05"]},
            {"==": [v("n"), 12345]},
            {"contains": [v("tags"), "needle"]},
            {"==": [v("at"), {"now": []}]},
        ]
    }
    condition = compile_condition(rule, FIELDS, context=CONTEXT)
    sql = str(select(FIELDS["n"].expression).where(condition).compile(dialect=dialect))
    for value in ("DROP", "12345", "needle", "2024", "2024-05"):
        assert value not in sql


def test_date_comparisons_are_plain_ranges() -> None:
    condition = compile_condition({"<": [v("day"), "2024-05"]}, FIELDS)
    compiled = condition.compile(dialect=postgresql.asyncpg.dialect())
    assert str(compiled) == ("logic_sql_probe.day IS NOT NULL AND logic_sql_probe.day < $1::DATE")
    assert list(compiled.params.values()) == [date(2024, 5, 1)]


def test_now_is_folded_once_without_context() -> None:
    condition = compile_condition({"<": [v("at"), {"now": []}]}, FIELDS)
    assert "at" in str(condition)


def test_case_mapping_specials_match_python() -> None:
    lower: list[str] = []
    upper: list[str] = []
    growing: list[str] = []
    for ch in map(chr, range(128, sys.maxunicode + 1)):
        low = ch.lower()
        if any(ord(x) < 128 for x in low):
            lower.append(ch)
        if any(ord(x) < 128 for x in ch.upper()):
            upper.append(ch)
        if len(low) != 1:
            growing.append(ch)
    assert tuple(lower) == SPECIAL_LOWER
    assert tuple(upper) == SPECIAL_UPPER
    assert growing == ["\u0130"]  # the only lower() that grows, and it is mapped first


def test_json_null_is_null(probe: Probe) -> None:
    rows = [_row(values) for values in ROWS]
    rows[0]["tags"] = JSON.NULL  # stored as the JSON document `null`, not SQL NULL
    try:
        probe.load(rows)
        assert probe.rows[0]["tags"] is None
        assert probe.check({"==": [v("tags"), None]}) == {1, 3, 4}
        assert probe.check({"is_empty": v("tags")}) == {1, 2, 3, 4, 10}
        assert probe.check({"in": ["a", v("tags")]}) == {6}
        assert probe.check({"==": [{"length": v("tags")}, 0]}) == {1, 2, 3, 4, 10}
        assert probe.check({"missing": ["tags"]}) == {1, 3, 4}
    finally:
        probe.load([_row(values) for values in ROWS])


def test_any_column_expression() -> None:
    table = Table("other", MetaData(), Column("id", Integer, primary_key=True), Column("s", String))
    fields = {"label": SqlField(table.c.s, "text"), "id": SqlField(table.c.id, "number")}
    condition = compile_condition({"and": [v("label"), {">": [v("id"), 3]}]}, fields)
    sql = str(condition.compile(dialect=sqlite.dialect()))
    assert "other.s" in sql
    assert "other.id >" in sql  # id is NOT NULL: no IS NULL guard


def test_null_is_false_drops_only_the_redundant_guard(probe: Probe) -> None:
    def sql(rule: Any, null_is_false: bool) -> str:
        condition = compile_condition(rule, FIELDS, null_is_false=null_is_false)
        return str(condition.compile(dialect=postgresql.dialect()))

    member = {"in": [{"var": "name"}, ["a", "b"]]}
    assert "IS NOT NULL" in sql(member, False)
    for positive in (member, {"and": [member, {"!!": member}]}, {"or": [member, True]}):
        assert "IS NOT NULL" not in sql(positive, True), positive
    # under a negation the IN must stay two-valued: NOT NULL would drop the NULL rows
    assert "IS NOT NULL" in sql({"!": member}, True)
    assert "IS NOT NULL" in sql({"and": [{"!": member}, member]}, True)
    for rule in (member, {"!": member}, {"or": [member, {"==": [{"var": "name"}, None]}]}):
        loose = compile_condition(rule, FIELDS, null_is_false=True)
        assert probe.ids_where(loose) == probe.expected(rule), rule
