"""Arrays: map filter reduce all some none merge in.

The second argument of map/filter/all/some/none (and of reduce) is evaluated
once per element with the element as data; reduce's data is
``{"current": element, "accumulator": value}``. Non-array inputs give ``[]``
(map, filter), the initial value (reduce), ``false`` (all, some), ``true`` (none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from ..coerce import strict_equals, to_string, truthy
from .base import Context, Evaluator, FunctionOperator, Issue, Operator, literal_type_issue

_ARRAY_OR_NULL = (list, tuple, type(None))


class _Scoped(Operator):
    min_args = max_args = 2

    def check(self, args: Sequence[Any]) -> Iterator[Issue]:
        return literal_type_issue(args, 0, _ARRAY_OR_NULL, "an array")


class Map(_Scoped):
    type = "map"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        source, body = args

        def run(data: Any, context: Context) -> Any:
            items = source(data, context)
            if type(items) is not list and type(items) is not tuple:
                return []
            return [body(item, context) for item in items]

        return run


class Filter(_Scoped):
    type = "filter"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        source, body = args

        def run(data: Any, context: Context) -> Any:
            items = source(data, context)
            if type(items) is not list and type(items) is not tuple:
                return []
            return [item for item in items if truthy(body(item, context))]

        return run


class Reduce(_Scoped):
    """``{"reduce": [array, logic, initial]}``; the initial value defaults to ``null``."""

    type = "reduce"
    max_args = 3

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        source, body = args[0], args[1]
        initial = args[2] if len(args) > 2 else None

        def run(data: Any, context: Context) -> Any:
            items = source(data, context)
            accumulator = initial(data, context) if initial is not None else None
            if type(items) is not list and type(items) is not tuple:
                return accumulator
            for item in items:
                accumulator = body({"current": item, "accumulator": accumulator}, context)
            return accumulator

        return run


class All(_Scoped):
    """True if every element passes; false for an empty array."""

    type = "all"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        source, body = args

        def run(data: Any, context: Context) -> bool:
            items = source(data, context)
            if (type(items) is not list and type(items) is not tuple) or not items:
                return False
            return all(truthy(body(item, context)) for item in items)

        return run


class Some(_Scoped):
    """True if any element passes (``none`` is its negation; a non-array has none)."""

    type = "some"
    negate: ClassVar[bool] = False

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        source, body = args
        negate = self.negate

        def run(data: Any, context: Context) -> bool:
            items = source(data, context)
            if type(items) is not list and type(items) is not tuple:
                return negate
            return negate ^ any(truthy(body(item, context)) for item in items)

        return run


class NoneOf(Some):
    type = "none"
    negate = True


def merge(*values: Any) -> list[Any]:
    """Concatenate arrays one level deep; non-arrays are appended."""
    merged: list[Any] = []
    for value in values:
        if type(value) is list or type(value) is tuple:
            merged.extend(value)
        else:
            merged.append(value)
    return merged


def contained_in(needle: Any, haystack: Any) -> bool:
    """json-logic-js ``in``: substring test for strings, ``===`` membership for arrays."""
    t = type(haystack)
    if t is str:
        # `!b` short-circuits first in JS: nothing is "in" the empty string.
        return bool(haystack) and to_string(needle) in haystack
    if t is list or t is tuple:
        if type(needle) is str:
            return needle in haystack
        return any(strict_equals(needle, item) for item in haystack)
    return False


class Merge(FunctionOperator):
    type = "merge"

    def function(self) -> Callable[..., Any]:
        return merge


class In(FunctionOperator):
    type = "in"
    min_args = max_args = 2

    def check(self, args: Sequence[Any]) -> Iterator[Issue]:
        return literal_type_issue(args, 1, (str, list, tuple, type(None)), "a string or an array")

    def function(self) -> Callable[..., Any]:
        return contained_in
