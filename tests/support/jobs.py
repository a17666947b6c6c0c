"""Running in-process workers in tests, and bounded waiting for job states."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import func, select

from runtime.jobs.models import Job
from runtime.jobs.worker import Worker


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 15.0, message: str = "condition"
) -> Any:
    """Await ``check()`` until it returns something truthy, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running(*workers: Worker, stop_timeout: float = 15.0) -> AsyncIterator[list[Any]]:
    """Run workers in the background; stop them (bounded) when the block ends."""
    tasks = [asyncio.create_task(w.run(), name=f"test-{w.id}") for w in workers]
    try:
        yield tasks
    finally:
        for worker in workers:
            worker.stop()
        done, pending = await asyncio.wait(tasks, timeout=stop_timeout)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()  # a worker that crashed fails the test
        assert not pending, "worker did not stop in time"


async def job(sessions: Any, job_id: int) -> Job:
    async with sessions() as db:
        found = await db.get(Job, job_id)
        assert found is not None
        return found


async def count(sessions: Any, statement: Any) -> int:
    async with sessions() as db:
        return int((await db.execute(select(func.count()).select_from(statement))).scalar_one())
