"""SQL over ``links`` fields: arrays of ids held one per row in a link table.

A many-relation keeps its ids in a link table (``owner`` = the row's key, ``element`` = an id),
so the row's array is the set of link rows that point back at it. Every test of that array is
a correlated subquery over those rows: ``EXISTS`` (the array is not null, has an element, some
element passes), ``NOT EXISTS`` (null, none passes) or ``COUNT`` (its length). The evaluator
sees ``null`` for a row without link rows, so "empty" and "null" are the same SQL condition.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from .types import Expr, SqlLinks

Bool = ColumnElement[bool]


def _links(e: Expr) -> SqlLinks:
    if e.links is None:  # pragma: no cover - callers dispatch on kind "links"
        raise TypeError("not a links expression")
    return e.links


def element(e: Expr) -> ColumnElement[Any]:
    """The element column (inside a subquery built by :func:`any_link`)."""
    return _links(e).element


def any_link(e: Expr, *conditions: Bool) -> Bool:
    """Some link row of the row ``e`` belongs to satisfies ``conditions`` (two-valued)."""
    links = _links(e)
    return exists().where(links.owner == e.sql, *conditions)


def count_links(e: Expr) -> ColumnElement[int]:
    """How many link rows the row has: the array's length (0 for null)."""
    links = _links(e)
    return (
        select(func.count(links.element, type_=Integer()))
        .where(links.owner == e.sql)
        .scalar_subquery()
    )
