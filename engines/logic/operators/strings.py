"""Strings: cat, substr."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..coerce import NUMBER, js_type, to_integer, to_number, to_string
from .base import FunctionOperator

_ABSENT: Any = object()


def cat(*values: Any) -> str:
    """``Array.prototype.join("")``: ``null`` joins as the empty string."""
    return "".join("" if value is None else to_string(value) for value in values)


def _js_substr(text: str, start: float, length: float | None) -> str:
    """JS ``String.prototype.substr(start, length)`` with integer-or-infinite arguments."""
    size = len(text)
    if start < 0:
        start = max(size + start, 0)
    begin = int(min(start, size))
    count = size - begin if length is None else int(min(max(length, 0), size - begin))
    return text[begin : begin + count]


def substr(source: Any, start: Any, end: Any = _ABSENT) -> str:
    """json-logic-js ``substr``: negative ``start`` counts from the end, a negative
    third argument drops that many characters from the end (PHP style)."""
    text = to_string(source)
    first = to_integer(start)
    if end is _ABSENT:
        return _js_substr(text, first, None)
    if to_number(end) < 0:
        if js_type(end) != NUMBER:
            # JS computes `temp.length + end` as string concatenation ("9" + "-2"),
            # which is NaN as a length: the result is always empty.
            return ""
        rest = _js_substr(text, first, None)
        return _js_substr(rest, 0, to_integer(len(rest) + to_number(end)))
    return _js_substr(text, first, to_integer(end))


class Cat(FunctionOperator):
    type = "cat"

    def function(self) -> Callable[..., Any]:
        return cat


class Substr(FunctionOperator):
    type = "substr"
    min_args = 2
    max_args = 3

    def function(self) -> Callable[..., Any]:
        return substr
