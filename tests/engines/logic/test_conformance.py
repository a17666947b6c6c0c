"""JsonLogic conformance: the official tests.json, plus JS-semantics edge cases.

Every case runs through both paths: ``evaluate(rule, data)`` (cached compile)
and ``compile(rule)(data)``. Results are compared as canonical JSON text, so
``2`` vs ``2.0`` and ``true`` vs ``1`` are told apart.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from engines.logic import compile, evaluate, iter_errors, validate

DATA = Path(__file__).parent / "data" / "jsonlogic-tests.json"
EXPECTED_CASES = 278


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:48]


def _load() -> list[Any]:
    params = []
    heading = "start"
    seen: Counter[str] = Counter()
    for entry in json.loads(DATA.read_text(encoding="utf-8")):
        if isinstance(entry, str):
            heading = _slug(entry)
            continue
        rule, data, expected = entry
        seen[heading] += 1
        params.append(pytest.param(rule, data, expected, id=f"{heading}-{seen[heading]}"))
    return params


CASES = _load()


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def test_case_count() -> None:
    assert len(CASES) == EXPECTED_CASES


@pytest.mark.parametrize(("rule", "data", "expected"), CASES)
def test_evaluate(rule: Any, data: Any, expected: Any) -> None:
    assert canonical(evaluate(rule, data)) == canonical(expected)


@pytest.mark.parametrize(("rule", "data", "expected"), CASES)
def test_compiled(rule: Any, data: Any, expected: Any) -> None:
    validate(rule)
    assert list(iter_errors(rule)) == []
    compiled = compile(rule)
    assert canonical(compiled(data)) == canonical(expected)
    assert canonical(compiled(data)) == canonical(expected)  # reusable


NAN = object()

# Expected values produced by json-logic-js 2.0.5 under Node 20.
JS_SEMANTICS: list[tuple[Any, Any, Any]] = [
    # loose and strict equality
    ({"==": [True, 1]}, None, True),
    ({"===": [True, 1]}, None, False),
    ({"==": [None, 0]}, None, False),
    ({"==": [None, None]}, None, True),
    ({"==": ["", 0]}, None, True),
    ({"==": [[], False]}, None, True),
    ({"==": [[1], 1]}, None, True),
    ({"==": [[1, 2], "1,2"]}, None, True),
    ({"==": [{"var": "o"}, "[object Object]"]}, {"o": {"a": 1}}, True),
    ({"==": [[1], [1]]}, None, False),
    ({"==": [{"var": "a"}, {"var": "a"}]}, {"a": [1]}, True),
    ({"==": ["1e3", 1000]}, None, True),
    ({"==": [" 12 ", 12]}, None, True),
    ({"==": ["0x10", 16]}, None, True),
    ({"==": ["1_000", 1000]}, None, False),
    ({"==": ["inf", {"/": [1, 0]}]}, None, False),
    ({"!=": [False, "0"]}, None, False),
    # relational
    ({"<": ["10", "9"]}, None, True),
    ({"<": ["10", 9]}, None, False),
    ({"<": [None, 1]}, None, True),
    ({"<": ["a", 1]}, None, False),
    ({">=": ["a", 1]}, None, False),
    ({"<=": [None, 0, 0]}, None, True),
    ({"<": [1, 2, None]}, None, False),
    ({"<": [[2], 3]}, None, True),
    ({"<": ["B", "a"]}, None, True),
    ({"<": ["\uffff", "\U0001f600"]}, None, False),
    # truthiness
    ({"!!": [{}]}, None, True),
    ({"!!": ["false"]}, None, True),
    ({"!!": [[0]]}, None, True),
    ({"!!": [{"/": [0, 0]}]}, None, False),
    ({"and": [{}, 0]}, None, 0),
    ({"or": [0.0, "", [], None, False]}, None, False),
    ({"if": [[], 1, {}, 2, 3]}, None, 2),
    # arithmetic
    ({"+": [True, 1]}, None, NAN),
    ({"+": [None, 1]}, None, NAN),
    ({"+": ["12abc", 1]}, None, 13),
    ({"+": [[2], 1]}, None, 3),
    ({"+": [[2, 3], 1]}, None, 3),
    ({"+": []}, None, 0),
    ({"+": [0.1, 0.2]}, None, 0.30000000000000004),
    ({"+": ["1.5", "1.5"]}, None, 3),
    ({"-": [True]}, None, -1),
    ({"-": [""]}, None, 0),
    ({"-": ["3", "1"]}, None, 2),
    ({"-": [[5], 1]}, None, 4),
    ({"*": ["3"]}, None, "3"),
    ({"*": ["2", "3abc"]}, None, 6),
    ({"/": [1, 3]}, None, 0.3333333333333333),
    ({"/": [6, "3"]}, None, 2),
    ({"%": [-5, 3]}, None, -2),
    ({"%": [5.5, 2]}, None, 1.5),
    ({"%": ["7", "2"]}, None, 1),
    ({"max": [[5], "7", True]}, None, 7),
    ({"min": [None, 3]}, None, 0),
    ({"reduce": [[1, 2, 3], {"+": [{"var": "current"}, {"var": "accumulator"}]}]}, None, NAN),
    # strings
    (
        {"cat": [1.0, 0.5, True, None, [1, [2, None]], {"var": "o"}]},
        {"o": {"a": 1}},
        "10.5true1,2,[object Object]",
    ),
    ({"cat": [1e21, 1e-07, 123.456, -0.0001]}, None, "1e+211e-7123.456-0.0001"),
    ({"substr": ["jsonlogic", 20]}, None, ""),
    ({"substr": ["jsonlogic", -20, 2]}, None, "js"),
    ({"substr": ["jsonlogic", 1, -20]}, None, ""),
    ({"substr": ["jsonlogic", 1.7, 2.9]}, None, "so"),
    ({"substr": [12345, 1, 2]}, None, "23"),
    ({"substr": ["jsonlogic", 0, -1.5]}, None, "jsonlog"),
    ({"substr": ["jsonlogic", 1, "2"]}, None, "so"),
    ({"substr": ["jsonlogic", 1, "-2"]}, None, ""),
    # in / merge
    ({"in": ["", ""]}, None, False),
    ({"in": [None, "nullable"]}, None, True),
    ({"in": [1, "a1"]}, None, True),
    ({"in": [1, ["1"]]}, None, False),
    ({"in": [True, [1]]}, None, False),
    ({"in": ["a", None]}, None, False),
    ({"merge": [None, [None], [[1]]]}, None, [None, None, [1]]),
    # data access
    ({"var": "s.length"}, {"s": "hello"}, 5),
    ({"var": "l.length"}, {"l": [1, 2, 3]}, 3),
    ({"var": "s.1"}, {"s": "hello"}, "e"),
    ({"var": "a.01"}, {"a": [1, 2]}, None),
    ({"var": "a.-1"}, {"a": [1, 2]}, None),
    ({"var": 1.5}, [[0, 1], [2, 3]], None),
    ({"var": ["a", 5]}, {"a": None}, None),
    ({"var": ["a.b", 5]}, {"a": None}, 5),
    ({"var": ["", 5]}, None, None),
    ({"var": "a."}, {"a": {"": 3}}, 3),
    ({"missing": ["a", "", "b"]}, {"a": "", "b": 0}, ["a"]),
    ({"missing": [["a", 1]]}, {}, ["a", 1]),
    ({"missing": ["x", ["a", 1]]}, {}, ["x"]),
    ({"missing_some": [1, ["a", "b"]]}, {"a": ""}, ["a", "b"]),
    # arrays over non-arrays
    ({"reduce": [None, {"var": "x"}, 5]}, None, 5),
    ({"filter": [{"var": "d"}, True]}, {"d": {"a": 1}}, []),
    ({"map": [{"var": "d"}, 1]}, {"d": "abc"}, []),
    ({"all": [{"var": "d"}, True]}, {"d": "abc"}, False),
    ({"some": [{"var": "d"}, True]}, {"d": "abc"}, False),
    ({"none": [{"var": "d"}, True]}, {"d": "abc"}, True),
]


@pytest.mark.parametrize(("rule", "data", "expected"), JS_SEMANTICS)
def test_js_semantics(rule: Any, data: Any, expected: Any) -> None:
    for result in (evaluate(rule, data), compile(rule)(data)):
        if expected is NAN:
            assert isinstance(result, float) and math.isnan(result)
        else:
            assert canonical(result) == canonical(expected)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"+": [1, 1]}, 2),
        ({"*": [1.5, 2]}, 3),
        ({"/": [1, 4]}, 0.25),
        ({"-": [0.5, 0.5]}, 0),
        ({"max": [1.0, 2.0]}, 2),
        ({"+": ["1.0"]}, 1),
    ],
)
def test_integral_results_are_ints(rule: Any, expected: Any) -> None:
    result = evaluate(rule)
    assert result == expected
    assert type(result) is type(expected)


def test_division_by_zero_follows_js() -> None:
    assert evaluate({"/": [1, 0]}) == math.inf
    assert evaluate({"/": [-1, 0]}) == -math.inf
    assert math.isnan(evaluate({"/": [0, 0]}))
    assert math.isnan(evaluate({"%": [1, 0]}))


def test_rule_is_not_mutated_and_literals_are_fresh() -> None:
    rule = {"if": [True, [1, {"var": "x"}], []]}
    snapshot = json.dumps(rule)
    first = evaluate(rule, {"x": 2})
    first.append("mutated")
    assert evaluate(rule, {"x": 2}) == [1, 2]
    assert json.dumps(rule) == snapshot


def test_decimal_and_dates_in_data() -> None:
    from datetime import date
    from decimal import Decimal

    assert evaluate({">": [{"var": "a"}, 1]}, {"a": Decimal("1.5")}) is True
    assert evaluate({"+": [{"var": "a"}, 1]}, {"a": Decimal("1.5")}) == 2.5
    assert evaluate({"==": [{"var": "d"}, "2024-05-01"]}, {"d": date(2024, 5, 1)}) is True
