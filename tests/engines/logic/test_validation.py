"""Static validation, error paths and codes, depth limit, registries, robustness."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.logic import (
    MAX_DEPTH,
    OPERATORS,
    ArgumentError,
    ArityError,
    FunctionOperator,
    LogicError,
    MultipleKeysError,
    TooDeepError,
    UnknownOperatorError,
    compile,
    default_operators,
    evaluate,
    format_path,
    iter_errors,
    validate,
)
from engines.registry import AlreadyRegisteredError, NotRegisteredError, Registry


@pytest.mark.parametrize(
    ("rule", "error", "code", "path"),
    [
        ({"nope": [1]}, UnknownOperatorError, "logic.unknown_operator", "$.nope"),
        ({"and": [True, {"var": ["a", 1, 2]}]}, ArityError, "logic.bad_arity", "$.and[1].var"),
        (
            {"and": [True, {"foo": 1}]},
            UnknownOperatorError,
            "logic.unknown_operator",
            "$.and[1].foo",
        ),
        ({"==": [1]}, ArityError, "logic.bad_arity", "$['==']"),
        ({"!": []}, ArityError, "logic.bad_arity", "$['!']"),
        ({"<": [1, 2, 3, 4]}, ArityError, "logic.bad_arity", "$['<']"),
        ({"*": []}, ArityError, "logic.bad_arity", "$['*']"),
        ({"map": [{"var": "x"}]}, ArityError, "logic.bad_arity", "$.map"),
        ({"map": {"var": "x"}}, ArityError, "logic.bad_arity", "$.map"),
        ({"map": [5, {"var": ""}]}, ArgumentError, "logic.bad_argument", "$.map[0]"),
        ({"all": ["abc", True]}, ArgumentError, "logic.bad_argument", "$.all[0]"),
        ({"missing_some": [1, "a"]}, ArgumentError, "logic.bad_argument", "$.missing_some[1]"),
        ({"missing_some": ["1", ["a"]]}, ArgumentError, "logic.bad_argument", "$.missing_some[0]"),
        ({"var": [["a"]]}, ArgumentError, "logic.bad_argument", "$.var[0]"),
        ({"var": True}, ArgumentError, "logic.bad_argument", "$.var"),
        ({"in": ["a", 5]}, ArgumentError, "logic.bad_argument", "$.in[1]"),
        (
            {"if": [{"var": "x", "note": "hi"}, 1, 2]},
            MultipleKeysError,
            "logic.multiple_keys",
            "$.if[0]",
        ),
        (
            [1, {"cat": ["a", {"x": 1}]}],
            UnknownOperatorError,
            "logic.unknown_operator",
            "$[1].cat[1].x",
        ),
        (
            {"filter": [[1], {"?:": [{"bad op": 1}, 1, 2]}]},
            UnknownOperatorError,
            "logic.unknown_operator",
            "$.filter[1]['?:'][0]['bad op']",
        ),
        ({"now": [1]}, ArityError, "logic.bad_arity", "$.now"),
        (
            {"current_user": [{"a": 1, "b": 2}]},
            ArgumentError,
            "logic.bad_argument",
            "$.current_user[0]",
        ),
    ],
)
def test_first_error(rule: Any, error: type[LogicError], code: str, path: str) -> None:
    for action in (validate, compile, lambda r: evaluate(r, {})):
        with pytest.raises(error) as info:
            action(rule)
        assert info.value.code == code
        assert info.value.path == path
    first = next(iter_errors(rule))
    assert (first.path, first.code) == (path, code)


def test_data_objects_are_literals() -> None:
    assert evaluate({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    assert evaluate({}) == {}
    assert evaluate({"if": [True, {"a": 1, "b": {"var": "x"}}]}) == {"a": 1, "b": {"var": "x"}}
    assert list(iter_errors({"a": 1, "b": {"nope": 1}})) == []


def test_iter_errors_reports_all_problems_in_order() -> None:
    rule = {
        "and": [
            {"nope": 1},
            {"==": [1]},
            {"or": [{"var": ["a", 1, 2]}, {"map": [3, {"zip": []}]}]},
        ]
    }
    problems = [e.to_dict() for e in iter_errors(rule)]
    assert [(p["path"], p["code"]) for p in problems] == [
        ("$.and[0].nope", "logic.unknown_operator"),
        ("$.and[1]['==']", "logic.bad_arity"),
        ("$.and[2].or[0].var", "logic.bad_arity"),
        ("$.and[2].or[1].map[0]", "logic.bad_argument"),
        ("$.and[2].or[1].map[1].zip", "logic.unknown_operator"),
    ]
    assert all(p["message"] for p in problems)
    assert list(iter_errors({"and": [1, {"var": "a"}]})) == []


def test_error_messages_and_pickling() -> None:
    with pytest.raises(ArityError) as info:
        validate({"substr": ["abc"]})
    assert "'substr' takes 2 to 3 argument(s), got 1" in str(info.value)
    assert "$.substr" in str(info.value)
    clone = pickle.loads(pickle.dumps(info.value))
    assert type(clone) is ArityError and clone.to_dict() == info.value.to_dict()
    assert format_path(("a b", 0, "it's")) == "$['a b'][0]['it\\'s']"


def _nested(depth: int) -> Any:
    rule: Any = True
    for _ in range(depth):
        rule = {"!!": [rule]}
    return rule


def test_depth_limit() -> None:
    assert evaluate(_nested(MAX_DEPTH)) is True
    for rule in (_nested(MAX_DEPTH + 1), _nested(5000)):
        with pytest.raises(TooDeepError) as info:
            validate(rule)
        assert info.value.code == "logic.too_deep"
        with pytest.raises(TooDeepError):
            evaluate(rule)
    deep_list: Any = 1
    for _ in range(MAX_DEPTH + 5):
        deep_list = [deep_list]
    with pytest.raises(TooDeepError):
        validate(deep_list)
    assert len(list(iter_errors(_nested(5000)))) == 1


def test_non_json_rules_still_work() -> None:
    circular: list[Any] = []
    circular.append(circular)
    with pytest.raises(TooDeepError):
        evaluate(circular)
    assert evaluate(({"+": (1, 2)}, {"var": 0}), [5]) == [3, 5]


# --- registries ----------------------------------------------------------------------------


class Double(FunctionOperator):
    type = "double"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return lambda value: value * 2


def test_custom_operator_registry() -> None:
    registry = default_operators()
    registry.register(Double())
    assert evaluate({"double": {"var": "x"}}, {"x": 21}, operators=registry) == 42
    assert "double" not in OPERATORS
    with pytest.raises(UnknownOperatorError):
        evaluate({"double": 1})
    with pytest.raises(ArityError):
        validate({"double": [1, 2]}, operators=registry)
    standard = default_operators(extensions=False)
    assert "var" in standard and "now" not in standard
    with pytest.raises(UnknownOperatorError):
        validate({"now": []}, operators=standard)


def test_registry_basics() -> None:
    registry: Registry[Double] = Registry("test")
    item = registry.register(Double())
    version = registry.version
    assert registry.get("double") is item and registry.find("x") is None
    assert registry.types() == ["double"] and list(registry) == [item] and len(registry) == 1
    with pytest.raises(AlreadyRegisteredError):
        registry.register(Double())
    registry.register(Double(), replace=True)
    assert registry.version > version
    with pytest.raises(NotRegisteredError):
        registry.get("nope")
    assert registry.copy().get("double") is registry.get("double")
    registry.unregister("double")
    assert "double" not in registry and registry.as_mapping() == {}
    with pytest.raises(ValueError, match="type"):
        registry.register(object())  # type: ignore[arg-type]


def test_every_operator_has_a_type_and_arity() -> None:
    assert len(OPERATORS) >= 48
    for operator in OPERATORS:
        assert operator.type and operator.min_args >= 0
        assert operator.max_args is None or operator.max_args >= operator.min_args


# --- robustness ----------------------------------------------------------------------------

NAMES = [*OPERATORS.types(), "nope"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "a", "0", "1", "a.b", "x", "days", "2024-01-31", "2024-01-31T10:00Z"]),
)


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.builds(
            lambda name, args: {name: args}, st.sampled_from(NAMES), st.lists(children, max_size=4)
        ),
        st.builds(lambda name, arg: {name: arg}, st.sampled_from(NAMES), children),
        st.dictionaries(st.sampled_from(["a", "b", "var"]), children, max_size=3),
    )


rules = st.recursive(scalars, _extend, max_leaves=25)
datas = st.recursive(
    scalars,
    lambda c: st.one_of(st.lists(c, max_size=4), st.dictionaries(st.sampled_from("abx"), c)),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=rules, data=datas)
def test_fuzz_validation_and_evaluation_never_crash(rule: Any, data: Any) -> None:
    errors: Sequence[LogicError] = list(iter_errors(rule))
    context = {"now": "2024-01-31T10:00:00Z", "user": {"id": 1}}
    if errors:
        with pytest.raises(LogicError) as info:
            validate(rule)
        assert (info.value.path, info.value.code) == (errors[0].path, errors[0].code)
        return
    result = evaluate(rule, data, context=context)
    again = compile(rule)(data, context=context)
    assert json.dumps(result, default=repr) == json.dumps(again, default=repr)
