"""Tangram's JsonLogic engine (DESIGN §3): one condition language everywhere.

Pure Python, no I/O. Implements JsonLogic exactly as json-logic-js does (the
browser side) plus documented Tangram extensions (dates, text, current user);
see ``README.md`` in this package for every operator.

    from engines.logic import compile, evaluate, validate

    evaluate({"==": [{"var": "status"}, "done"]}, {"status": "done"})  # True
    rule = compile({">": [{"var": "amount"}, 100]})  # validate once ...
    rule({"amount": 120})  # ... evaluate many times
"""

from __future__ import annotations

from .coerce import truthy
from .errors import (
    ArgumentError,
    ArityError,
    ContextError,
    LogicError,
    MultipleKeysError,
    TooDeepError,
    UnknownOperatorError,
    format_path,
)
from .evaluator import (
    MAX_DEPTH,
    CompiledRule,
    clear_cache,
    compile_rule,
    evaluate,
    iter_errors,
    validate,
)
from .operators import OPERATORS, Evaluator, FunctionOperator, Operator, default_operators

compile = compile_rule  # the public name; shadows the builtin only in this module

__all__ = [
    "MAX_DEPTH",
    "OPERATORS",
    "ArgumentError",
    "ArityError",
    "CompiledRule",
    "ContextError",
    "Evaluator",
    "FunctionOperator",
    "LogicError",
    "MultipleKeysError",
    "Operator",
    "TooDeepError",
    "UnknownOperatorError",
    "clear_cache",
    "compile",
    "compile_rule",
    "default_operators",
    "evaluate",
    "format_path",
    "iter_errors",
    "truthy",
    "validate",
]
