"""Data access: var, missing, missing_some."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..coerce import to_number
from ..paths import MISSING, Segments, split_path, walk
from .base import Context, Evaluator, Issue, Operator, is_operation, literal_type_issue

_PATH_TYPES = (str, int, float, type(None))


def path_evaluator(
    segments: Segments | None,
    default: Evaluator | None,
    source: Callable[[Any, Context], Any] | None = None,
) -> Evaluator:
    """Evaluator for a pre-split path into the data (or into ``source(data, context)``)."""
    if source is None:
        if segments is None:
            return lambda data, context: data
        if default is None and len(segments) == 1 and segments[0][1] is None:
            key = segments[0][0]

            def lookup(data: Any, context: Context) -> Any:
                if type(data) is dict:
                    return data.get(key)
                return walk(data, segments)

            return lookup
        if default is None:
            return lambda data, context: walk(data, segments)

        def lookup_default(data: Any, context: Context) -> Any:
            value = walk(data, segments, MISSING)
            return default(data, context) if value is MISSING else value

        return lookup_default

    get = source

    def lookup_source(data: Any, context: Context) -> Any:
        value = walk(get(data, context), segments, MISSING)
        if value is MISSING:
            return default(data, context) if default is not None else None
        return value

    return lookup_source


def dynamic_path_evaluator(
    key: Evaluator,
    default: Evaluator | None,
    source: Callable[[Any, Context], Any] | None = None,
) -> Evaluator:
    """Evaluator for a path computed at run time."""

    def lookup(data: Any, context: Context) -> Any:
        base = data if source is None else source(data, context)
        value = walk(base, split_path(key(data, context)), MISSING)
        if value is MISSING:
            return default(data, context) if default is not None else None
        return value

    return lookup


def compile_path(
    args: Sequence[Evaluator],
    raw: Sequence[Any],
    source: Callable[[Any, Context], Any] | None = None,
) -> Evaluator:
    """Shared by ``var`` and the context operators: ``[path, default]`` arguments."""
    default = args[1] if len(args) > 1 else None
    if not raw or not is_operation(raw[0]):
        return path_evaluator(split_path(raw[0] if raw else None), default, source)
    return dynamic_path_evaluator(args[0], default, source)


class PathOperator(Operator):
    max_args = 2

    def check(self, args: Sequence[Any]) -> Iterator[Issue]:
        return literal_type_issue(args, 0, _PATH_TYPES, "a path string or number")


class Var(PathOperator):
    """``{"var": "a.b"}`` / ``{"var": ["a.b", default]}``; ``""`` is the whole data."""

    type = "var"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        return compile_path(args, raw)


def missing_keys(data: Any, values: Sequence[Any]) -> list[Any]:
    """Keys whose value is absent, ``null`` or ``""``; a single array argument is the key list."""
    keys = values[0] if values and type(values[0]) in (list, tuple) else values
    result = []
    for key in keys:
        if type(key) is list or type(key) is tuple:
            # json-logic-js looks keys up with {"var": key}: an array key is [path, default].
            path = key[0] if key else None
            value = walk(data, split_path(path), key[1] if len(key) > 1 else None)
        else:
            value = walk(data, split_path(key))
        if value is None or (type(value) is str and value == ""):
            result.append(key)
    return result


class Missing(Operator):
    type = "missing"

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        items = tuple(args)
        return lambda data, context: missing_keys(data, [item(data, context) for item in items])


class MissingSome(Operator):
    """``{"missing_some": [need, keys]}``: ``[]`` if at least ``need`` keys are present."""

    type = "missing_some"
    min_args = max_args = 2

    def check(self, args: Sequence[Any]) -> Iterator[Issue]:
        yield from literal_type_issue(args, 0, (int, float), "a number")
        yield from literal_type_issue(args, 1, (list, tuple), "an array of keys")

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        need, options = args

        def run(data: Any, context: Context) -> list[Any]:
            count = need(data, context)
            keys = options(data, context)
            if type(keys) is not list and type(keys) is not tuple:
                keys = [keys]
            absent = missing_keys(data, keys)
            return [] if len(keys) - len(absent) >= to_number(count) else absent

        return run
