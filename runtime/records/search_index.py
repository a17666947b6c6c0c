"""Full-text search over records: PostgreSQL tsvector (GIN) or a SQLite FTS5 table.

The words come from :mod:`engines.form.search` (Chinese is segmented with jieba), so both
databases search the same words: ``退货`` finds ``申请退货流程``.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, func, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form import search
from engines.form.tables import fts_table
from runtime.records.forms import FormHandle


async def add(
    db: AsyncSession, handle: FormHandle, documents: list[tuple[int, str | None]]
) -> None:
    """Index new records (SQLite keeps a separate FTS5 table; PostgreSQL indexes the column)."""
    if db.bind.dialect.name != "sqlite":
        return
    rows = [{"rowid": rid, "search_text": doc} for rid, doc in documents if doc]
    if rows:
        await db.execute(insert(fts_table(handle.form_id)), rows)


async def replace(
    db: AsyncSession, handle: FormHandle, record_id: int, document: str | None
) -> None:
    if db.bind.dialect.name != "sqlite":
        return
    table = fts_table(handle.form_id)
    await db.execute(delete(table).where(table.c.rowid == record_id))
    await add(db, handle, [(record_id, document)])


def condition(handle: FormHandle, query: str, dialect: str) -> ColumnElement[bool] | None:
    """Records whose searchable fields contain every word of ``query`` (None: no words)."""
    words = search.words(query)
    if not words:
        return None
    table = handle.table
    if dialect == "postgresql":
        simple = literal_column("'simple'")
        vector = func.to_tsvector(simple, table.c.search_text)
        return vector.op("@@")(func.plainto_tsquery(simple, " ".join(words)))
    fts = fts_table(handle.form_id)
    phrase = " ".join('"' + word.replace('"', '""') + '"' for word in words)
    return table.c.id.in_(select(fts.c.rowid).where(fts.c.search_text.op("MATCH")(phrase)))
