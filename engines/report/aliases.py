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
from sqlalchemy.sql.selectable import Alias

_ALIASES: WeakKeyDictionary[Table, dict[str, Alias]] = WeakKeyDictionary()
_LOCK = Lock()


def alias(table: Table, name: str) -> Alias:
    """``table.alias(name)``, the same object every time, with its columns set up."""
    named = _ALIASES.get(table)
    if named is not None:
        found = named.get(name)
        if found is not None:
            return found
    with _LOCK:
        named = _ALIASES.setdefault(table, {})
        found = named.get(name)
        if found is None:
            found = table.alias(name)
            _ = found.c  # build the column proxies now, once
            named[name] = found
        return found


def clear() -> None:
    """Forget every alias (tests)."""
    with _LOCK:
        _ALIASES.clear()


__all__ = ["alias", "clear"]
