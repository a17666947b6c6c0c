"""Database engine, sessions and the column types every platform table shares.

SQLite (aiosqlite) is the embedded default, PostgreSQL (asyncpg) is production. The engine is
created per process by :func:`create_engine`; SQLite connections get WAL mode, foreign keys and a
busy timeout so the in-process worker and web requests can share one file, and go through
:mod:`runtime.sqlite_driver` (one thread hop per statement instead of four).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, event, exc, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from engines.report import sqlite_functions
from runtime import sqlite_driver

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")
#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of the platform's own tables (managed by alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime,
        dict[str, Any]: JsonType,
        list[Any]: JsonType,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Time-zone buckets and percentiles of the report engine (engines/report/dialect.py).
    sqlite_functions.register(dbapi_connection)


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """Create the async engine for ``url`` with Tangram's per-dialect settings."""
    sa_url = make_url(url)
    if sa_url.drivername == "sqlite+aiosqlite":
        sa_url = sa_url.set(drivername=f"sqlite+{sqlite_driver.DRIVER}")
    kwargs: dict[str, Any] = {"echo": echo}
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
    engine = _create_async_engine(sa_url, **kwargs)
    if engine.dialect.name != "sqlite":
        _ping_when_idle(engine)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy, not pysqlite, decide when transactions begin, so that
        # BEGIN IMMEDIATE can be issued for writes that must not be upgraded later.
        event.listen(engine.sync_engine, "connect", _disable_pysqlite_begin)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


#: A pooled connection unused for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling, but only for connections that sat idle in the pool.

    ``pool_pre_ping`` costs three round trips on asyncpg (begin, ping, rollback) on every
    checkout. A connection back in the pool a moment ago is as good as the ping would show;
    one idle for a while (the server restarted, a firewall dropped it) is pinged and, when the
    ping fails, replaced. A connection that breaks while busy is caught by SQLAlchemy's
    disconnect detection, which invalidates the pool.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info["tangram_idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("tangram_idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as error:
            raise exc.DisconnectionError("idle connection failed its ping") from error


def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that reads and then writes
    # fails at once with "database is locked" when another writer got there first.
    write = conn.get_execution_options().get("tangram_write", False)
    statement = "BEGIN IMMEDIATE" if write else "BEGIN"
    adapted = conn.connection.dbapi_connection
    if isinstance(adapted, sqlite_driver.OneHopConnection):
        adapted.begin(statement)  # deferred to the first statement's trip
    else:
        conn.exec_driver_sql(statement)


class TangramSession(AsyncSession):
    """An ``AsyncSession`` whose context exit is cheap once its work is committed.

    ``async with sessions() as db: … await db.commit()`` closes the session on exit;
    SQLAlchemy runs that close in a task of its own, shielded from cancellation, through a
    greenlet, because closing may have to roll back and return a connection (I/O). After a
    commit or rollback nothing is left to release (the connection is back in the pool), and
    the close only forgets the session's objects: that is done here directly."""

    async def __aexit__(self, type_: Any, value: Any, traceback: Any) -> None:
        sync = self.sync_session
        if not sync.in_transaction():
            sync.close()  # no transaction, no connection: no I/O
            return
        await super().__aexit__(type_, value, traceback)


def session_factory(engine: AsyncEngine, *, write: bool = True) -> async_sessionmaker[AsyncSession]:
    """Sessions for ``engine``; ``write`` sessions lock SQLite for writing when they begin
    (the option means nothing to other databases, which get the engine itself)."""
    sqlite = engine.dialect.name == "sqlite"
    bind = engine.execution_options(tangram_write=True) if write and sqlite else engine
    return async_sessionmaker(bind, expire_on_commit=False, class_=TangramSession)


@asynccontextmanager
async def transaction(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success and rolls back on any error."""
    async with factory() as session, session.begin():
        yield session


_CUSTOM_PLANS = "tangram_custom_plans"


async def custom_plans(db: AsyncSession) -> None:
    """PostgreSQL: plan the rest of this transaction's statements for their parameter values.

    asyncpg prepares every statement, and after five runs of one PostgreSQL may switch it to a
    generic plan, made without the values: for an aggregate over a department list and a date
    range, or a scan of due records, that plan can be much slower (measured: report backlog by
    status 6.8 → 11.9 ms, the rules scan 20 → 41 ms, on 200,000 tickets). Planning anew costs
    a fraction of a millisecond, so report statements and rule scans are always planned with
    their values (``SET LOCAL``: once per transaction, gone at its end)."""
    if db.bind.dialect.name != "postgresql":
        return
    session = db.sync_session
    if session.in_transaction() and db.info.get(_CUSTOM_PLANS) is session.get_transaction():
        return
    await db.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    db.info[_CUSTOM_PLANS] = session.get_transaction()
