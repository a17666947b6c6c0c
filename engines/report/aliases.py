"""Named aliases of tables, built once per (table, name) and shared by every compile.

Building an alias builds a proxy for each of the table's columns on first use; a widget compile
needs a handful (``s``, ``j<n>``, ``m<n>``, ``l<n>``), so rebuilding them per compile costs
more than everything else the compiler does. Aliases are immutable Core constructs: sharing one
between statements (and threads) is safe. Tables are weak keys: a republished form's old table
drops its aliases with it.
"""

from __future__ import annotations

from threading import Lock
from weakref import WeakKeyDictionary

from sqlalchemy import Table
from sqlalchemy.sql.selectable import NamedFromClause

_ALIASES: WeakKeyDictionary[Table, dict[str, NamedFromClause]] = WeakKeyDictionary()
_LOCK = Lock()


def alias(table: Table, name: str) -> NamedFromClause:
    """``table.alias(name)``, the same object every time, with its columns set up."""
    cached = _ALIASES.get(table, {}).get(name)
    if cached is not None:
        return cached
    with _LOCK:
        named = _ALIASES.setdefault(table, {})
        if name not in named:
            made = table.alias(name)
            _ = made.c  # build the column proxies now, once
            named[name] = made
        return named[name]


def clear() -> None:
    """Forget every alias (tests)."""
    with _LOCK:
        _ALIASES.clear()


__all__ = ["alias", "clear"]
