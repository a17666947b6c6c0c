"""SQLite through aiosqlite with one thread hop per statement.

aiosqlite runs every sqlite3 call on its own thread; SQLAlchemy's adapter makes four calls per
statement (open a cursor, execute, fetch, close), each a round trip between the event loop and
that thread: a queued function, a future, a wake-up of the loop, and a wait for the GIL. This
dialect keeps SQLAlchemy's aiosqlite dialect and replaces only its cursor: execute, fetch and
close run together as one function on the connection's thread, so a statement costs one round
trip. Server-side (streaming) cursors are unchanged.

``runtime.db.create_engine`` uses it for ``sqlite+aiosqlite`` URLs; the dialect is registered
under ``sqlite+tangram`` too.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

DRIVER = "tangram"
T = TypeVar("T")


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose every call is one job on the connection's thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: Any):
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows: collections.deque[Any] = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    def _run(self, many: bool, operation: Any, parameters: Any) -> list[Any] | None:
        """On the connection's thread: execute, read everything, close."""
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(operation, parameters)
            elif parameters is None:
                cursor.execute(operation)
            else:
                cursor.execute(operation, parameters)
            self._description = cursor.description
            self._rowcount = cursor.rowcount
            self._lastrowid = cursor.lastrowid
            return cursor.fetchall() if cursor.description else None
        finally:
            cursor.close()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            rows = await self._connection._execute(self._run, False, operation, parameters)
        if rows is not None:
            self._rows = collections.deque(rows)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            await self._connection._execute(self._run, True, operation, seq_of_parameters)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def nextset(self) -> None:
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None

    def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = self.aiosqlite.connect(*arg, **kw)
        connection._thread.daemon = True
        return OneHopConnection(self, await_(connection))


class TangramSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "TangramSQLiteDialect")


async def on_connection_thread(db: AsyncSession, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run ``work(sqlite3_connection)`` on the session's connection thread, in its transaction.

    For a batch of statements that would otherwise be a round trip each: ``work`` runs them
    back to back with the plain ``sqlite3`` connection (bound parameters only).
    """
    connection = await db.connection()
    raw = await connection.get_raw_connection()
    adapted = raw.dbapi_connection
    driver = raw.driver_connection
    assert adapted is not None and driver is not None
    async with adapted._execute_mutex:  # type: ignore[attr-defined]
        return await driver._execute(lambda: work(driver._conn))  # type: ignore[no-any-return]
