"""Public types of the SQL compiler, its errors, and the typed values it works on.

A rule is compiled bottom-up into *typed values*: a :class:`Const` (a JSON value
known at compile time: literals and everything folded from them and from the
context) or an :class:`Expr` (an SQL expression whose JavaScript type is known
statically). Knowing the JS type of every SQL expression is what lets the
compiler reproduce JS coercions exactly, or refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy.sql.elements import ColumnElement

from ..errors import LogicError

Kind = Literal["text", "number", "boolean", "date", "datetime", "array", "links"]
"""The logic type of a field (``engines.form`` field types declare it as ``logic_kind``)."""

KINDS: Final[frozenset[str]] = frozenset(
    {"text", "number", "boolean", "date", "datetime", "array", "links"}
)

Fold = Literal["lower", "upper"]


@dataclass(frozen=True)
class SqlLinks:
    """Where the elements of a ``links`` field live: one row per element in a link table.

    ``owner`` is the link table's column holding the key of the row the element belongs to
    (the field's ``expression``), ``element`` the column holding the element, an integer id.
    A row without link rows is JS ``null``, a row with some is the array of their ids.
    """

    owner: ColumnElement[Any]
    element: ColumnElement[Any]


@dataclass(frozen=True)
class SqlField:
    """How a logic variable maps to SQL.

    ``expression`` is a column (or any column expression) and ``kind`` says how
    its values look to the evaluator: ``text`` (string), ``number`` (integers
    or decimals), ``boolean``, ``date`` (an SQL ``DATE``; the evaluator sees
    ``YYYY-MM-DD``), ``datetime`` (an aware UTC timestamp; the evaluator sees
    ``YYYY-MM-DDTHH:MM:SS.mmmZ``) and ``array`` (a JSON array of strings: JSON
    on SQLite, JSONB on PostgreSQL). SQL ``NULL`` (and JSON ``null``) is JS ``null``.
    ``links`` is an array of integer ids held in a link table (a many-relation):
    ``expression`` is then the row's key and ``links`` says where the elements are.
    """

    expression: ColumnElement[Any]
    kind: Kind
    links: SqlLinks | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown field kind {self.kind!r}")
        if (self.kind == "links") != (self.links is not None):
            raise ValueError("a links field needs `links`, and only a links field has them")


class NotSqlError(LogicError):
    """The rule (or one of its nodes) has no exact SQL equivalent."""

    code = "logic.not_sql"


class UnknownFieldError(LogicError):
    """A ``var`` (or ``missing`` key) names no field of the table."""

    code = "logic.unknown_field"


@dataclass(frozen=True)
class Const:
    """A value known at compile time (a JSON value, possibly NaN or infinite)."""

    value: Any


@dataclass(frozen=True)
class Expr:
    """An SQL expression with a statically known JS type.

    * ``nullable``: the SQL value may be ``NULL`` (for ``array``: SQL ``NULL``
      or anything that is not a JSON array, e.g. JSON ``null``).
    * ``nan`` (numbers only): SQL ``NULL`` stands for JS ``NaN`` instead of ``null``.
    * ``integral`` (numbers only): an integer-typed SQL expression.
    * ``fold`` (text only): the SQL value is the evaluator's ``lower``/``upper``
      result on every ASCII character and a different non-ASCII character in the
      same place; consumers accept it only where that cannot change the outcome
      (tests against ASCII-only constants).
    * ``source``: the field name when the expression is exactly that field (JS compares
      arrays by identity, and two reads of one field are the same array).
    * ``links`` (``links`` only): the link table; ``sql`` is then the row's key, never a
      value, and every consumer builds ``EXISTS`` / ``COUNT`` subqueries from ``links``.
    """

    sql: ColumnElement[Any]
    kind: Kind
    nullable: bool = True
    nan: bool = False
    integral: bool = False
    fold: Fold | None = None
    source: str | None = None
    links: SqlLinks | None = None


Value = Const | Expr
