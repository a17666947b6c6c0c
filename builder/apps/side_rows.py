"""Keeping the rows beside a form's table while SQLite rebuilds it.

SQLite alters most things by rebuilding the table (alembic batch mode: copy, ``DROP``, rename).
With foreign keys on, that ``DROP`` first deletes every row, and every table that refers to the
form's table ``ON DELETE CASCADE`` — a sub-table's child rows, a many-relation's links — loses
its rows with it. :func:`kept_side_rows` copies those rows into temporary tables before the
rebuild and puts them back after it, in the same transaction. PostgreSQL alters tables in
place, so there it does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Column, MetaData, Table, delete, inspect, select
from sqlalchemy.engine import Connection

_SIDE_TABLE = re.compile(r"^t_(\d+)_(\d+)$")


def side_table_names(conn: Connection, form_id: int) -> list[str]:
    """The tables ``t_<form id>_<field id>`` that exist now (child rows and links)."""
    return sorted(
        name
        for name in inspect(conn).get_table_names()
        if (match := _SIDE_TABLE.match(name)) and int(match[1]) == form_id
    )


@contextmanager
def kept_side_rows(conn: Connection, form_id: int) -> Iterator[None]:
    """Run a rebuild of ``t_<form_id>`` without losing the rows of its side tables."""
    if conn.dialect.name != "sqlite":
        yield
        return
    metadata = MetaData()
    saved: list[tuple[Table, Table]] = []
    for name in side_table_names(conn, form_id):
        table = Table(name, metadata, autoload_with=conn)
        keep = Table(
            f"keep_{name}",
            metadata,
            *[Column(column.name, column.type) for column in table.columns],
            prefixes=["TEMPORARY"],
        )
        keep.create(conn)
        conn.execute(keep.insert().from_select(list(table.columns.keys()), select(table)))
        saved.append((table, keep))
    yield
    for table, keep in saved:
        conn.execute(delete(table))
        conn.execute(table.insert().from_select(list(keep.columns.keys()), select(keep)))
        keep.drop(conn)
