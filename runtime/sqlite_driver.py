"""SQLite through aiosqlite with one thread hop per statement, and writers queued in-process.

aiosqlite runs every sqlite3 call on its own thread; SQLAlchemy's adapter makes four calls per
statement (open a cursor, execute, fetch, close), each a round trip between the event loop and
that thread: a queued function, a future, a wake-up of the loop, and a wait for the GIL. This
dialect keeps SQLAlchemy's aiosqlite dialect and replaces only its cursor: execute, fetch and
close run together as one function on the connection's thread, so a statement costs one round
trip. Server-side (streaming) cursors are unchanged.

Three more trips are saved or made cheaper per transaction:

- ``BEGIN``/``BEGIN IMMEDIATE`` is not a trip of its own: it runs on the thread just before
  the transaction's first statement (a transaction with no statement never begins, and its
  commit or rollback costs nothing); ``runtime.db`` hands it to :meth:`OneHopConnection.begin`
  directly, not as a statement execution;
- the pool's reset-on-return rollback, after a commit, is skipped when sqlite3 says no
  transaction is open;
- writers of one process (``BEGIN IMMEDIATE``) wait for each other on an ``asyncio.Lock``,
  handed over the moment the holder commits or rolls back, instead of in SQLite's busy
  handler, which sleeps 1, 2, 5, 10… ms between tries however soon the lock came free.
  Other processes still meet SQLite's own lock and ``busy_timeout``; the in-process wait is
  bounded by :data:`WRITE_WAIT_SECONDS` and then fails like SQLite would ("database is
  locked").

``runtime.db.create_engine`` uses it for ``sqlite+aiosqlite`` URLs; the dialect is registered
under ``sqlite+tangram`` too.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import weakref
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

from runtime.session_conn import session_connection

DRIVER = "tangram"
T = TypeVar("T")
#: How long a writer waits for another writer of this process (SQLite's busy_timeout too).
WRITE_WAIT_SECONDS = 30.0
_BEGINS = frozenset(("BEGIN", "BEGIN IMMEDIATE"))


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

    def _run(
        self, begin: str | None, many: bool, operation: Any, parameters: Any
    ) -> list[Any] | None:
        """On the connection's thread: begin if due, execute, read everything, close."""
        raw = self._connection._conn
        if begin is not None:
            raw.execute(begin)
        cursor = raw.cursor()
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
        connection = self._adapt_connection
        if operation in _BEGINS and not parameters:
            await connection.defer_begin(operation)
            self._description, self._rowcount = None, -1
            return
        async with connection._execute_mutex:
            begin = connection.take_begin()
            rows = await self._connection._execute(self._run, begin, False, operation, parameters)
        if rows is not None:
            self._rows = collections.deque(rows)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        connection = self._adapt_connection
        async with connection._execute_mutex:
            begin = connection.take_begin()
            await self._connection._execute(self._run, begin, True, operation, seq_of_parameters)

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
    """The adapted connection: a deferred BEGIN and this process's write lock."""

    __slots__ = ("_begin", "_write_lock")
    _cursor_cls = OneHopCursor

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._begin: str | None = None
        self._write_lock: asyncio.Lock | None = None

    async def defer_begin(self, statement: str) -> None:
        """Remember ``statement`` for the next trip; a writer first takes the write lock."""
        if statement == "BEGIN IMMEDIATE" and self._write_lock is None:
            lock = self.dbapi.write_lock()
            if lock.locked() or getattr(lock, "_waiters", None):
                try:
                    await asyncio.wait_for(lock.acquire(), WRITE_WAIT_SECONDS)
                except TimeoutError:
                    raise sqlite3.OperationalError("database is locked") from None
            else:  # free and nobody queued: taken at once, without wait_for's task
                await lock.acquire()
            self._write_lock = lock
        self._begin = statement

    def begin(self, statement: str) -> None:
        """Called (in SQLAlchemy's greenlet) for the transaction's ``BEGIN``: deferred to the
        next trip, without a statement execution of its own."""
        try:
            await_(self.defer_begin(statement))
        except Exception as error:
            self._handle_exception(error)

    def take_begin(self) -> str | None:
        begin, self._begin = self._begin, None
        return begin

    def _release(self) -> None:
        lock, self._write_lock = self._write_lock, None
        if lock is not None:
            lock.release()

    def cursor(self, server_side: bool = False) -> Any:
        if server_side and self._begin is not None:
            # A streaming cursor runs its own calls: begin first, as a trip of its own.
            begin = self.take_begin()
            assert begin is not None
            raw = self._connection._conn
            try:
                await_(self._connection._execute(raw.execute, begin))
            except Exception as error:
                self._handle_exception(error)
        return super().cursor(server_side)

    def commit(self) -> None:
        try:
            if self.take_begin() is None:
                super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            pending = self.take_begin()
            conn = self._connection._conn if self._connection._connection else None
            # After a commit nothing is open: the pool's reset rollback needs no trip.
            if pending is None and conn is not None and conn.in_transaction:
                super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        self._begin = None
        self._release()
        super().close()

    def terminate(self) -> None:
        self._begin = None
        self._release()
        super().terminate()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self._write_locks: weakref.WeakKeyDictionary[Any, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def write_lock(self) -> asyncio.Lock:
        """The lock this engine's writers share in the running event loop."""
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

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
    _, raw = await session_connection(db)
    adapted = raw.dbapi_connection
    driver = raw.driver_connection
    assert adapted is not None and driver is not None
    assert isinstance(adapted, OneHopConnection)
    raw_sqlite = driver._conn

    def run(begin: str | None) -> T:
        if begin is not None:
            raw_sqlite.execute(begin)
        return work(raw_sqlite)

    async with adapted._execute_mutex:
        return await driver._execute(run, adapted.take_begin())  # type: ignore[no-any-return]
