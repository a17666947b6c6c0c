"""The operator contract.

A rule is compiled once into a tree of closures (``Evaluator``), each called as
``fn(data, context)``. An operator declares its ``type`` (the JSON key), its
arity, optional static checks of literal arguments, and ``compile``, which gets
the already compiled argument evaluators (plus the raw argument JSON) and
returns the evaluator for the whole node. Operators that need lazy or scoped
evaluation (``if``, ``and``, ``map`` ...) call their argument evaluators
themselves; plain functions of their evaluated arguments use ``eager``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeAlias

Context: TypeAlias = Mapping[str, Any]
Evaluator: TypeAlias = Callable[[Any, Context], Any]
Issue: TypeAlias = tuple[int | None, str, str]
"""A static problem: (argument index or ``None`` for the node, error code, message)."""

BAD_ARGUMENT = "logic.bad_argument"


class Operator(ABC):
    """Base class of JsonLogic operators; one instance per class is registered."""

    type: ClassVar[str]
    min_args: ClassVar[int] = 0
    max_args: ClassVar[int | None] = None

    def check(self, args: Sequence[Any]) -> Iterator[Issue]:
        """Static checks of the raw (uncompiled) arguments; arity is already checked."""
        return iter(())

    @abstractmethod
    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        """Return the evaluator of this node from the argument evaluators."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type!r}>"


def is_operation(value: Any) -> bool:
    """Is ``value`` a JsonLogic operation (an object with exactly one key)?"""
    return type(value) is dict and len(value) == 1


def literal_type_issue(
    args: Sequence[Any], index: int, allowed: tuple[type, ...], expected: str
) -> Iterator[Issue]:
    """An issue if ``args[index]`` is a literal (not an operation) of another type."""
    if index >= len(args):
        return
    value = args[index]
    if is_operation(value):
        return
    if type(value) is bool and bool not in allowed:
        yield (index, BAD_ARGUMENT, f"expected {expected}, got a boolean")
    elif not isinstance(value, allowed):
        got = "null" if value is None else type(value).__name__
        yield (index, BAD_ARGUMENT, f"expected {expected}, got {got}")


def constant(value: Any) -> Evaluator:
    """An evaluator that returns ``value``."""

    def const(data: Any, context: Context) -> Any:
        return value

    return const


def eager(fn: Callable[..., Any], args: Sequence[Evaluator]) -> Evaluator:
    """Evaluate all arguments, then return ``fn(*values)`` (specialised by arity)."""
    n = len(args)
    if n == 0:
        return lambda data, context: fn()
    if n == 1:
        (a,) = args
        return lambda data, context: fn(a(data, context))
    if n == 2:
        a, b = args
        return lambda data, context: fn(a(data, context), b(data, context))
    if n == 3:
        a, b, c = args
        return lambda data, context: fn(a(data, context), b(data, context), c(data, context))
    items = tuple(args)
    return lambda data, context: fn(*[item(data, context) for item in items])


class FunctionOperator(Operator):
    """An operator that is a plain function of its evaluated arguments."""

    @abstractmethod
    def function(self) -> Callable[..., Any]:
        """The Python function computing the result from the evaluated arguments."""

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        return eager(self.function(), args)
