"""The database layer: the one-hop SQLite driver, the idle-connection ping, and statements
run straight on the driver (runtime.direct)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    exc,
    insert,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime import db as database
from runtime import direct
from runtime.db import JsonType, UTCDateTime, create_engine, session_factory

META = MetaData()
ITEMS = Table("hop_items", META, Column("id", Integer, primary_key=True), Column("name", String))
DIRECT = Table(
    "direct_items",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True),
    Column("doc", JsonType),
    Column("at", UTCDateTime()),
)
INSERT = (
    insert(DIRECT)
    .values(name=bindparam("b_name"), doc=bindparam("b_doc"), at=bindparam("b_at"))
    .returning(DIRECT.c.id, DIRECT.c.doc, DIRECT.c.at)
)
NAMED = select(DIRECT.c.id).where(DIRECT.c.name == bindparam("b_name"))


async def test_sqlite_uses_the_one_hop_driver(db_url: str, backend: str) -> None:
    engine = create_engine(db_url, pool_size=2)
    try:
        expected = "tangram" if backend == "sqlite" else "asyncpg"
        assert engine.dialect.driver == expected
    finally:
        await engine.dispose()


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database with the ``hop_items`` table."""
    engine = create_engine(db_url, pool_size=4)
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(META.drop_all)
        await engine.dispose()


async def test_statements_results_and_errors(engine: AsyncEngine) -> None:
    """Rows, rowcount, lastrowid, executemany, RETURNING, errors and rollback all behave."""
    async with session_factory(engine)() as db:
        one = await db.execute(insert(ITEMS).values(name="a"))
        assert one.inserted_primary_key is not None
        await db.execute(insert(ITEMS), [{"name": "b"}, {"name": "c"}])
        returned = await db.execute(insert(ITEMS).returning(ITEMS.c.name), {"name": "d"})
        assert returned.scalar_one() == "d"
        await db.commit()
    async with session_factory(engine)() as db:
        names = (await db.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))).scalars()
        assert list(names) == ["a", "b", "c", "d"]
        updated = await db.execute(text("UPDATE hop_items SET name = 'x' WHERE name < 'c'"))
        assert updated.rowcount == 2
        await db.rollback()
        with pytest.raises(Exception, match=r"(?i)syntax"):
            await db.execute(text("SELEC nothing"))
        await db.rollback()
        count = await db.execute(text("SELECT count(*) FROM hop_items WHERE name = 'x'"))
        assert count.scalar_one() == 0
    async with engine.connect() as conn:
        streamed = await conn.stream(select(ITEMS.c.id).order_by(ITEMS.c.id))
        assert [row[0] async for row in streamed] == [1, 2, 3, 4]


async def test_concurrent_sessions_share_the_file(engine: AsyncEngine) -> None:
    factory = session_factory(engine)

    async def write(i: int) -> None:
        async with factory() as db:
            await db.execute(insert(ITEMS).values(name=f"n{i}"))
            await db.commit()

    await asyncio.gather(*(write(i) for i in range(20)))
    async with factory() as db:
        assert (await db.execute(text("SELECT count(*) FROM hop_items"))).scalar_one() == 20


