"""JsonLogic -> SQLAlchemy Core boolean expressions that agree with the evaluator.

The contract: for every rule this module accepts, ``WHERE <compiled>`` selects
exactly the rows ``r`` for which ``truthy(evaluate(rule, data(r)))`` holds, on
SQLite and on PostgreSQL. Anything whose JavaScript semantics cannot be
reproduced exactly raises ``NotSqlError`` (``logic.not_sql``) naming the node.

How: every node compiles to a typed value (``types.Const`` / ``types.Expr``).
Subtrees that do not read the row (literals, ``now``, ``today``,
``current_user``, ``date_add`` on constants ...) are folded to constants by the
evaluator itself. Operators then dispatch on the static JS types of their
operands, so coercions (``5 == "5"``, ``null < 1``, ``null + 1`` is NaN) are
decided at compile time and the SQL only ever compares like with like. Every
boolean produced is *two-valued* (never SQL ``NULL``): nullable operands are
split into an explicit ``IS NULL`` case whose JS outcome is computed at compile
time, so ``NOT`` / ``!`` behave as in JS.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, NoReturn

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    true,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType, TypeEngine

from ..coerce import (
    BOOLEAN,
    INF,
    NAN,
    NUMBER,
    OBJECT,
    STRING,
    js_type,
    less_equal,
    less_than,
    loose_equals,
    parse_float,
    strict_equals,
    to_integer,
    to_number,
    to_primitive,
    to_string,
    truthy,
)
from ..errors import PathSegment
from ..evaluator import evaluate, validate
from ..operators.arrays import contained_in
from ..operators.base import is_operation
from ..operators.ext_text import contains as js_contains
from ..operators.ext_text import ends_with as js_ends_with
from ..operators.ext_text import starts_with as js_starts_with
from ..operators.strings import substr as js_substr
from . import dialect, links
from .timeline import Timeline, timeline
from .types import Const, Expr, Fold, Kind, NotSqlError, SqlField, UnknownFieldError, Value

Path = tuple[PathSegment, ...]
Bool = ColumnElement[bool]

# Operators that read the row: never folded to constants (``log`` is refused outright).
_READS_DATA: Final = frozenset({"var", "missing", "missing_some", "log"})
# Operators whose second argument is evaluated per element (with the element as data).
_SCOPED: Final = frozenset({"map", "filter", "reduce", "all", "some", "none"})

_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "==": loose_equals,
    "===": strict_equals,
    "<": less_than,
    "<=": less_equal,
}

# Non-ASCII characters whose lower / upper case (Python, hence the evaluator) contains
# ASCII letters. The databases only fold ASCII letters, so these are mapped first;
# tests/engines/logic/test_sql.py checks the lists against unicodedata.
SPECIAL_LOWER: Final = ("\u0130", "\u212a")
SPECIAL_UPPER: Final = (
    "\u00df",
    "\u0131",
    "\u0149",
    "\u017f",
    "\u01f0",
    "\u1e96",
    "\u1e97",
    "\u1e98",
    "\u1e99",
    "\u1e9a",
    "\ufb00",
    "\ufb01",
    "\ufb02",
    "\ufb03",
    "\ufb04",
    "\ufb05",
    "\ufb06",
)
_INT64: Final = 2**63
_SQL_INT: Final = 2**31 - 2  # bound for substr positions (PostgreSQL takes int4)


# --- small SQL helpers ---------------------------------------------------------------------


def _bool(value: bool) -> Bool:
    return true() if value else false()


def _text(value: str) -> ColumnElement[str]:
    return literal(value, String())


def _number(value: int | float, *, integral: bool = True) -> ColumnElement[Any]:
    if integral and type(value) is int and -_INT64 <= value < _INT64:
        return literal(value, BigInteger())
    return literal(float(value), Float())


def _position(value: float) -> ColumnElement[int]:
    """A string position or length, clamped to int4 (PostgreSQL's substr takes integers)."""
    return literal(int(max(min(value, _SQL_INT), -_SQL_INT)), Integer())


def _length(value: ColumnElement[Any]) -> ColumnElement[int]:
    return func.length(value, type_=Integer())


def _is_null(e: Expr) -> Bool:
    if not e.nullable:
        return false()
    if e.kind == "array":
        return not_(dialect.JsonIsArray(e.sql))
    if e.kind == "links":
        return not_(links.any_link(e))
    return e.sql.is_(None)


def _not_null(e: Expr) -> Bool:
    if not e.nullable:
        return true()
    if e.kind == "array":
        return dialect.JsonIsArray(e.sql)
    if e.kind == "links":
        return links.any_link(e)
    return e.sql.is_not(None)


def _null_js(e: Expr) -> Any:
    """The JS value an SQL ``NULL`` of ``e`` stands for."""
    return NAN if e.nan else None


def _with_null(e: Expr, null_result: bool, predicate: Bool) -> Bool:
    """Two-valued: ``null_result`` where ``e`` is NULL, else ``predicate`` (which must not
    be NULL where ``e`` is not)."""
    if not e.nullable:
        return predicate
    if null_result:
        return or_(_is_null(e), predicate)
    return and_(_not_null(e), predicate)


def _is_true(e: Expr) -> Bool:
    return e.sql if not e.nullable else e.sql.is_(True)


def _is_false(e: Expr) -> Bool:
    return not_(e.sql) if not e.nullable else e.sql.is_(False)


def _array_length(e: Expr) -> ColumnElement[int]:
    # CASE keeps PostgreSQL from calling jsonb_array_length on a scalar.
    return case((dialect.JsonIsArray(e.sql), dialect.JsonArrayLength(e.sql)), else_=literal(0))


def _weaker(a: Fold | None, b: Fold | None) -> Fold | None:
    if a is None:
        return b
    if b is None or a == b:
        return a
    return "upper"


def _is_const(rule: Any) -> bool:
    """Does ``rule`` not depend on the row (so the evaluator can fold it)?"""
    t = type(rule)
    if t is dict:
        if len(rule) != 1:
            return True
        for name, raw in rule.items():
            args = list(raw) if type(raw) in (list, tuple) else [raw]
            if name in _READS_DATA:
                return False
            if name in _SCOPED:
                return _is_const(args[0]) and (len(args) < 3 or _is_const(args[2]))
            return all(_is_const(arg) for arg in args)
    if t is list or t is tuple:
        return all(_is_const(item) for item in rule)
    return True


def _split(rule: Any) -> tuple[str, list[Any], bool] | None:
    if not is_operation(rule):
        return None
    for name, raw in rule.items():
        listed = type(raw) in (list, tuple)
        return name, list(raw) if listed else [raw], listed
    return None  # pragma: no cover


class _Compiler:
    """One compilation: fields, the (pinned) context, dispatch by operator."""

    def __init__(self, fields: Mapping[str, SqlField], context: Mapping[str, Any]) -> None:
        self.fields = fields
        self.context = context
        self.values: dict[str, Callable[[list[Any], Path, bool], Value]] = {
            "var": self._var,
            "if": self._if_value,
            "?:": self._if_value,
            "and": self._and_or_value,
            "or": self._and_or_value,
            "!": self._predicate,
            "!!": self._predicate,
            "==": self._compare_op,
            "!=": self._compare_op,
            "===": self._compare_op,
            "!==": self._compare_op,
            "<": self._compare_op,
            "<=": self._compare_op,
            ">": self._compare_op,
            ">=": self._compare_op,
            "+": self._add_multiply,
            "*": self._add_multiply,
            "-": self._subtract,
            "/": self._divide,
            "%": self._modulo,
            "min": self._min_max,
            "max": self._min_max,
            "cat": self._cat,
            "substr": self._substr,
            "in": self._predicate,
            "contains": self._predicate,
            "starts_with": self._predicate,
            "ends_with": self._predicate,
            "lower": self._case_fold,
            "upper": self._case_fold,
            "length": self._length,
            "is_empty": self._predicate,
            "date": self._date,
            "some": self._quantifier,
            "none": self._quantifier,
            "all": self._quantifier,
        }

    # --- entry points --------------------------------------------------------------------

    def fold(self, rule: Any) -> Any:
        return evaluate(rule, None, context=self.context)

    def fold_values(self, name: str, values: Sequence[Value]) -> Any:
        """``name`` applied to constant values by the evaluator (values passed as data, so a
        computed NaN or an array is taken as it is, not read as a rule)."""
        consts = {str(i): v.value for i, v in enumerate(values) if isinstance(v, Const)}
        rule = {name: [{"var": str(i)} for i in range(len(values))]}
        return evaluate(rule, consts, context=self.context)

    def refuse(self, path: Path, message: str) -> NoReturn:
        raise NotSqlError(message, path)

    def cond(self, rule: Any, path: Path, null_is_false: bool = False) -> Bool:
        """The two-valued SQL truthiness of ``rule``; with ``null_is_false`` (the result is only
        used where SQL ``NULL`` acts as false, and never negated) it may be ``NULL`` where it
        would be false (see :func:`compile_condition`)."""
        if _is_const(rule):
            return _bool(truthy(self.fold(rule)))
        split = _split(rule)
        if split is not None:
            name, args, listed = split
            op_path = (*path, name)
            if null_is_false and name in ("and", "or"):
                return self._and_or_cond(args, op_path, listed, null_is_false=True)
            if null_is_false and name == "!!":
                return self.cond(args[0], self.arg_paths(op_path, 1, listed)[0], True)
            if null_is_false and name == "in":
                paths = self.arg_paths(op_path, len(args), listed)
                values = [self.value(arg, p) for arg, p in zip(args, paths, strict=True)]
                if all(isinstance(v, Const) for v in values):
                    return _bool(truthy(self.fold_values(name, values)))
                return self._in(values, op_path, null_is_false=True)
            structural = {
                "and": self._and_or_cond,
                "or": self._and_or_cond,
                "if": self._if_cond,
                "?:": self._if_cond,
                "!": self._not_cond,
                "!!": self._not_cond,
                "missing": self._missing,
                "missing_some": self._missing_some,
            }.get(name)
            if structural is not None:
                return structural(args, op_path, listed)
        return self.truth(self.value(rule, path))

    def value(self, rule: Any, path: Path) -> Value:
        if _is_const(rule):
            return Const(self.fold(rule))
        split = _split(rule)
        if split is None:
            self.refuse(path, "an array that refers to fields has no SQL form")
        name, args, listed = split
        op_path = (*path, name)
        handler = self.values.get(name)
        if handler is None:
            if name in ("missing", "missing_some"):
                self.refuse(op_path, f"{name!r} gives an array; use it only as a condition")
            if name == "log":
                self.refuse(op_path, "'log' has no SQL meaning")
            if name in _SCOPED or name == "merge":
                self.refuse(op_path, f"{name!r} over a field has no SQL form")
            self.refuse(
                op_path,
                f"{name!r} over a field has no SQL form; compare the field with a constant instead",
            )
        return handler(args, op_path, listed)

    def truth(self, v: Value) -> Bool:
        if isinstance(v, Const):
            return _bool(truthy(v.value))
        e = v
        if e.kind == "boolean":
            return _is_true(e)
        if e.kind == "number":
            return _with_null(e, False, e.sql != _number(0))
        if e.kind == "text":
            return _with_null(e, False, e.sql != _text(""))
        if e.kind == "array":
            return _array_length(e) > literal(0)
        if e.kind == "links":
            return links.any_link(e)  # null without links, a non-empty array with some
        return _not_null(e)  # date / datetime: a non-empty canonical string

    def arg_paths(self, path: Path, count: int, listed: bool) -> list[Path]:
        return [(*path, index) if listed else path for index in range(count)]

    def args_values(self, args: list[Any], path: Path, listed: bool) -> list[Value]:
        paths = self.arg_paths(path, len(args), listed)
        return [self.value(arg, p) for arg, p in zip(args, paths, strict=True)]

    # --- data access ---------------------------------------------------------------------

    def _var(self, args: list[Any], path: Path, listed: bool) -> Value:
        key = args[0] if args else None
        if is_operation(key):
            self.refuse(path, "a computed 'var' path has no SQL form")
        if key is None or key == "":
            self.refuse(path, "'var' of the whole row has no SQL form")
        # A default applies only to absent data; every field of the table is present.
        return self.field(to_string(key), path)

    def field(self, name: str, path: Path) -> Expr:
        spec = self.fields.get(name)
        if spec is None:
            raise UnknownFieldError(f"unknown field {name!r}", path)
        sql = spec.expression
        nullable = not (isinstance(sql, Column) and sql.nullable is False)
        if spec.kind == "number":
            if isinstance(sql.type, Integer):
                return Expr(sql, "number", nullable, integral=True)
            # Decimals compare as JS doubles, exactly like the evaluator's float(Decimal).
            return Expr(dialect.as_double(sql), "number", nullable)
        if spec.kind == "array":
            return Expr(sql, "array", nullable=True, source=name)  # SQL NULL or JSON null
        if spec.kind == "links":
            return Expr(sql, "links", nullable=True, source=name, links=spec.links)
        return Expr(sql, spec.kind, nullable)

    def _missing_keys(self, args: list[Any], path: Path) -> list[Any]:
        if not all(_is_const(arg) for arg in args):
            self.refuse(path, "computed 'missing' keys have no SQL form")
        values = [self.fold(arg) for arg in args]
        if values and type(values[0]) in (list, tuple):
            return list(values[0])
        return values

    def _is_missing(self, key: Any, path: Path) -> Bool:
        if type(key) in (list, tuple, dict):
            self.refuse(path, "'missing' keys must be field names")
        if key is None or key == "":
            self.refuse(path, "'missing' of the whole row has no SQL form")
        e = self.field(to_string(key), path)
        if e.kind == "text":
            return or_(_is_null(e), e.sql == _text(""))
        return _is_null(e)

    def _missing(self, args: list[Any], path: Path, listed: bool) -> Bool:
        keys = self._missing_keys(args, path)
        return or_(false(), *[self._is_missing(key, path) for key in keys])

    def _missing_some(self, args: list[Any], path: Path, listed: bool) -> Bool:
        if not (_is_const(args[0]) and _is_const(args[1])):
            self.refuse(path, "computed 'missing_some' arguments have no SQL form")
        need = to_number(self.fold(args[0]))
        keys = self.fold(args[1])
        if type(keys) not in (list, tuple):
            keys = [keys]
        absent = [self._is_missing(key, path) for key in keys]
        if need != need or need == INF:
            enough: Bool = false()
        elif need == -INF:
            enough = true()
        else:
            present: ColumnElement[Any] = literal(0)
            for missing in absent:
                present = present + case((missing, literal(0)), else_=literal(1))
            enough = present >= _number(need)
        return and_(not_(enough), or_(false(), *absent))

    # --- logic ---------------------------------------------------------------------------

    def _not_cond(self, args: list[Any], path: Path, listed: bool) -> Bool:
        inner = self.cond(args[0], self.arg_paths(path, 1, listed)[0])
        return not_(inner) if path[-1] == "!" else inner

    def _and_or_cond(
        self, args: list[Any], path: Path, listed: bool, null_is_false: bool = False
    ) -> Bool:
        is_and = path[-1] == "and"
        parts: list[Bool] = []
        for arg, p in zip(args, self.arg_paths(path, len(args), listed), strict=True):
            if _is_const(arg):
                if truthy(self.fold(arg)) != is_and:
                    return _bool(not is_and)  # decides: a falsy `and` / a truthy `or` operand
                continue
            parts.append(self.cond(arg, p, null_is_false))
        if not args:
            return false()  # null
        if not parts:
            return _bool(is_and)
        return and_(*parts) if is_and else or_(*parts)

    def _if_branches(
        self, args: list[Any], path: Path, listed: bool
    ) -> tuple[list[tuple[Bool, Any, Path]], Any, Path]:
        """Non-constant (condition, branch rule, branch path) pairs and the final rule."""
        paths = self.arg_paths(path, len(args), listed)
        branches: list[tuple[Bool, Any, Path]] = []
        for i in range(0, len(args) - 1, 2):
            if _is_const(args[i]):
                if truthy(self.fold(args[i])):
                    return branches, args[i + 1], paths[i + 1]
                continue
            branches.append((self.cond(args[i], paths[i]), args[i + 1], paths[i + 1]))
        if len(args) % 2:
            return branches, args[-1], paths[-1]
        return branches, None, path

    def _if_cond(self, args: list[Any], path: Path, listed: bool) -> Bool:
        branches, last, last_path = self._if_branches(args, path, listed)
        parts: list[Bool] = []
        earlier: list[Bool] = []
        for condition, rule, p in branches:
            parts.append(and_(*earlier, condition, self.cond(rule, p)))
            earlier.append(not_(condition))
        parts.append(and_(*earlier, self.cond(last, last_path)))
        return or_(*parts)

    def _if_value(self, args: list[Any], path: Path, listed: bool) -> Value:
        branches, last, last_path = self._if_branches(args, path, listed)
        otherwise = self.value(last, last_path)
        if not branches:
            return otherwise
        values = [self.value(rule, p) for _, rule, p in branches]
        shape, sqls = self.unify([*values, otherwise], path)
        whens = [(condition, sql) for (condition, _, _), sql in zip(branches, sqls, strict=False)]
        return Expr(
            case(*whens, else_=sqls[-1]),
            shape.kind,
            shape.nullable,
            shape.nan,
            shape.integral,
            shape.fold,
        )

    def _and_or_value(self, args: list[Any], path: Path, listed: bool) -> Value:
        is_and = path[-1] == "and"
        if not args:
            return Const(None)
        values: list[Value] = []
        paths = self.arg_paths(path, len(args), listed)
        for index, (arg, p) in enumerate(zip(args, paths, strict=True)):
            if _is_const(arg):
                constant = self.fold(arg)
                if truthy(constant) == is_and and index < len(args) - 1:
                    continue  # does not decide the result
                values.append(Const(constant))
                break
            values.append(self.value(arg, p))
        if len(values) == 1:
            return values[0]
        shape, sqls = self.unify(values, path)
        result = sqls[-1]
        for v, sql in zip(reversed(values[:-1]), reversed(sqls[:-1]), strict=True):
            decided = self.truth(v)
            result = (
                case((decided, result), else_=sql) if is_and else case((decided, sql), else_=result)
            )
        return Expr(result, shape.kind, shape.nullable, shape.nan, shape.integral, shape.fold)

    def unify(self, values: Sequence[Value], path: Path) -> tuple[Expr, list[ColumnElement[Any]]]:
        """A common shape for the values of a CASE (all of one kind), and their SQL."""
        exprs = [v for v in values if isinstance(v, Expr)]
        if not exprs:
            return self.unify_constants(values, path)
        kind = exprs[0].kind
        if any(e.kind != kind for e in exprs):
            self.refuse(path, "branches of different types have no SQL form")
        if kind == "links":
            self.refuse(path, "a many-relation as a value of if/and/or has no SQL form")
        nan = any(e.nan and e.nullable for e in exprs)
        nulls = any(not e.nan and e.nullable for e in exprs)
        integral = all(e.integral for e in exprs)
        fold: Fold | None = None
        for e in exprs:
            fold = _weaker(fold, e.fold)
        sqls: list[ColumnElement[Any]] = []
        for v in values:
            if isinstance(v, Expr):
                sqls.append(v.sql)
                continue
            c = v.value
            if c is None:
                nulls = True
                sqls.append(null())
            elif kind == "number" and js_type(c) == NUMBER and type(c) is not bool:
                if c != c:
                    nan = True
                    sqls.append(null())
                elif c in (INF, -INF):
                    self.refuse(path, "an infinite number has no SQL form")
                else:
                    integral = integral and type(c) is int and -_INT64 <= c < _INT64
                    sqls.append(_number(c))
            elif kind == "text" and type(c) is str:
                sqls.append(_text(c))
            elif kind == "boolean" and type(c) is bool:
                sqls.append(_bool(c))
            elif kind in ("date", "datetime") and type(c) is str:
                line = timeline(kind)
                moment = line.canonical(c)
                if moment is None:
                    self.refuse(path, f"branches mix a {kind} field with the string {c!r}")
                sqls.append(literal(moment, self.moment_type(exprs[0])))
            else:
                self.refuse(path, f"branches mix a {kind} field with {c!r}")
        if nan and nulls:
            self.refuse(path, "branches mix null and NaN")
        shape = Expr(sqls[0], kind, nan or nulls, nan, integral and kind == "number", fold)
        return shape, sqls

    def unify_constants(
        self, values: Sequence[Value], path: Path
    ) -> tuple[Expr, list[ColumnElement[Any]]]:
        """A CASE over constants only: they must share one JS type (or be null)."""
        consts = [v.value for v in values if isinstance(v, Const)]
        kinds = {js_type(c) for c in consts if c is not None and c == c}
        by_tag: dict[int, tuple[Kind, ColumnElement[Any]]] = {
            NUMBER: ("number", literal(0)),
            STRING: ("text", _text("")),
            BOOLEAN: ("boolean", false()),
        }
        if len(kinds) != 1 or next(iter(kinds)) not in by_tag:
            self.refuse(path, "branches of different types have no SQL form")
        kind, sample = by_tag[next(iter(kinds))]
        if kind == "text" and any(type(c) is not str for c in consts if c is not None):
            self.refuse(path, "branches of different types have no SQL form")
        shape, sqls = self.unify([Expr(sample, kind, nullable=False, integral=True), *values], path)
        return shape, sqls[1:]

    def _predicate(self, args: list[Any], path: Path, listed: bool) -> Value:
        """Operators whose result is a boolean: compile as a condition."""
        name = path[-1]
        paths = self.arg_paths(path, len(args), listed)
        if name in ("!", "!!"):
            return Expr(self._not_cond(args, path, listed), "boolean", nullable=False)
        values = [self.value(arg, p) for arg, p in zip(args, paths, strict=True)]
        if all(isinstance(v, Const) for v in values):  # e.g. a NaN computed from constants
            return Const(self.fold_values(str(name), values))
        predicate = {
            "in": self._in,
            "contains": self._contains,
            "starts_with": self._starts_ends,
            "ends_with": self._starts_ends,
            "is_empty": self._is_empty,
        }[str(name)](values, path)
        return Expr(predicate, "boolean", nullable=False)

    # --- comparison ----------------------------------------------------------------------

    def _compare_op(self, args: list[Any], path: Path, listed: bool) -> Value:
        name = str(path[-1])
        values = self.args_values(args, path, listed)
        if name in ("!=", "!=="):
            positive = "==" if name == "!=" else "==="
            predicate = not_(self.compare(positive, values[0], values[1], path))
        elif name in (">", ">="):
            predicate = self.compare(name.replace(">", "<"), values[1], values[0], path)
        elif len(values) == 3:
            predicate = and_(
                self.compare(name, values[0], values[1], path),
                self.compare(name, values[1], values[2], path),
            )
        else:
            predicate = self.compare(name, values[0], values[1], path)
        return Expr(predicate, "boolean", nullable=False)

    def compare(self, op: str, a: Value, b: Value, path: Path) -> Bool:
        """``a op b`` for op in ``==``, ``===``, ``<``, ``<=`` (JS semantics, two-valued)."""
        if isinstance(a, Const) and isinstance(b, Const):
            return _bool(_COMPARE[op](a.value, b.value))
        if isinstance(a, Const):
            assert isinstance(b, Expr)
            return self.compare_constant(op, b, a.value, swapped=True, path=path)
        if isinstance(b, Const):
            return self.compare_constant(op, a, b.value, swapped=False, path=path)
        return self.compare_exprs(op, a, b, path)

    def compare_constant(self, op: str, e: Expr, c: Any, *, swapped: bool, path: Path) -> Bool:
        """``e op c`` (or ``c op e`` when ``swapped``)."""
        fn = _COMPARE[op]

        def js(v: Any) -> bool:
            return fn(c, v) if swapped else fn(v, c)

        null_result = js(_null_js(e)) if e.nullable else False
        return _with_null(e, null_result, self._compare_present(op, e, c, swapped, js, path))

    def _compare_present(
        self, op: str, e: Expr, c: Any, swapped: bool, js: Callable[[Any], bool], path: Path
    ) -> Bool:
        kind = e.kind
        equality = op in ("==", "===")
        if kind == "boolean":
            if_true, if_false = js(True), js(False)
            if if_true == if_false:
                return _bool(if_true)
            return _is_true(e) if if_true else _is_false(e)
        if kind == "number":
            if op == "===":
                if js_type(c) != NUMBER:
                    return false()
                target = to_number(c)
            elif op == "==" and c is None:
                return false()
            else:
                target = to_number(to_primitive(c))
            if target != target:
                return false()
            if target in (INF, -INF):
                return _bool(js(0))  # every stored number is finite: same answer for all
            return self._sql_compare(op, e.sql, _number(target), swapped)
        if kind == "text":
            if equality:
                if op == "===" or c is None:
                    if type(c) is not str:
                        return false()
                else:
                    c = to_primitive(c)
                    if type(c) is not str:
                        self.refuse(
                            path,
                            "text == number/boolean needs JS Number() parsing, "
                            "which has no SQL equivalent",
                        )
                self.check_fold(e, c, path)
                return e.sql == _text(c)
            c = to_primitive(c)
            if type(c) is not str:
                self.refuse(
                    path,
                    "ordering text against a non-string compares numbers "
                    "(JS Number()), which has no SQL equivalent",
                )
            if e.fold is not None:
                self.refuse(path, "ordering a lower/upper result has no exact SQL form")
            if any(ord(ch) >= 0xD800 for ch in c):
                self.refuse(
                    path,
                    "ordering against characters from U+D800 on differs between "
                    "JS (UTF-16) and SQL (code point) order",
                )
            return self._sql_compare(op, dialect.BinaryText(e.sql), _text(c), swapped)
        if kind in ("date", "datetime"):
            line = timeline(kind)
            if equality:
                if op == "===" or c is None:
                    if type(c) is not str:
                        return false()
                else:
                    c = to_primitive(c)
                    if type(c) is not str:
                        return false()  # Number("YYYY-...") is NaN
                moment = line.canonical(c)
                if moment is None:
                    return false()
                index = line.index(moment)
                return self.moment_range(e, line, index, index + 1)
            c = to_primitive(c)
            if type(c) is not str:
                return _bool(js(line.text(line.first)))  # NaN comparison: false
            fn = _COMPARE[op]
            text = c
            if swapped:  # text < x: false, then true along the timeline
                start = line.first_true(lambda s: fn(text, s))
                return self.moment_range(e, line, start, line.last + 1)
            end = line.first_true(lambda s: not fn(s, text))
            return self.moment_range(e, line, line.first, end)
        # array
        if op == "===":
            return false()
        if op == "==" and (c is None or type(c) in (list, tuple, dict)):
            return false()  # objects compare by identity
        self.refuse(
            path,
            "comparing an array field with a scalar converts it to a string, which has no SQL form",
        )

    @staticmethod
    def _sql_compare(op: str, x: ColumnElement[Any], y: ColumnElement[Any], swapped: bool) -> Bool:
        if op in ("==", "==="):
            return x == y
        if op == "<":
            return x > y if swapped else x < y
        return x >= y if swapped else x <= y

    def moment_type(self, e: Expr) -> TypeEngine[Any]:
        if not isinstance(e.sql.type, NullType):
            return e.sql.type
        return Date() if e.kind == "date" else DateTime(timezone=True)

    def moment_range(self, e: Expr, line: Timeline, start: int, end: int) -> Bool:
        """``e`` present and within timeline positions ``[start, end)``."""
        start = max(start, line.first)
        end = min(end, line.last + 1)
        if start >= end:
            return false()
        sql_type = self.moment_type(e)
        parts: list[Bool] = []
        if start > line.first:
            parts.append(e.sql >= literal(line.value(start), sql_type))
        if end <= line.last:
            parts.append(e.sql < literal(line.value(end), sql_type))
        if not parts:
            return _not_null(e)
        return and_(*parts)

    def check_fold(self, e: Expr, text: str, path: Path) -> None:
        if e.fold is not None and not text.isascii():
            self.refuse(
                path,
                "a lower/upper result against non-ASCII text: the databases fold "
                "ASCII letters only",
            )

    def compare_exprs(self, op: str, a: Expr, b: Expr, path: Path) -> Bool:
        fn = _COMPARE[op]
        if a.fold is not None or b.fold is not None:
            self.refuse(path, "comparing a lower/upper result with a field has no exact SQL form")
        kinds = {a.kind, b.kind}
        if a.kind == b.kind and a.kind in ("array", "links"):
            if op in ("==", "===") and a.source is not None and a.source == b.source:
                return true()  # the same array object (or null == null)
            self.refuse(path, "arrays compare by identity; only a field with itself has an answer")
        if op in ("==", "==="):
            if op == "==" and kinds == {"number", "boolean"}:
                a, b = self.as_number(a, keep_null=True), self.as_number(b, keep_null=True)
            elif a.kind != b.kind:
                strings = {"date", "datetime"}
                numeric = {"number", "boolean"}
                if op == "===" or kinds == strings or (kinds & strings and kinds & numeric):
                    return self.both_null(a, b, fn)  # never equal when both are present
                self.refuse(
                    path,
                    f"comparing a {a.kind} field with a {b.kind} field needs JS "
                    "type coercion that has no SQL equivalent",
                )
            x, y = a.sql, b.sql
            if a.kind == "datetime":
                x, y = dialect.TruncMilliseconds(x), dialect.TruncMilliseconds(y)
            return or_(self.both_null(a, b, fn), and_(_not_null(a), _not_null(b), x == y))
        if kinds <= {"number", "boolean"}:
            x_e, y_e = self.as_number(a, keep_null=False), self.as_number(b, keep_null=False)
            guards = [_not_null(e) for e in (x_e, y_e) if e.nullable]
            return and_(*guards, self._sql_compare(op, x_e.sql, y_e.sql, False))
        if a.kind == b.kind and a.kind in ("date", "datetime"):
            sample = timeline(a.kind).text(1)
            assert not fn(None, sample) and not fn(sample, None)  # null vs date: NaN
            x, y = a.sql, b.sql
            if a.kind == "datetime":
                x, y = dialect.TruncMilliseconds(x), dialect.TruncMilliseconds(y)
            return or_(
                self.both_null(a, b, fn),
                and_(_not_null(a), _not_null(b), self._sql_compare(op, x, y, False)),
            )
        self.refuse(
            path, f"ordering a {a.kind} field against a {b.kind} field has no exact SQL form"
        )

    def both_null(self, a: Expr, b: Expr, fn: Callable[[Any, Any], bool]) -> Bool:
        if a.nullable and b.nullable and fn(_null_js(a), _null_js(b)):
            return and_(_is_null(a), _is_null(b))
        return false()

    def as_number(self, e: Expr, *, keep_null: bool) -> Expr:
        """JS ``Number(e)`` for numbers and booleans. ``keep_null``: SQL NULL stays JS null
        (for ``==``); otherwise null becomes 0 and only NaN stays NULL."""
        if e.kind == "boolean":
            if e.nullable and keep_null:
                sql = case((e.sql.is_(True), literal(1)), (e.sql.is_(False), literal(0)))
                return Expr(sql, "number", True, integral=True)
            return Expr(
                case((_is_true(e), literal(1)), else_=literal(0)), "number", False, integral=True
            )
        if keep_null or e.nan or not e.nullable:
            return e
        return Expr(func.coalesce(e.sql, _number(0)), "number", False, integral=e.integral)

    # --- arithmetic ----------------------------------------------------------------------

    def number_operand(self, v: Value, path: Path) -> Value:
        """JS ``Number(v)``: Const number or a number Expr whose NULL means NaN."""
        if isinstance(v, Const):
            return Const(to_number(v.value))
        if v.kind in ("number", "boolean"):
            return self.as_number(v, keep_null=False)
        self.refuse(path, f"Number() of a {v.kind} field has no exact SQL form")

    def float_operand(self, v: Value, path: Path) -> Value:
        """JS ``parseFloat(v)`` (used by ``+`` and ``*``)."""
        if isinstance(v, Const):
            return Const(parse_float(v.value))
        if v.kind == "number":
            return Expr(v.sql, "number", v.nullable, nan=True, integral=v.integral)
        if v.kind == "boolean":
            return Const(NAN)  # parseFloat("true"), parseFloat("null") ...
        self.refuse(path, f"parseFloat() of a {v.kind} field has no exact SQL form")

    def arithmetic(
        self,
        operands: Sequence[Value],
        combine: Callable[[ColumnElement[Any], ColumnElement[Any]], ColumnElement[Any]],
        python: Callable[..., Any],
        path: Path,
        *,
        floating: bool = False,
    ) -> Value:
        if any(isinstance(o, Const) and o.value != o.value for o in operands):
            return Const(NAN)
        if all(isinstance(o, Const) for o in operands):
            return Const(python(*[o.value for o in operands if isinstance(o, Const)]))
        if any(isinstance(o, Const) and o.value in (INF, -INF) for o in operands):
            self.refuse(path, "arithmetic with an infinite number has no SQL form")
        integral = not floating and all(
            o.integral if isinstance(o, Expr) else type(o.value) is int for o in operands
        )
        sqls: list[ColumnElement[Any]] = []
        for o in operands:
            if isinstance(o, Const):
                sqls.append(_number(o.value, integral=integral))
            elif integral or not o.integral:
                sqls.append(o.sql)
            else:
                sqls.append(dialect.as_double(o.sql))
        result = sqls[0]
        for sql in sqls[1:]:
            result = combine(result, sql)
        nullable = any(isinstance(o, Expr) and o.nullable for o in operands)
        return Expr(result, "number", nullable, nan=nullable, integral=integral)

    def _add_multiply(self, args: list[Any], path: Path, listed: bool) -> Value:
        values = self.args_values(args, path, listed)
        paths = self.arg_paths(path, len(args), listed)
        if path[-1] == "*" and len(values) == 1:
            return values[0]  # json-logic-js returns a single factor unchanged
        operands = [self.float_operand(v, p) for v, p in zip(values, paths, strict=True)]
        if path[-1] == "+":
            return self.arithmetic(operands, lambda x, y: x + y, lambda *n: sum(n), path)
        # Products are doubles, as in JS: integer products overflow BIGINT on PostgreSQL.
        return self.arithmetic(operands, lambda x, y: x * y, math.prod, path, floating=True)

    def _subtract(self, args: list[Any], path: Path, listed: bool) -> Value:
        values = self.args_values(args, path, listed)
        paths = self.arg_paths(path, len(args), listed)
        operands = [self.number_operand(v, p) for v, p in zip(values, paths, strict=True)]
        if len(operands) == 1:
            return self.arithmetic(
                [Const(0), operands[0]], lambda x, y: x - y, lambda x, y: x - y, path
            )
        return self.arithmetic(operands, lambda x, y: x - y, lambda x, y: x - y, path)

    def _divisor(self, operands: list[Value], path: Path) -> int | float:
        divisor = operands[1]
        if not isinstance(divisor, Const):
            self.refuse(
                path,
                "division by a field can give Infinity/NaN, which SQL cannot "
                "represent; divide by a non-zero constant",
            )
        value = divisor.value
        if value == 0 or value in (INF, -INF):
            if value != value:
                return NAN
            self.refuse(path, "division by zero or by an infinite constant has no SQL form")
        return value  # type: ignore[no-any-return]

    def _divide(self, args: list[Any], path: Path, listed: bool) -> Value:
        values = self.args_values(args, path, listed)
        paths = self.arg_paths(path, 2, listed)
        operands = [self.number_operand(v, p) for v, p in zip(values, paths, strict=True)]
        if isinstance(operands[0], Const) and operands[0].value != operands[0].value:
            return Const(NAN)
        divisor = self._divisor(operands, path)
        return self.arithmetic(
            [operands[0], Const(float(divisor))],
            lambda x, y: x / y,
            lambda x, y: x / y,
            path,
            floating=True,
        )

    def _modulo(self, args: list[Any], path: Path, listed: bool) -> Value:
        values = self.args_values(args, path, listed)
        paths = self.arg_paths(path, 2, listed)
        operands = [self.number_operand(v, p) for v, p in zip(values, paths, strict=True)]
        dividend = operands[0]
        if isinstance(dividend, Const) and dividend.value != dividend.value:
            return Const(NAN)
        divisor = self._divisor(operands, path)
        if divisor != divisor:
            return Const(NAN)
        if not (isinstance(dividend, Expr) and dividend.integral and type(divisor) is int):
            self.refuse(
                path,
                "'%' compiles only for integer fields and integer constants "
                "(JS remainder of decimals has no common SQL form)",
            )
        return self.arithmetic([dividend, Const(divisor)], lambda x, y: x % y, math.fmod, path)

    def _min_max(self, args: list[Any], path: Path, listed: bool) -> Value:
        values = self.args_values(args, path, listed)
        paths = self.arg_paths(path, len(args), listed)
        operands = [self.number_operand(v, p) for v, p in zip(values, paths, strict=True)]
        if any(isinstance(o, Const) and o.value != o.value for o in operands):
            return Const(NAN)
        if any(isinstance(o, Const) and o.value in (INF, -INF) for o in operands):
            self.refuse(path, "min/max with an infinite number has no SQL form")
        is_max = path[-1] == "max"
        result = operands[0]
        for operand in operands[1:]:
            result = self._pick(result, operand, is_max)
        return result

    def _pick(self, a: Value, b: Value, is_max: bool) -> Value:
        if isinstance(a, Const) and isinstance(b, Const):
            return Const(max(a.value, b.value) if is_max else min(a.value, b.value))
        exprs = [o for o in (a, b) if isinstance(o, Expr)]
        integral = all(o.integral if isinstance(o, Expr) else type(o.value) is int for o in (a, b))
        x = a.sql if isinstance(a, Expr) else _number(a.value, integral=integral)
        y = b.sql if isinstance(b, Expr) else _number(b.value, integral=integral)
        better = x >= y if is_max else x <= y
        nullable = any(e.nullable for e in exprs)
        if nullable:
            unknown = or_(*[_is_null(e) for e in exprs if e.nullable])
            sql = case((unknown, null()), (better, x), else_=y)
        else:
            sql = case((better, x), else_=y)
        return Expr(sql, "number", nullable, nan=nullable, integral=integral)

    # --- strings -------------------------------------------------------------------------

    def string_of(self, e: Expr, path: Path) -> ColumnElement[str]:
        """JS ``String(e)`` where ``e`` is not NULL."""
        if e.kind == "text":
            return e.sql
        if e.kind == "number" and e.integral:
            return cast(e.sql, String())
        if e.kind == "boolean":
            if not e.nullable:
                return case((e.sql, _text("true")), else_=_text("false"))
            return case((e.sql.is_(True), _text("true")), (e.sql.is_(False), _text("false")))
        self.refuse(path, f"String() of a {e.kind} field has no exact SQL form")

    def _cat(self, args: list[Any], path: Path, listed: bool) -> Value:
        values = self.args_values(args, path, listed)
        paths = self.arg_paths(path, len(args), listed)
        parts: list[ColumnElement[Any]] = []
        fold: Fold | None = None
        for v, p in zip(values, paths, strict=True):
            if isinstance(v, Const):
                text = "" if v.value is None else to_string(v.value)
                if text:
                    parts.append(_text(text))
                continue
            sql = self.string_of(v, p)
            fold = _weaker(fold, v.fold)
            if v.nullable:
                sql = func.coalesce(sql, _text("NaN" if v.nan else ""))
            parts.append(sql)
        result: ColumnElement[Any] = parts[0] if parts else _text("")
        for part in parts[1:]:
            result = result.concat(part)
        return Expr(result, "text", nullable=False, fold=fold)

    def _substr(self, args: list[Any], path: Path, listed: bool) -> Value:
        paths = self.arg_paths(path, len(args), listed)
        source = self.value(args[0], paths[0])
        if not all(_is_const(arg) for arg in args[1:]):
            self.refuse(path, "'substr' with computed positions has no SQL form")
        if isinstance(source, Const):  # pragma: no cover - folded earlier
            return Const(js_substr(source.value, *[self.fold(a) for a in args[1:]]))
        if source.kind != "text" or source.fold is not None:
            self.refuse(path, f"'substr' of a {source.kind} field has no exact SQL form")
        start = self.fold(args[1])
        first = to_integer(start)
        x = source.sql
        size = _length(x)
        # begin: 0-based start; rest: characters from begin to the end.
        begin: ColumnElement[Any]
        rest: ColumnElement[Any]
        if first >= 0:
            begin = _position(first)
            rest = case((size > _position(first), size - _position(first)), else_=literal(0))
        else:
            back = int(max(first, -_SQL_INT))
            shifted = size + _position(back)
            begin = case((shifted > literal(0), shifted), else_=literal(0))
            rest = case((shifted > literal(0), _position(-back)), else_=size)
        position = begin + literal(1)
        body: ColumnElement[Any]
        if len(args) < 3:
            body = func.substr(x, position, type_=String())
        else:
            end = self.fold(args[2])
            count = to_number(end)
            if count < 0:
                if js_type(end) != NUMBER or count == -INF:
                    body = _text("")
                else:
                    keep = rest + _position(math.floor(count))
                    length = case((keep > literal(0), keep), else_=literal(0))
                    body = func.substr(x, position, length, type_=String())
            else:
                whole = to_integer(end)
                if whole == INF:
                    body = func.substr(x, position, type_=String())
                else:
                    body = func.substr(x, position, _position(whole), type_=String())
        if source.nullable:
            fallback = js_substr(None, start, *[self.fold(a) for a in args[2:]])
            body = case((x.is_(None), _text(fallback)), else_=body)
        return Expr(body, "text", nullable=False)

    def _case_fold(self, args: list[Any], path: Path, listed: bool) -> Value:
        name = str(path[-1])
        v = self.value(args[0], self.arg_paths(path, 1, listed)[0])
        if isinstance(v, Const):  # pragma: no cover - folded earlier
            return v
        if v.kind != "text" or v.fold is not None:
            self.refuse(path, f"{name!r} of a {v.kind} field has no exact SQL form")
        sql = v.sql
        specials = SPECIAL_LOWER if name == "lower" else SPECIAL_UPPER
        for ch in specials:
            mapped = ch.lower() if name == "lower" else ch.upper()
            sql = func.replace(sql, _text(ch), _text(mapped), type_=String())
        folded = dialect.AsciiLower(sql) if name == "lower" else dialect.AsciiUpper(sql)
        return Expr(folded, "text", v.nullable, fold="lower" if name == "lower" else "upper")

    def _length(self, args: list[Any], path: Path, listed: bool) -> Value:
        v = self.value(args[0], self.arg_paths(path, 1, listed)[0])
        if isinstance(v, Const):  # pragma: no cover - folded earlier
            return v
        if v.kind == "text":
            if v.fold == "upper":
                self.refuse(path, "'length' of an upper() result has no exact SQL form")
            return Expr(func.coalesce(_length(v.sql), literal(0)), "number", False, integral=True)
        if v.kind == "array":
            return Expr(_array_length(v), "number", False, integral=True)
        if v.kind == "links":
            return Expr(links.count_links(v), "number", False, integral=True)
        if v.kind in ("date", "datetime"):
            size = 10 if v.kind == "date" else 24
            if not v.nullable:
                return Const(size)
            sql = case((_is_null(v), literal(0)), else_=literal(size))
            return Expr(sql, "number", False, integral=True)
        # numbers and booleans have no length (null); a null value has length 0
        if v.nan or not v.nullable:
            return Const(None)
        return Expr(case((_is_null(v), literal(0)), else_=null()), "number", True, integral=True)

    def _is_empty(self, values: list[Value], path: Path) -> Bool:
        (v,) = values
        if isinstance(v, Const):  # pragma: no cover - folded earlier
            return _bool(v.value is None or v.value in ("", []))
        if v.kind == "text":
            return or_(_is_null(v), v.sql == _text(""))
        if v.kind == "array":
            return _array_length(v) == literal(0)
        if v.kind == "links":
            return not_(links.any_link(v))
        if v.nan:
            return false()  # NaN is not empty
        return _is_null(v)

    # --- membership and substrings -------------------------------------------------------

    def member(
        self,
        needle: Expr,
        items: Sequence[Any],
        path: Path,
        *,
        nan_equal: bool,
        null_is_false: bool = False,
    ) -> Bool:
        """``needle`` is ``===`` (or SameValueZero) to one of the constant ``items``.

        With ``null_is_false`` the ``IN`` of the simple items has no ``IS NOT NULL`` guard: for
        a NULL needle it is NULL instead of false, which is the same where NULL acts as false."""
        unique: list[Any] = []
        for item in items:
            if not any(strict_equals(item, seen) for seen in unique):
                unique.append(item)
        parts: list[Bool] = []
        simple: list[ColumnElement[Any]] = []
        for item in unique:
            if item is None:
                if needle.nullable and not needle.nan:
                    parts.append(_is_null(needle))
            elif (
                needle.kind == "text"
                and type(item) is str
                and (needle.fold is None or item.isascii())
            ):
                simple.append(_text(item))
            elif (
                needle.kind == "number"
                and js_type(item) == NUMBER
                and type(item) is not bool
                and item not in (INF, -INF)
            ):
                if item != item:
                    if nan_equal and needle.nan and needle.nullable:
                        parts.append(_is_null(needle))
                    continue
                simple.append(_number(item))
            else:
                parts.append(self.compare_constant("===", needle, item, swapped=False, path=path))
        if simple:
            found = needle.sql.in_(simple)
            parts.append(found if null_is_false else and_(_not_null(needle), found))
        return or_(false(), *parts)

    def _in(self, values: list[Value], path: Path, null_is_false: bool = False) -> Bool:
        needle, haystack = values
        if isinstance(haystack, Const):
            h = haystack.value
            assert isinstance(needle, Expr)
            if type(h) is str:
                if h == "":
                    return false()
                if needle.fold is not None and not h.isascii():
                    self.refuse(
                        path, "a lower/upper result in non-ASCII text has no exact SQL form"
                    )
                null_result = contained_in(_null_js(needle), h) if needle.nullable else False
                found = dialect.StrPos(_text(h), self.string_of(needle, path)) > literal(0)
                return _with_null(needle, null_result, found)
            if type(h) in (list, tuple):
                return self.member(needle, h, path, nan_equal=False, null_is_false=null_is_false)
            return false()
        e = haystack
        if e.kind == "text":
            present = and_(_not_null(e), e.sql != _text(""))
            if isinstance(needle, Const):
                text = to_string(needle.value)
                self.check_fold(e, text, path)
                if text == "":
                    return present
                return and_(present, dialect.StrPos(e.sql, _text(text)) > literal(0))
            if e.fold is not None or needle.fold is not None:
                self.refuse(
                    path,
                    "substring tests between a lower/upper result and a field have "
                    "no exact SQL form",
                )
            text_sql = self.string_of(needle, path)
            if needle.nullable:
                text_sql = func.coalesce(text_sql, _text(to_string(_null_js(needle))))
            return and_(present, dialect.StrPos(e.sql, text_sql) > literal(0))
        if e.kind == "array":
            return self.array_has(e, needle, path)
        if e.kind == "links":
            return self.links_have(e, needle)
        if e.kind in ("number", "boolean"):
            return false()
        self.refuse(path, f"a substring of a {e.kind} field has no exact SQL form")

    def links_have(self, e: Expr, needle: Value) -> Bool:
        """The id array ``e`` has the element ``needle`` (``===``, also SameValueZero: ids
        are never NaN)."""
        if isinstance(needle, Const):
            c = needle.value
            if js_type(c) != NUMBER or type(c) is bool or c != c or c in (INF, -INF):
                return false()  # only finite numbers are === to an id
            return links.any_link(e, links.element(e) == _number(to_number(c)))
        if needle.kind != "number":
            return false()
        return and_(_not_null(needle), links.any_link(e, links.element(e) == needle.sql))

    def array_has(self, e: Expr, needle: Value, path: Path) -> Bool:
        """The string array ``e`` has the element ``needle`` (``===``)."""
        if isinstance(needle, Const):
            if type(needle.value) is not str:
                return false()  # only strings are === to string elements
            return and_(
                dialect.JsonIsArray(e.sql), dialect.JsonArrayHas(e.sql, _text(needle.value))
            )
        if needle.kind != "text":
            return false()
        if needle.fold is not None:
            self.refuse(path, "array membership of a lower/upper result has no exact SQL form")
        return and_(
            dialect.JsonIsArray(e.sql), _not_null(needle), dialect.JsonArrayHas(e.sql, needle.sql)
        )

    def _contains(self, values: list[Value], path: Path) -> Bool:
        haystack, needle = values
        if isinstance(haystack, Const):
            h = haystack.value
            assert isinstance(needle, Expr)
            if type(h) is str:
                if needle.kind in ("array", "links"):
                    return false()
                if needle.fold is not None and not h.isascii():
                    self.refuse(
                        path, "a lower/upper result in non-ASCII text has no exact SQL form"
                    )
                text_sql = self.string_of(needle, path)
                if h == "":
                    found = text_sql == _text("")
                else:
                    found = dialect.StrPos(_text(h), text_sql) > literal(0)
                return _with_null(needle, js_contains(h, _null_js(needle)), found)
            if type(h) in (list, tuple):
                return self.member(needle, h, path, nan_equal=True)
            return false()
        e = haystack
        if e.kind == "text":
            if isinstance(needle, Const):
                c = needle.value
                if c is None or js_type(c) == OBJECT:
                    return false()
                text = to_string(c)
                self.check_fold(e, text, path)
                if text == "":
                    return _not_null(e)
                return and_(_not_null(e), dialect.StrPos(e.sql, _text(text)) > literal(0))
            if needle.kind in ("array", "links"):
                return false()
            if e.fold is not None or needle.fold is not None:
                self.refuse(
                    path,
                    "substring tests between a lower/upper result and a field have "
                    "no exact SQL form",
                )
            needle_text = self.string_of(needle, path)
            if needle.nan and needle.nullable:  # String(NaN) is "NaN"
                return and_(
                    _not_null(e),
                    dialect.StrPos(e.sql, func.coalesce(needle_text, _text("NaN"))) > literal(0),
                )
            return and_(
                _not_null(e),
                _not_null(needle),
                dialect.StrPos(e.sql, needle_text) > literal(0),
            )
        if e.kind == "array":
            return self.array_has(e, needle, path)
        if e.kind == "links":
            return self.links_have(e, needle)
        if e.kind in ("number", "boolean"):
            return false()
        self.refuse(path, f"a substring of a {e.kind} field has no exact SQL form")

    def _starts_ends(self, values: list[Value], path: Path) -> Bool:
        starts = path[-1] == "starts_with"
        js = js_starts_with if starts else js_ends_with
        subject, affix = values
        if isinstance(affix, Const):
            c = affix.value
            assert isinstance(subject, Expr)
            if c is None or js_type(c) == OBJECT or subject.kind in ("array", "links"):
                return false()
            text = to_string(c)
            if subject.kind in ("date", "datetime"):
                if not starts:
                    self.refuse(path, "'ends_with' on a date has no SQL form")
                return _with_null(subject, False, self.moment_prefix(subject, text))
            self.check_fold(subject, text, path)
            s = self.string_of(subject, path)
            null_result = js(_null_js(subject), c)
            if text == "":
                return _with_null(subject, null_result, true())
            size = _position(len(text))
            if starts:
                test = func.substr(s, literal(1), size, type_=String()) == _text(text)
            else:
                tail = func.substr(s, _length(s) - size + literal(1), type_=String())
                test = and_(_length(s) >= size, tail == _text(text))
            return _with_null(subject, null_result, test)
        if isinstance(subject, Const):
            c = subject.value
            if c is None or js_type(c) == OBJECT:
                return false()
            text = to_string(c)
            pieces = [text[:i] if starts else text[i:] for i in range(len(text) + 1)]
            if affix.kind in ("text", "number", "boolean") and (
                affix.kind == "text" or affix.integral or affix.kind == "boolean"
            ):
                if affix.fold is not None and not text.isascii():
                    self.refuse(
                        path, "a lower/upper result against non-ASCII text has no exact SQL form"
                    )
                s = self.string_of(affix, path)
                found = s.in_([_text(p) for p in pieces])
                return _with_null(affix, js(c, _null_js(affix)), found)
            if affix.kind in ("array", "links"):
                return false()
            self.refuse(path, f"a {affix.kind} field as a prefix/suffix has no exact SQL form")
        a, b = subject, affix
        if a.kind != "text" or b.kind != "text" or a.fold is not None or b.fold is not None:
            if {"array", "links"} & {a.kind, b.kind}:
                return false()
            self.refuse(path, "prefix/suffix tests between these fields have no exact SQL form")
        size = _length(b.sql)
        if starts:
            test = func.substr(a.sql, literal(1), size, type_=String()) == b.sql
        else:
            tail = func.substr(a.sql, _length(a.sql) - size + literal(1), type_=String())
            test = and_(_length(a.sql) >= size, tail == b.sql)
        return and_(_not_null(a), _not_null(b), test)

    def moment_prefix(self, e: Expr, prefix: str) -> Bool:
        """Dates whose canonical text starts with ``prefix``: a range of the timeline."""
        line = timeline(e.kind)
        start = line.first_true(lambda s: not less_than(s, prefix))
        end = line.first_true(lambda s: not less_than(s, prefix) and not s.startswith(prefix))
        return self.moment_range(e, line, start, end)

    # --- quantifiers ---------------------------------------------------------------------

    def _quantifier(self, args: list[Any], path: Path, listed: bool) -> Value:
        """``some`` / ``none`` / ``all`` over a links field: (NOT) EXISTS over its link rows,
        the body compiled over one element. Other arrays are refused."""
        name = str(path[-1])
        paths = self.arg_paths(path, len(args), listed)
        source = self.value(args[0], paths[0])
        if not isinstance(source, Expr) or source.kind != "links":
            self.refuse(path, f"{name!r} over a field has no SQL form (only over a many-relation)")
        body = _ElementCompiler(links.element(source), self.context).cond(args[1], paths[1])
        if name == "some":
            predicate = links.any_link(source, body)
        elif name == "none":
            predicate = not_(links.any_link(source, body))
        else:  # all: false for null and for an empty array
            predicate = and_(links.any_link(source), not_(links.any_link(source, not_(body))))
        return Expr(predicate, "boolean", nullable=False)

    # --- dates ---------------------------------------------------------------------------

    def _date(self, args: list[Any], path: Path, listed: bool) -> Value:
        v = self.value(args[0], self.arg_paths(path, 1, listed)[0])
        if isinstance(v, Expr) and v.kind in ("date", "datetime"):
            return v  # already canonical
        self.refuse(path, "'date' of a non-date field has no exact SQL form")


class _ElementCompiler(_Compiler):
    """The body of ``some`` / ``none`` / ``all`` over a links field: its data is one element.

    The evaluator runs the body with the element (an integer id) as the whole data, so
    ``{"var": ""}`` is the element and any other path walks into a number: its default.
    """

    def __init__(self, element: ColumnElement[Any], context: Mapping[str, Any]) -> None:
        super().__init__({}, context)
        self.element = element

    def _var(self, args: list[Any], path: Path, listed: bool) -> Value:
        key = args[0] if args else None
        if is_operation(key):
            self.refuse(path, "a computed 'var' path has no SQL form")
        if key is None or key == "":
            return Expr(self.element, "number", nullable=False, integral=True)
        default = args[1] if len(args) > 1 else None
        if not _is_const(default):
            self.refuse(path, "a computed 'var' default has no SQL form")
        return Const(self.fold(default))  # a number has no keys: the default

    def _missing(self, args: list[Any], path: Path, listed: bool) -> Bool:
        self.refuse(path, "'missing' inside some/none/all has no SQL form")

    def _missing_some(self, args: list[Any], path: Path, listed: bool) -> Bool:
        self.refuse(path, "'missing_some' inside some/none/all has no SQL form")


def compile_condition(
    rule: Any,
    fields: Mapping[str, SqlField],
    *,
    context: Mapping[str, Any] | None = None,
    null_is_false: bool = False,
) -> ColumnElement[bool]:
    """Compile a JsonLogic rule to a two-valued SQLAlchemy boolean expression.

    ``null_is_false``: the caller uses the result only where SQL ``NULL`` acts as false (a
    ``WHERE``, a ``CASE WHEN``, an ``AND`` of such) and never negates it. The result may then be
    ``NULL`` where it would be false, so guards that only turn NULL into false are left out
    (``x IN ('a', 'b')`` without ``x IS NOT NULL``) along the ``and`` / ``or`` / ``!!`` spine
    from the root; under ``!`` and everywhere else the result stays two-valued.

    ``fields`` maps ``var`` names (dotted names allowed) to columns; ``context``
    is the evaluator's (``now``, ``timezone``, ``user``, ``department``); context
    operators are folded to bound literals. Raises the evaluator's ``LogicError``
    for malformed rules, ``UnknownFieldError`` (``logic.unknown_field``) for a
    ``var`` outside ``fields`` and ``NotSqlError`` (``logic.not_sql``) for a node
    without exact SQL semantics.
    """
    validate(rule)
    pinned = dict(context or {})
    if pinned.get("now") is None:
        pinned["now"] = datetime.now(UTC)  # one clock for the whole rule
    return _Compiler(fields, pinned).cond(rule, (), null_is_false)


__all__ = ["compile_condition"]
