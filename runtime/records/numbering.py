"""Gap-free auto-numbers: a counter row per field and scope, bumped in the insert's transaction.

On PostgreSQL the upsert locks the counter row until commit, so concurrent inserts take numbers
one after another; on SQLite the single writer does the same. A rollback gives the numbers back.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.types.computed import format_number
from runtime.records.models import AutoNumberCounter


async def take_numbers(
    db: AsyncSession, form_id: int, field_id: int, pattern: str, moment: datetime, count: int
) -> list[str]:
    """``count`` consecutive numbers for one field at ``moment`` (in the organisation's zone)."""
    scope, _ = format_number(pattern, moment, 0)
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(AutoNumberCounter)
        .values(form_id=form_id, field_id=field_id, scope=scope, last=count)
        .on_conflict_do_update(
            index_elements=["form_id", "field_id", "scope"],
            set_={"last": AutoNumberCounter.last + count},
        )
        .returning(AutoNumberCounter.last)
    )
    last = int((await db.execute(statement)).scalar_one())
    return [format_number(pattern, moment, n)[1] for n in range(last - count + 1, last + 1)]


def local_now(time_zone: str) -> datetime:
    return datetime.now(ZoneInfo(time_zone))
