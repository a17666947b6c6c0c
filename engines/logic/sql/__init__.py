"""Compile JsonLogic conditions to SQLAlchemy Core (DESIGN §3).

    from engines.logic.sql import SqlField, compile_condition

    fields = {"status": SqlField(table.c.f_3, "text"), "amount": SqlField(table.c.f_4, "number")}
    where = compile_condition({">": [{"var": "amount"}, 100]}, fields)
    select(table.c.id).where(where)

For every rule it accepts, the compiled condition selects exactly the rows on
which the evaluator's result is truthy, on SQLite and PostgreSQL; anything else
raises ``NotSqlError`` (``logic.not_sql``). See ``engines/logic/README.md``.
"""

from __future__ import annotations

from .compiler import compile_condition
from .types import Kind, NotSqlError, SqlField, SqlLinks, UnknownFieldError

__all__ = [
    "Kind",
    "NotSqlError",
    "SqlField",
    "SqlLinks",
    "UnknownFieldError",
    "compile_condition",
]
