"""Arithmetic: + - * / % min max, with JS number semantics.

``+`` and ``*`` cast with ``parseFloat`` (as json-logic-js does), the others
with ``Number()``. Division by zero gives ``inf`` / ``nan`` like JS. Integral
results are ``int`` (``{"+": [1, 1]}`` is ``2``, not ``2.0``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..coerce import INF, NAN, Number, js_number, parse_float, to_number
from .base import FunctionOperator

_ABSENT: Any = object()


def add(*values: Any) -> Number:
    total: Number = 0
    for value in values:
        total += parse_float(value)
    return js_number(total)


def multiply(*values: Any) -> Any:
    # json-logic-js reduces without an initial value: one argument is returned as is.
    if len(values) == 1:
        return values[0]
    product: Number = parse_float(values[0])
    for value in values[1:]:
        product *= parse_float(value)
    return js_number(product)


def subtract(a: Any, b: Any = _ABSENT) -> Number:
    if b is _ABSENT:
        return js_number(-to_number(a))
    return js_number(to_number(a) - to_number(b))


def divide(a: Any, b: Any) -> Number:
    x = to_number(a)
    y = to_number(b)
    if y == 0:
        if x == 0 or x != x:
            return NAN
        return math.copysign(INF, x) * math.copysign(1.0, y)
    if type(x) is int and type(y) is int and x % y == 0:
        return x // y
    return js_number(x / y)


def modulo(a: Any, b: Any) -> Number:
    x = to_number(a)
    y = to_number(b)
    if type(x) is int and type(y) is int:
        if y == 0:
            return NAN
        remainder = abs(x) % abs(y)
        return -remainder if x < 0 else remainder
    if y == 0 or x != x or y != y or x in (INF, -INF):
        return NAN
    if y in (INF, -INF):
        return js_number(x)
    return js_number(math.fmod(x, y))


def _extreme(pick: Callable[..., Number]) -> Callable[..., Number]:
    def extreme(*values: Any) -> Number:
        numbers = [to_number(value) for value in values]
        for number in numbers:
            if number != number:
                return NAN
        return js_number(pick(numbers))

    return extreme


minimum = _extreme(min)
maximum = _extreme(max)


class Add(FunctionOperator):
    type = "+"

    def function(self) -> Callable[..., Any]:
        return add


class Multiply(FunctionOperator):
    type = "*"
    min_args = 1

    def function(self) -> Callable[..., Any]:
        return multiply


class Subtract(FunctionOperator):
    """``a - b``, or unary negation with one argument."""

    type = "-"
    min_args = 1
    max_args = 2

    def function(self) -> Callable[..., Any]:
        return subtract


class Divide(FunctionOperator):
    type = "/"
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return divide


class Modulo(FunctionOperator):
    type = "%"
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return modulo


class Min(FunctionOperator):
    type = "min"
    min_args = 1

    def function(self) -> Callable[..., Any]:
        return minimum


class Max(FunctionOperator):
    type = "max"
    min_args = 1

    def function(self) -> Callable[..., Any]:
        return maximum
