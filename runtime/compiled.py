"""SQLAlchemy Core statements compiled once, for hot paths that run them on the driver itself.

A :class:`Compiled` is a statement's SQL for one dialect and how to turn named values into
its positional parameters, each through the bound type's own bind processor (JSON, UTC
timestamps, arrays), exactly as an ordinary execution would; every value stays a bound
parameter. :func:`compiled_for` keeps them per dialect object.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import Dialect

T = TypeVar("T")


@dataclass(frozen=True)
class Compiled:
    """A statement compiled for one dialect: its SQL, and its parameters in order."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    defaults: Mapping[str, Any]

    @classmethod
    def of(cls, statement: Any, dialect: Dialect, columns: Sequence[str] | None = None) -> Compiled:
        compiled = statement.compile(
            dialect=dialect, column_keys=list(columns) if columns is not None else None
        )
        names = tuple(compiled.positiontup or ())
        binds = compiled.binds
        processors = tuple(
            binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        )
        defaults = {n: binds[n].value for n in names if binds[n].value is not None}
        return cls(str(compiled), names, processors, defaults)

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = row[name] if name in row else self.defaults.get(name)
            # Processors take None too (JSON writes 'null', as an ordinary execution does).
            out.append(process(value) if process is not None else value)
        return tuple(out)


_built: weakref.WeakKeyDictionary[Dialect, dict[Any, Any]] = weakref.WeakKeyDictionary()


def compiled_for(dialect: Dialect, key: Any, build: Callable[[Dialect], T]) -> T:
    """``build(dialect)``, made once per dialect object and ``key``."""
    per_dialect = _built.get(dialect)
    if per_dialect is None:
        per_dialect = _built[dialect] = {}
    found = per_dialect.get(key)
    if found is None:
        found = per_dialect[key] = build(dialect)
    return found
