"""Synchronous access to a test database from outside an event loop (multi-process tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db import create_engine, session_factory

T = TypeVar("T")


def run_with_session(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work(session)`` in a fresh engine and event loop; returns its result."""

    async def main() -> T:
        engine = create_engine(url, pool_size=2)
        try:
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def create_tables(url: str, metadata: MetaData) -> None:
    async def main() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        finally:
            await engine.dispose()

    asyncio.run(main())


def scalar(url: str, statement: Any) -> Any:
    async def work(session: AsyncSession) -> Any:
        return (await session.execute(statement)).scalar()

    return run_with_session(url, work)


def rows(url: str, statement: Any) -> list[Any]:
    async def work(session: AsyncSession) -> list[Any]:
        return list((await session.execute(statement)).all())

    return run_with_session(url, work)
