"""Many-relation links: loading them for a page of records and replacing them on a write.

Each many-relation field has its own link table (``engines.form.tables.build_link_table``);
a record's value is its link rows' ``target_id`` in ``position`` order, or ``None`` without any.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.records.forms import FormHandle

#: ``{field key: {record id: [target ids] or None}}``
Links = dict[str, dict[int, list[int] | None]]


async def load(
    db: AsyncSession, handle: FormHandle, record_ids: list[int], keys: list[str] | None = None
) -> Links:
    """The links of every many-relation field of ``record_ids`` (one query per field)."""
    loaded: Links = {}
    if not record_ids:
        return loaded
    for key, table in handle.links.items():
        if keys is not None and key not in keys:
            continue
        loaded[key] = await load_field(db, table, record_ids)
    return loaded


async def load_field(
    db: AsyncSession, table: Table, record_ids: list[int]
) -> dict[int, list[int] | None]:
    """One field's links of ``record_ids``."""
    by_record: dict[int, list[int] | None] = dict.fromkeys(record_ids)
    rows = await db.execute(
        select(table.c.record_id, table.c.target_id)
        .where(table.c.record_id.in_(record_ids))
        .order_by(table.c.record_id, table.c.position)
    )
    for record_id, target_id in rows:
        targets = by_record[record_id]
        if targets is None:
            targets = by_record[record_id] = []
        targets.append(target_id)
    return by_record


async def write(
    db: AsyncSession,
    handle: FormHandle,
    key: str,
    links_by_record: Mapping[int, list[int] | None],
    *,
    replace: bool,
) -> None:
    """Insert one field's links (after deleting the old ones if ``replace``)."""
    table = handle.links[key]
    if replace:
        await db.execute(delete(table).where(table.c.record_id.in_(list(links_by_record))))
    values = [
        {"record_id": record_id, "target_id": target_id, "position": position}
        for record_id, targets in links_by_record.items()
        for position, target_id in enumerate(targets or [])
    ]
    if values:
        await db.execute(insert(table), values)
