"""The session's connection and its pooled DBAPI connection, for statements run on the driver.

``await db.connection()`` and then ``await connection.get_raw_connection()`` are two greenlet
hops; here the session's connection (checked out and begun if it was not yet) and the
pool's proxied DBAPI connection are taken in one (:mod:`runtime.pg_direct`,
:func:`runtime.sqlite_driver.on_connection_thread`). Errors are raised as SQLAlchemy
raises them (:func:`reraise`).
"""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util.concurrency import greenlet_spawn


def _checkout(session: Session) -> tuple[Connection, PoolProxiedConnection]:
    connection = session.connection()
    return connection, connection.connection


async def session_connection(db: AsyncSession) -> tuple[Connection, PoolProxiedConnection]:
    """The (sync) connection of ``db``'s transaction and its pooled DBAPI connection
    (``dbapi_connection`` is SQLAlchemy's adapter, ``driver_connection`` the driver's)."""
    return await greenlet_spawn(_checkout, db.sync_session)


async def reraise(
    connection: Connection | AsyncConnection, error: Exception, sql: str, args: Any
) -> NoReturn:
    """Raise the DBAPI ``error`` as SQLAlchemy would have (wrapped in its ``DBAPIError``
    subclass; a lost connection invalidated)."""
    sync = connection.sync_connection if isinstance(connection, AsyncConnection) else connection
    assert sync is not None
    await greenlet_spawn(_handle, sync, error, sql, args)
    raise error  # not reached: SQLAlchemy raises


def _handle(sync: Connection, error: Exception, sql: str, args: Any) -> None:
    sync._handle_dbapi_exception(error, sql, args, None, None)
