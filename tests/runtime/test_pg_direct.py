"""Statements run straight on the session's asyncpg connection (runtime.pg_direct)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

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

from runtime import pg_direct
from runtime.db import JsonType, UTCDateTime, create_engine, session_factory

META = MetaData()
ITEMS = Table(
    "direct_items",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True),
    Column("doc", JsonType),
    Column("at", UTCDateTime()),
)
INSERT = (
    insert(ITEMS)
    .values(name=bindparam("b_name"), doc=bindparam("b_doc"), at=bindparam("b_at"))
    .returning(ITEMS.c.id, ITEMS.c.doc, ITEMS.c.at)
)
NAMED = select(ITEMS.c.id).where(ITEMS.c.name == bindparam("b_name"))


@pytest.fixture
async def engine(db_url: str, backend: str) -> AsyncIterator[AsyncEngine]:
    if backend != "postgresql":
        pytest.skip("runs on asyncpg connections")
    engine = create_engine(db_url, pool_size=2)
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    try:
        yield engine
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(META.drop_all)
        await engine.dispose()


async def test_values_go_through_their_types_and_the_session_ends_the_transaction(
    engine: AsyncEngine,
) -> None:
    factory = session_factory(engine)
    at = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
    async with factory() as db:
        row = await pg_direct.fetchrow(db, INSERT, {"b_name": "a", "b_doc": {"k": [1]}, "b_at": at})
        assert (row["doc"], row["at"]) == ({"k": [1]}, at)
        # The same transaction, whichever way a statement goes.
        seen = (await db.execute(select(ITEMS.c.name).where(ITEMS.c.id == row["id"]))).scalar()
        assert seen == "a"
        await db.rollback()
    async with factory() as db:
        assert await pg_direct.scalar(db, NAMED, {"b_name": "a"}) is None
        await pg_direct.fetchrow(db, INSERT, {"b_name": "b", "b_doc": None, "b_at": None})
        await db.commit()
    async with factory() as db:
        assert await pg_direct.scalar(db, NAMED, {"b_name": "b"}) is not None
        assert await pg_direct.scalar(db, NAMED, {"b_name": "nobody"}) is None


async def test_errors_are_raised_as_sqlalchemy_raises_them(engine: AsyncEngine) -> None:
    factory = session_factory(engine)
    async with factory() as db:
        await pg_direct.fetchrow(db, INSERT, {"b_name": "a", "b_doc": {}, "b_at": None})
        with pytest.raises(exc.IntegrityError):
            await pg_direct.fetchrow(db, INSERT, {"b_name": "a", "b_doc": {}, "b_at": None})
        await db.rollback()
        # The session goes on with a new transaction on the same connection.
        await pg_direct.fetchrow(db, INSERT, {"b_name": "c", "b_doc": {}, "b_at": None})
        await db.commit()
    async with factory() as db:
        names = (await db.execute(text("SELECT name FROM direct_items"))).scalars()
        assert list(names) == ["c"]
