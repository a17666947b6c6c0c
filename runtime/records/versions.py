"""Data versions: a counter per form that every committed record write raises.

:class:`~runtime.records.writer.RecordWriter` marks the forms it writes in the session
(:func:`mark_written`); just before that session commits, one statement raises their counters
in the same transaction. A reader that takes the counter and then reads the rows therefore
never files data older than the counter it took (the write and its counter commit together),
which makes the counters a correct cache key across any number of processes: report results
are cached per (query, data versions of its forms) and a write anywhere makes the next read
miss. The counter row is locked only from that statement to the commit, one round trip.

Marks survive a rolled-back savepoint (an import's refused chunk): at worst a counter is
raised for nothing, which costs one cache miss, never a stale answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from runtime.records.models import FormDataVersion

_WRITTEN = "tangram_written_forms"
_table = FormDataVersion.__table__


def mark_written(db: Any, form_id: int) -> None:
    """Record that this session's transaction writes records of ``form_id``."""
    db.info.setdefault(_WRITTEN, set()).add(form_id)


def bump_statement(dialect: str, form_ids: Iterable[int]) -> Any:
    """``INSERT … ON CONFLICT (form_id) DO UPDATE SET version = version + 1`` (ids sorted, so
    two transactions raising the same forms lock their rows in the same order)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_table).values([{"form_id": i, "version": 1} for i in sorted(form_ids)])
    return statement.on_conflict_do_update(
        index_elements=[_table.c.form_id], set_={"version": _table.c.version + 1}
    )


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    written = session.info.pop(_WRITTEN, None)
    if written:
        session.execute(bump_statement(session.get_bind().dialect.name, written))


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


async def data_versions(db: AsyncSession, form_ids: Iterable[int]) -> dict[int, int]:
    """The current counter of each form (0 for a form never written)."""
    wanted = sorted(set(form_ids))
    if not wanted:
        return {}
    rows = await db.execute(
        select(_table.c.form_id, _table.c.version).where(_table.c.form_id.in_(wanted))
    )
    found = {form_id: version for form_id, version in rows}
    return {form_id: found.get(form_id, 0) for form_id in wanted}
