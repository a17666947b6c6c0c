"""Fixtures of the jobs tests: the plugin handlers' effects table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Table

from tests.runtime.jobs.plugin_handlers import effects, effects_metadata


@pytest.fixture
async def effects_table(sessions: Any) -> AsyncIterator[Table]:
    """The plugin handlers' effects table, created in the test database and emptied."""
    async with sessions() as db:
        conn = await db.connection()
        await conn.run_sync(effects_metadata.create_all)
        await db.execute(effects.delete())
        await db.commit()
    yield effects
    async with sessions() as db:
        await db.execute(effects.delete())
        await db.commit()
