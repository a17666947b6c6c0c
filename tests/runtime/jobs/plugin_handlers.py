"""Job handlers for tests, loaded as a plugin (``TANGRAM_PLUGINS``) by worker subprocesses.

Import this module only as ``tests.runtime.jobs.plugin_handlers`` so that it registers once.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, insert

from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers

EFFECT = "test.effect"
FAIL = "test.fail"

#: Not a platform table: tests create it in their database. No unique constraint on
#: ``job_id`` on purpose, so that a job whose effects committed twice shows up as two rows.
effects_metadata = MetaData()
effects = Table(
    "test_job_effects",
    effects_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("tag", String(100)),
)


@handlers.register(EFFECT)
async def effect(ctx: JobContext) -> dict[str, Any]:
    """Insert one effect row in the job's own transaction, then sleep ``payload.sleep`` s."""
    await ctx.session.execute(
        insert(effects).values(
            job_id=ctx.job_id, attempt=ctx.attempt, pid=os.getpid(), tag=ctx.payload.get("tag")
        )
    )
    seconds = float(ctx.payload.get("sleep", 0))
    if seconds:
        await asyncio.sleep(seconds)
    return {"pid": os.getpid(), "attempt": ctx.attempt}


@handlers.register(FAIL)
async def fail(ctx: JobContext) -> None:
    """Write an effect (which must roll back), then fail."""
    await ctx.session.execute(
        insert(effects).values(job_id=ctx.job_id, attempt=ctx.attempt, pid=os.getpid())
    )
    raise RuntimeError(ctx.payload.get("message", "boom"))
