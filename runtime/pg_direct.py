"""PostgreSQL: a Core statement run straight on the session's asyncpg connection.

Through the session, a statement costs SQLAlchemy's ORM and Core execution in Python
(session state, a greenlet switch, the compiled-cache lookup, an execution context, a
cursor and result objects) — on a flow transition that is more than the engine's own work.
Here the statement, compiled once per dialect (:class:`runtime.compiled.Compiled`: every
value a bound parameter, through its type's bind processor), runs with asyncpg's
``fetchrow`` (a prepared statement kept by the connection) inside the session's
transaction: the transaction is begun on the connection first, as SQLAlchemy's adapter
does before its first statement, so the session's commit and rollback end it. Errors are
raised as SQLAlchemy raises them (``DBAPIError`` subclasses; a lost connection is
invalidated). Connection events (``before_cursor_execute``, echo) do not see these
statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any, NoReturn

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.compiled import Compiled, compiled_for
from runtime.session_conn import reraise, session_connection

__all__ = ["fetchrow", "reraise"]

_KEY = "tangram_pg_direct"


async def _connection(db: AsyncSession) -> tuple[Any, Any, Connection]:
    """The adapted and the asyncpg connection of the session's transaction, and the session's
    (sync) connection; one greenlet hop for the transaction's first statement, none after."""
    info = db.sync_session.info
    cached = info.get(_KEY)
    trans = db.sync_session.get_transaction()
    if cached is not None and trans is not None and cached[0] is trans and trans.is_active:
        return cached[1], cached[2], cached[3]
    connection, fairy = await session_connection(db)
    adapted, raw = fairy.dbapi_connection, fairy.driver_connection
    info[_KEY] = (db.sync_session.get_transaction(), adapted, raw, connection)
    return adapted, raw, connection


async def fetchrow(db: AsyncSession, statement: Any, params: Mapping[str, Any]) -> Any:
    """The first row of the Core ``statement`` run with ``params`` (an asyncpg ``Record``:
    values by position or column name), or None. ``statement`` is compiled once per dialect,
    so it should be built once too (a module constant)."""
    adapted, raw, connection = await _connection(db)
    compiled = compiled_for(connection.dialect, statement, partial(Compiled.of, statement))
    args = compiled.values(params)
    try:
        async with adapted._execute_mutex:
            if adapted._transaction is None:
                await adapted._start_transaction()
            return await raw.fetchrow(compiled.sql, *args)
    except Exception as error:
        await _raise(adapted, connection, compiled.sql, args, error)


async def _raise(
    adapted: Any, connection: Connection, sql: str, args: tuple[Any, ...], error: Exception
) -> NoReturn:
    try:
        adapted._handle_exception(error)  # asyncpg's error as the DBAPI error it maps to
    except Exception as translated:
        await reraise(connection, translated, sql, args)
    raise error  # not reached: the adapter raises every error it is handed
