"""Tangram extensions, text and collections:
contains starts_with ends_with lower upper length is_empty.

Strings are measured and sliced in Unicode code points (a browser
implementation should use ``[...s].length``, not ``s.length``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..coerce import OBJECT, js_type, same_value_zero, to_string
from .base import FunctionOperator


def contains(haystack: Any, needle: Any) -> bool:
    """Substring test for strings (case-sensitive), element test for arrays (``===``,
    NaN equal to NaN); ``false`` for anything else or a ``null`` needle in a string."""
    t = type(haystack)
    if t is str:
        return needle is not None and js_type(needle) != OBJECT and to_string(needle) in haystack
    if t is list or t is tuple:
        if type(needle) is str:
            return needle in haystack
        return any(same_value_zero(item, needle) for item in haystack)
    return False


def _scalar_text(value: Any) -> str | None:
    if value is None or js_type(value) == OBJECT:
        return None
    return to_string(value)


def starts_with(value: Any, prefix: Any) -> bool:
    text, start = _scalar_text(value), _scalar_text(prefix)
    return text is not None and start is not None and text.startswith(start)


def ends_with(value: Any, suffix: Any) -> bool:
    text, end = _scalar_text(value), _scalar_text(suffix)
    return text is not None and end is not None and text.endswith(end)


def lower(value: Any) -> str | None:
    text = _scalar_text(value)
    return None if text is None else text.lower()


def upper(value: Any) -> str | None:
    text = _scalar_text(value)
    return None if text is None else text.upper()


def length(value: Any) -> int | None:
    """Characters of a string, elements of an array, keys of an object; ``0`` for null."""
    if value is None:
        return 0
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value)
    return None


def is_empty(value: Any) -> bool:
    """``null``, ``""`` or ``[]``."""
    if value is None:
        return True
    t = type(value)
    if t is str or t is list or t is tuple:
        return len(value) == 0
    return False


class Contains(FunctionOperator):
    type = "contains"
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return contains


class StartsWith(FunctionOperator):
    type = "starts_with"
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return starts_with


class EndsWith(FunctionOperator):
    type = "ends_with"
    min_args = max_args = 2

    def function(self) -> Callable[..., Any]:
        return ends_with


class Lower(FunctionOperator):
    type = "lower"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return lower


class Upper(FunctionOperator):
    type = "upper"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return upper


class Length(FunctionOperator):
    type = "length"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return length


class IsEmpty(FunctionOperator):
    type = "is_empty"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return is_empty
