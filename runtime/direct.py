"""A Core statement run straight on the driver, inside the session's transaction: for the
few statements every flow transition runs (the instance read, an assignee lookup).

On PostgreSQL through asyncpg (:mod:`runtime.pg_direct`), on SQLite as one job on the
connection's thread (:func:`runtime.sqlite_driver.on_connection_thread`). Either way the
statement is compiled once per dialect (:class:`runtime.compiled.Compiled`, every value a
bound parameter through its type's bind processor) and SQLAlchemy's per-statement execution
is skipped; errors are raised as SQLAlchemy raises them. Rows read values by position or
column name; result types are not processed (JSON comes back decoded on PostgreSQL and as
text on SQLite, timestamps as SQLite stores them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from runtime import pg_direct
from runtime.compiled import Compiled, compiled_for
from runtime.session_conn import reraise
from runtime.sqlite_driver import on_connection_thread


async def fetchrow(db: AsyncSession, statement: Any, params: Mapping[str, Any]) -> Any:
    """The first row of ``statement`` run with ``params``, or None. ``statement`` is compiled
    once per dialect, so it should be built once too (a module constant)."""
    dialect = db.get_bind().dialect
    if dialect.name == "postgresql":
        return await pg_direct.fetchrow(db, statement, params)
    compiled = compiled_for(dialect, statement, partial(Compiled.of, statement))
    values = compiled.values(params)

    def first(conn: sqlite3.Connection) -> Any:
        cursor = conn.cursor()
        try:
            cursor.row_factory = sqlite3.Row
            return cursor.execute(compiled.sql, values).fetchone()
        finally:
            cursor.close()

    try:
        return await on_connection_thread(db, first)
    except sqlite3.Error as error:
        await reraise(await db.connection(), error, compiled.sql, values)


async def scalar(db: AsyncSession, statement: Any, params: Mapping[str, Any]) -> Any:
    """The first column of the first row of ``statement`` (None without a row)."""
    row = await fetchrow(db, statement, params)
    return row[0] if row is not None else None
