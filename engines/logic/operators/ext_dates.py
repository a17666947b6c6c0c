"""Tangram extensions, dates: now today date date_add date_diff.

See ``engines/logic/dates.py`` for the accepted formats and the canonical output.
``context["now"]`` (a datetime or ISO string) pins the clock for determinism and
``context["timezone"]`` (IANA name) chooses the calendar day of ``today``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .. import dates
from ..coerce import format_datetime
from .base import BAD_ARGUMENT, Evaluator, FunctionOperator, Issue, Operator, is_operation


def _format(value: Any) -> str | None:
    return None if value is None else format_datetime(value)


class Now(Operator):
    """The current UTC datetime: ``"2024-05-01T12:30:00.000Z"``."""

    type = "now"
    max_args = 0

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        return lambda data, context: format_datetime(dates.current_datetime(context))


class Today(Operator):
    """The current date ``"2024-05-01"`` in ``context["timezone"]`` (default UTC)."""

    type = "today"
    max_args = 0

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        return lambda data, context: format_datetime(dates.current_date(context))


def to_date(value: Any) -> str | None:
    return _format(dates.parse(value))


def date_add(value: Any, amount: Any, unit: Any) -> str | None:
    return _format(dates.add(value, amount, unit))


class DateOp(FunctionOperator):
    """Parse an ISO date/datetime into canonical form; ``null`` if unparseable."""

    type = "date"
    min_args = max_args = 1

    def function(self) -> Callable[..., Any]:
        return to_date


def _unit_issue(args: Sequence[Any]) -> Iterator[Issue]:
    unit = args[2]
    if not is_operation(unit) and dates.normalize_unit(unit) is None:
        units = ", ".join(sorted(set(dates.UNITS.values())))
        yield (2, BAD_ARGUMENT, f"unknown unit {unit!r}; expected one of {units}")


class DateAdd(FunctionOperator):
    """``{"date_add": [date, amount, unit]}``."""

    type = "date_add"
    min_args = max_args = 3

    def check(self, args: Sequence[Any]) -> Iterator[Issue]:
        return _unit_issue(args)

    def function(self) -> Callable[..., Any]:
        return date_add


class DateDiff(FunctionOperator):
    """``{"date_diff": [a, b, unit]}`` is ``a - b`` in ``unit``."""

    type = "date_diff"
    min_args = max_args = 3

    def check(self, args: Sequence[Any]) -> Iterator[Issue]:
        return _unit_issue(args)

    def function(self) -> Callable[..., Any]:
        return dates.diff
