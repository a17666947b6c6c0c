"""Compile JsonLogic rules into closure trees; validate; evaluate.

``compile_rule(rule)`` walks the rule once — resolving every operator through
the registry, checking arity and literal arguments, limiting nesting depth —
and returns a ``CompiledRule`` whose call does no dispatch and no validation.
``evaluate(rule, data)`` is ``compile_rule(rule)(data)`` with a small cache
keyed by the rule's JSON text, so repeated evaluation of equal rules compiles
once. Evaluating a valid rule never raises for any JSON data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final

from engines.registry import Registry

from .errors import (
    ArityError,
    LogicError,
    MultipleKeysError,
    PathSegment,
    TooDeepError,
    UnknownOperatorError,
    error_for,
)
from .operators import OPERATORS, Context, Evaluator, Operator, constant

MAX_DEPTH: Final = 200
"""Maximum nesting of operations and arrays in a rule."""

_EMPTY_CONTEXT: Final[Context] = MappingProxyType({})
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))


def _null(data: Any, context: Context) -> Any:
    return None


def _array(items: Sequence[Evaluator]) -> Evaluator:
    frozen = tuple(items)
    return lambda data, context: [item(data, context) for item in frozen]


def _arity(operator: Operator) -> str:
    low, high = operator.min_args, operator.max_args
    if high is None:
        return f"at least {low}"
    if low == high:
        return f"exactly {low}"
    return f"{low} to {high}"


class _Compiler:
    """One walk over a rule. ``errors is None``: raise the first problem (strict);
    otherwise collect every problem and keep walking."""

    __slots__ = ("errors", "operators")

    def __init__(self, operators: Mapping[str, Operator], *, collect: bool) -> None:
        self.operators = operators
        self.errors: list[LogicError] | None = [] if collect else None

    def fail(self, error: LogicError) -> None:
        if self.errors is None:
            raise error
        self.errors.append(error)

    def node(self, rule: Any, path: tuple[PathSegment, ...], depth: int) -> Evaluator:
        t = type(rule)
        if t is dict:
            if len(rule) == 1:
                for name, raw in rule.items():
                    return self.operation(name, raw, path, depth)
            if any(isinstance(key, str) and key in self.operators for key in rule):
                operators = sorted(k for k in rule if isinstance(k, str) and k in self.operators)
                self.fail(
                    MultipleKeysError(
                        f"an operation must have exactly one key; this object has {len(rule)} "
                        f"keys including the operator(s) {', '.join(map(repr, operators))}",
                        path,
                    )
                )
                return _null
            return constant(rule)
        if t is list or t is tuple:
            if depth > MAX_DEPTH:
                self.fail(TooDeepError(f"rule nests deeper than {MAX_DEPTH} levels", path))
                return _null
            items = []
            for index, item in enumerate(rule):
                items.append(self.node(item, (*path, index), depth + 1))
            return _array(items)
        return constant(rule)

    def operation(
        self, name: Any, raw: Any, path: tuple[PathSegment, ...], depth: int
    ) -> Evaluator:
        op_path = (*path, name if isinstance(name, str) else str(name))
        if depth > MAX_DEPTH:
            self.fail(TooDeepError(f"rule nests deeper than {MAX_DEPTH} levels", op_path))
            return _null
        listed = type(raw) is list or type(raw) is tuple
        args: list[Any] = list(raw) if listed else [raw]
        operator = self.operators.get(name) if isinstance(name, str) else None
        ok = True
        if operator is None:
            ok = False
            self.fail(UnknownOperatorError(f"unknown operator {name!r}", op_path))
        elif len(args) < operator.min_args or (
            operator.max_args is not None and len(args) > operator.max_args
        ):
            ok = False
            self.fail(
                ArityError(
                    f"{name!r} takes {_arity(operator)} argument(s), got {len(args)}", op_path
                )
            )
        else:
            for index, code, message in operator.check(args):
                ok = False
                where = op_path if index is None or not listed else (*op_path, index)
                self.fail(error_for(code, f"{name!r}: {message}", where))
        compiled = []
        for index, arg in enumerate(args):
            compiled.append(self.node(arg, (*op_path, index) if listed else op_path, depth + 1))
        if not ok or operator is None:
            return _null
        return operator.compile(compiled, args)


class CompiledRule:
    """A validated rule, ready to evaluate: ``compiled(data, context=...)``."""

    __slots__ = ("_fn", "rule")

    def __init__(self, rule: Any, fn: Evaluator) -> None:
        self.rule = rule
        self._fn = fn

    def __call__(self, data: Any = None, *, context: Context | None = None) -> Any:
        return self._fn(data, _EMPTY_CONTEXT if context is None else context)

    def __repr__(self) -> str:
        return f"<CompiledRule {json.dumps(self.rule, default=repr)[:80]}>"


def _operators(operators: Registry[Operator] | None) -> Mapping[str, Operator]:
    return (OPERATORS if operators is None else operators).as_mapping()


def compile_rule(rule: Any, *, operators: Registry[Operator] | None = None) -> CompiledRule:
    """Validate ``rule`` and compile it; raises the first ``LogicError``."""
    compiler = _Compiler(_operators(operators), collect=False)
    return CompiledRule(rule, compiler.node(rule, (), 1))


def iter_errors(rule: Any, *, operators: Registry[Operator] | None = None) -> Iterator[LogicError]:
    """Every problem in ``rule``, in document order (each has path, code, message)."""
    compiler = _Compiler(_operators(operators), collect=True)
    compiler.node(rule, (), 1)
    return iter(compiler.errors or ())


def validate(rule: Any, *, operators: Registry[Operator] | None = None) -> None:
    """Raise the first ``LogicError`` of ``rule`` (the same one ``evaluate`` raises)."""
    compile_rule(rule, operators=operators)


@lru_cache(maxsize=2048)
def _compile_json(text: str, version: int) -> CompiledRule:
    return compile_rule(json.loads(text))


def evaluate(
    rule: Any,
    data: Any = None,
    *,
    context: Context | None = None,
    operators: Registry[Operator] | None = None,
) -> Any:
    """Evaluate ``rule`` against ``data``.

    ``context`` feeds the extension operators: ``now`` (datetime or ISO string),
    ``timezone`` (IANA name, for ``today``), ``user`` and ``department`` (dicts).
    """
    t = type(rule)
    if t is not dict and t is not list and t is not tuple:
        return rule
    if operators is not None:
        return compile_rule(rule, operators=operators)(data, context=context)
    try:
        text = _ENCODER.encode(rule)
    except (TypeError, ValueError, RecursionError):
        compiled = compile_rule(rule)
    else:
        compiled = _compile_json(text, OPERATORS.version)
    return compiled(data, context=context)


def clear_cache() -> None:
    """Forget the rules compiled by ``evaluate``."""
    _compile_json.cache_clear()
