"""Logic and comparison: if ?: and or ! !! == === != !== > >= < <= log."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from ..coerce import less_equal, less_than, loose_equals, strict_equals, truthy
from .base import Context, Evaluator, FunctionOperator, Operator

logger = logging.getLogger("engines.logic")

_ABSENT: Any = object()


class If(Operator):
    """``{"if": [cond1, then1, cond2, then2, ..., else]}``: lazy, any arity."""

    type = "if"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        n = len(args)
        if n == 0:
            return lambda data, context: None
        if n == 1:
            return args[0]
        if n == 2:
            cond, then = args
            return lambda data, context: (
                then(data, context) if truthy(cond(data, context)) else None
            )
        if n == 3:
            cond, then, otherwise = args
            return lambda data, context: (
                then(data, context) if truthy(cond(data, context)) else otherwise(data, context)
            )
        pairs = tuple((args[i], args[i + 1]) for i in range(0, n - 1, 2))
        fallback = args[-1] if n % 2 else None

        def run(data: Any, context: Context) -> Any:
            for cond, then in pairs:
                if truthy(cond(data, context)):
                    return then(data, context)
            return fallback(data, context) if fallback is not None else None

        return run


class Ternary(If):
    """``{"?:": [cond, then, else]}``; json-logic-js treats it exactly like ``if``."""

    type = "?:"


class And(Operator):
    """First falsy value, or the last value (``null`` for no arguments)."""

    type = "and"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        if not args:
            return lambda data, context: None
        if len(args) == 1:
            return args[0]
        if len(args) == 2:
            a, b = args

            def run2(data: Any, context: Context) -> Any:
                value = a(data, context)
                return b(data, context) if truthy(value) else value

            return run2
        items = tuple(args)

        def run(data: Any, context: Context) -> Any:
            value = None
            for item in items:
                value = item(data, context)
                if not truthy(value):
                    return value
            return value

        return run


class Or(Operator):
    """First truthy value, or the last value (``null`` for no arguments)."""

    type = "or"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        if not args:
            return lambda data, context: None
        if len(args) == 1:
            return args[0]
        if len(args) == 2:
            a, b = args

            def run2(data: Any, context: Context) -> Any:
                value = a(data, context)
                return value if truthy(value) else b(data, context)

            return run2
        items = tuple(args)

        def run(data: Any, context: Context) -> Any:
            value = None
            for item in items:
                value = item(data, context)
                if truthy(value):
                    return value
            return value

        return run


class Not(FunctionOperator):
    type = "!"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return lambda value: not truthy(value)


class DoubleNot(FunctionOperator):
    type = "!!"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return truthy


class Equal(FunctionOperator):
    type = "=="
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return loose_equals


class StrictEqual(FunctionOperator):
    type = "==="
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return strict_equals


class NotEqual(FunctionOperator):
    type = "!="
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return lambda a, b: not loose_equals(a, b)


class StrictNotEqual(FunctionOperator):
    type = "!=="
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return lambda a, b: not strict_equals(a, b)


class Greater(FunctionOperator):
    type = ">"
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return lambda a, b: less_than(b, a)


class GreaterEqual(FunctionOperator):
    type = ">="
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return lambda a, b: less_equal(b, a)


def _between(compare: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def between(a: Any, b: Any, c: Any = _ABSENT) -> bool:
        if c is _ABSENT:
            return compare(a, b)
        return compare(a, b) and compare(b, c)

    return between


class Less(FunctionOperator):
    """``a < b``, or with three arguments ``a < b < c`` (exclusive between)."""

    type = "<"
    min_args = 2
    max_args = 3

    def function(self) -> Callable[..., Any]:
        return _between(less_than)


class LessEqual(FunctionOperator):
    """``a <= b``, or with three arguments ``a <= b <= c`` (inclusive between)."""

    type = "<="
    min_args = 2
    max_args = 3

    def function(self) -> Callable[..., Any]:
        return _between(less_equal)


def _log(value: Any) -> Any:
    logger.info("jsonlogic log: %r", value)
    return value


class Log(FunctionOperator):
    """Logs its argument (logger ``engines.logic``, INFO) and returns it."""

    type = "log"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return _log