async def test_an_idle_connection_that_died_is_replaced(
    db_url: str, backend: str, monkeypatch: Any
) -> None:
    """A pooled PostgreSQL connection killed while idle is pinged, found dead and replaced."""
    if backend != "postgresql":
        pytest.skip("the idle ping applies to PostgreSQL connections")
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
    engine = create_engine(db_url, pool_size=1)
    admin = create_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with admin.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
            await conn.commit()
        await asyncio.sleep(0.2)
        async with engine.connect() as conn:
            second = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_only_idle_connections_are_pinged(
    db_url: str, backend: str, monkeypatch: Any
) -> None:
    """Checkouts right after a checkin reuse the connection without a ping round trip."""
    if backend != "postgresql":
        pytest.skip("the idle ping applies to PostgreSQL connections")
    from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

    pings: list[int] = []
    original = AsyncAdapt_asyncpg_connection.ping

    def counted(self: Any) -> None:
        pings.append(1)
        original(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    engine = create_engine(db_url, pool_size=1)
    try:
        for _ in range(5):
            async with engine.connect() as conn:
                assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert pings == []
        monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert pings == [1]
    finally:
        await engine.dispose()


async def test_sqlite_writers_queue_in_process_and_release_on_every_end(
    engine: AsyncEngine, backend: str
) -> None:
    """Writers of one process wait on the in-process lock (SQLite), which every end of a
    transaction hands on: commit, rollback, an error, an empty transaction."""
    factory = session_factory(engine)
    order: list[str] = []

    async def writer(name: str, fail: bool = False) -> None:
        async with factory() as db:
            await db.execute(insert(ITEMS).values(name=name))
            order.append(f"{name}+")
            await asyncio.sleep(0.01)
            order.append(f"{name}-")
            if fail:
                raise RuntimeError("boom")
            await db.commit()

    async with factory() as db:  # begins and ends without a statement
        await db.commit()
    async with factory() as db:
        await db.rollback()
    if backend == "sqlite":
        # Three connections in the pool: the writers meet at the lock in the order they
        # began, not in the order new connections happen to finish opening.
        opened = [await engine.connect() for _ in range(3)]
        for conn in opened:
            await conn.close()
    results = await asyncio.gather(
        writer("a"), writer("b", fail=True), writer("c"), return_exceptions=True
    )
    assert [type(r).__name__ for r in results] == ["NoneType", "RuntimeError", "NoneType"]
    if backend == "sqlite":  # one writer at a time, in the order they began
        assert order == ["a+", "a-", "b+", "b-", "c+", "c-"]
    with pytest.raises(Exception, match=r"(?i)syntax"):
        async with factory() as db:
            await db.execute(text("SELEC nothing"))
    async with factory() as db:
        names = (await db.execute(select(ITEMS.c.name).order_by(ITEMS.c.id))).scalars()
        assert list(names) == ["a", "c"]
        await db.execute(insert(ITEMS).values(name="d"))
        await db.commit()
    if backend == "sqlite":
        lock = engine.sync_engine.dialect.dbapi.write_lock()  # type: ignore[union-attr]
        assert not lock.locked()


async def test_values_go_through_their_types_and_the_session_ends_the_transaction(
    engine: AsyncEngine, backend: str
) -> None:
    factory = session_factory(engine)
    at = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
    async with factory() as db:
        row = await direct.fetchrow(db, INSERT, {"b_name": "a", "b_doc": {"k": [1]}, "b_at": at})
        if backend == "postgresql":
            assert (row["doc"], row["at"]) == ({"k": [1]}, at)
        else:  # result types are not processed: JSON text, naive UTC text
            assert (json.loads(row["doc"]), row["at"]) == ({"k": [1]}, "2026-12-02 08:30:00.000000")
        # The same transaction, whichever way a statement goes.
        seen = (await db.execute(select(DIRECT.c.name).where(DIRECT.c.id == row["id"]))).scalar()
        assert seen == "a"
        await db.rollback()
    async with factory() as db:
        assert await direct.scalar(db, NAMED, {"b_name": "a"}) is None
        await direct.fetchrow(db, INSERT, {"b_name": "b", "b_doc": None, "b_at": None})
        await db.commit()
    async with factory() as db:
        assert await direct.scalar(db, NAMED, {"b_name": "b"}) is not None
        assert await direct.scalar(db, NAMED, {"b_name": "nobody"}) is None


async def test_errors_are_raised_as_sqlalchemy_raises_them(engine: AsyncEngine) -> None:
    factory = session_factory(engine)
    async with factory() as db:
        await direct.fetchrow(db, INSERT, {"b_name": "a", "b_doc": {}, "b_at": None})
        with pytest.raises(exc.IntegrityError):
            await direct.fetchrow(db, INSERT, {"b_name": "a", "b_doc": {}, "b_at": None})
        await db.rollback()
        # The session goes on with a new transaction on the same connection.
        await direct.fetchrow(db, INSERT, {"b_name": "c", "b_doc": {}, "b_at": None})
        await db.commit()
    async with factory() as db:
        names = (await db.execute(text("SELECT name FROM direct_items"))).scalars()
        assert list(names) == ["c"]
