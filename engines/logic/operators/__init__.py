"""Every JsonLogic operator, registered explicitly in one place."""

from __future__ import annotations

from engines.registry import Registry

from . import arithmetic, arrays, data, ext_context, ext_dates, ext_text, logic, strings
from .base import Context, Evaluator, FunctionOperator, Issue, Operator, constant, eager

__all__ = [
    "OPERATORS",
    "Context",
    "Evaluator",
    "FunctionOperator",
    "Issue",
    "Operator",
    "constant",
    "default_operators",
    "eager",
]

STANDARD: tuple[type[Operator], ...] = (
    # logic and comparison
    logic.If,
    logic.Ternary,
    logic.And,
    logic.Or,
    logic.Not,
    logic.DoubleNot,
    logic.Equal,
    logic.StrictEqual,
    logic.NotEqual,
    logic.StrictNotEqual,
    logic.Greater,
    logic.GreaterEqual,
    logic.Less,
    logic.LessEqual,
    logic.Log,
    # arithmetic
    arithmetic.Add,
    arithmetic.Subtract,
    arithmetic.Multiply,
    arithmetic.Divide,
    arithmetic.Modulo,
    arithmetic.Min,
    arithmetic.Max,
    # strings
    strings.Cat,
    strings.Substr,
    # arrays
    arrays.Map,
    arrays.Filter,
    arrays.Reduce,
    arrays.All,
    arrays.Some,
    arrays.NoneOf,
    arrays.Merge,
    arrays.In,
    # data access
    data.Var,
    data.Missing,
    data.MissingSome,
)

EXTENSIONS: tuple[type[Operator], ...] = (
    ext_dates.Now,
    ext_dates.Today,
    ext_dates.DateOp,
    ext_dates.DateAdd,
    ext_dates.DateDiff,
    ext_text.Contains,
    ext_text.StartsWith,
    ext_text.EndsWith,
    ext_text.Lower,
    ext_text.Upper,
    ext_text.Length,
    ext_text.IsEmpty,
    ext_context.CurrentUser,
    ext_context.CurrentDepartment,
)


def default_operators(*, extensions: bool = True) -> Registry[Operator]:
    """A fresh registry of the standard operators (and the Tangram extensions)."""
    classes = STANDARD + EXTENSIONS if extensions else STANDARD
    return Registry("logic_operator", (cls() for cls in classes))


OPERATORS: Registry[Operator] = default_operators()
"""The registry used by ``evaluate``/``compile``/``validate`` unless one is passed."""
