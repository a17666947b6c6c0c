"""The few SQL constructs whose spelling differs between SQLite and PostgreSQL.

Each is a small ``FunctionElement`` rendered by ``@compiles`` handlers: the
default handler is SQLite's spelling, ``postgresql`` has its own. Handlers
build ordinary SQLAlchemy expressions from the element's arguments (bound
parameters stay bound parameters); nothing is formatted into SQL text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, Float, Integer, String, cast, collate, exists, func, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

__all__ = [
    "AsciiLower",
    "AsciiUpper",
    "BinaryText",
    "JsonArrayHas",
    "JsonArrayLength",
    "JsonIsArray",
    "StrPos",
    "TruncMilliseconds",
    "as_double",
]


def _args(element: FunctionElement[Any]) -> list[ColumnElement[Any]]:
    return list(element.clauses)


def _grouped(sql: str) -> str:
    # Boolean elements may be followed by "= 1" on SQLite (no native booleans): keep them whole.
    return f"({sql})"


class BinaryText(FunctionElement[str]):
    """``x`` compared by code point: ``COLLATE BINARY`` (SQLite), ``COLLATE "C"`` (PostgreSQL)."""

    name = "tangram_binary_text"
    type = String()
    inherit_cache = True


@compiles(BinaryText)
def _binary_text(element: BinaryText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(collate(_args(element)[0], "BINARY"), **kw)


@compiles(BinaryText, "postgresql")
def _binary_text_pg(element: BinaryText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(collate(_args(element)[0], "C"), **kw)


class AsciiLower(FunctionElement[str]):
    """``lower(x)`` of ASCII letters only (SQLite's built-in; ``COLLATE "C"`` on PostgreSQL)."""

    name = "tangram_ascii_lower"
    type = String()
    inherit_cache = True


class AsciiUpper(FunctionElement[str]):
    """``upper(x)`` of ASCII letters only."""

    name = "tangram_ascii_upper"
    type = String()
    inherit_cache = True


@compiles(AsciiLower)
def _ascii_lower(element: AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.lower(_args(element)[0]), **kw)


@compiles(AsciiLower, "postgresql")
def _ascii_lower_pg(element: AsciiLower, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.lower(collate(_args(element)[0], "C")), **kw)


@compiles(AsciiUpper)
def _ascii_upper(element: AsciiUpper, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.upper(_args(element)[0]), **kw)


@compiles(AsciiUpper, "postgresql")
def _ascii_upper_pg(element: AsciiUpper, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(func.upper(collate(_args(element)[0], "C")), **kw)


class StrPos(FunctionElement[int]):
    """1-based position of ``needle`` in ``haystack`` (0 if absent): ``instr`` / ``strpos``."""

    name = "tangram_strpos"
    type = Integer()
    inherit_cache = True


@compiles(StrPos)
def _strpos(element: StrPos, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = _args(element)
    return compiler.process(func.instr(haystack, needle), **kw)


@compiles(StrPos, "postgresql")
def _strpos_pg(element: StrPos, compiler: SQLCompiler, **kw: Any) -> str:
    haystack, needle = _args(element)
    return compiler.process(func.strpos(haystack, needle), **kw)


class JsonIsArray(FunctionElement[bool]):
    """Two-valued: is ``x`` a JSON array (false for SQL ``NULL`` and JSON scalars)."""

    name = "tangram_json_is_array"
    type = Boolean()
    inherit_cache = True


@compiles(JsonIsArray)
def _json_is_array(element: JsonIsArray, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element)
    typeof = func.json_type(value, type_=String())
    return _grouped(compiler.process(typeof.is_not_distinct_from(literal("array")), **kw))


@compiles(JsonIsArray, "postgresql")
def _json_is_array_pg(element: JsonIsArray, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element)
    typeof = func.jsonb_typeof(cast(value, JSONB), type_=String())
    return _grouped(compiler.process(typeof.is_not_distinct_from(literal("array")), **kw))


class JsonArrayLength(FunctionElement[int]):
    """Elements of a JSON array (only meaningful where ``JsonIsArray`` holds)."""

    name = "tangram_json_array_length"
    type = Integer()
    inherit_cache = True


@compiles(JsonArrayLength)
def _json_array_length(element: JsonArrayLength, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element)
    return compiler.process(func.json_array_length(value, type_=Integer()), **kw)


@compiles(JsonArrayLength, "postgresql")
def _json_array_length_pg(element: JsonArrayLength, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element)
    return compiler.process(func.jsonb_array_length(cast(value, JSONB), type_=Integer()), **kw)


class JsonArrayHas(FunctionElement[bool]):
    """Does the JSON array ``x`` have the string element ``needle`` (``x`` known to be an array)."""

    name = "tangram_json_array_has"
    type = Boolean()
    inherit_cache = True


@compiles(JsonArrayHas)
def _json_array_has(element: JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    value, needle = _args(element)
    items = func.json_each(value).table_valued("value", "type")
    found = exists().where(items.c.type == literal("text"), items.c.value == needle)
    return _grouped(compiler.process(found, **kw))


@compiles(JsonArrayHas, "postgresql")
def _json_array_has_pg(element: JsonArrayHas, compiler: SQLCompiler, **kw: Any) -> str:
    value, needle = _args(element)
    found = cast(value, JSONB).op("@>", return_type=Boolean())(
        func.jsonb_build_array(needle, type_=JSONB)
    )
    return _grouped(compiler.process(found, **kw))


class TruncMilliseconds(FunctionElement[Any]):
    """A timestamp truncated to milliseconds (the evaluator's datetime resolution).

    SQLite stores SQLAlchemy datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, so
    the first 23 characters are the value truncated to milliseconds.
    """

    name = "tangram_trunc_ms"
    inherit_cache = True


@compiles(TruncMilliseconds)
def _trunc_ms(element: TruncMilliseconds, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element)
    return compiler.process(func.substr(value, literal(1), literal(23)), **kw)


@compiles(TruncMilliseconds, "postgresql")
def _trunc_ms_pg(element: TruncMilliseconds, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element)
    return compiler.process(func.date_trunc(literal("milliseconds"), value), **kw)


def as_double(value: ColumnElement[Any]) -> ColumnElement[float]:
    """``CAST(x AS FLOAT)``: REAL on SQLite, double precision on PostgreSQL (JS numbers)."""
    return cast(value, Float())
