"""Sub-table rows: loading them for a page of records and replacing them on a write."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.records.forms import FormHandle

#: ``{field key: {parent id: [child storage values by child key, ...]}}``
Children = dict[str, dict[int, list[dict[str, Any]]]]


async def load(
    db: AsyncSession, handle: FormHandle, parent_ids: list[int], keys: list[str] | None = None
) -> Children:
    """The rows of every sub-table field for ``parent_ids`` (one query per field)."""
    loaded: Children = {}
    if not parent_ids:
        return loaded
    for key, table in handle.children.items():
        if keys is not None and key not in keys:
            continue
        specs = handle.validator.children[key].specs
        rows = await db.execute(
            select(table)
            .where(table.c.parent_id.in_(parent_ids))
            .order_by(table.c.parent_id, table.c.position)
        )
        by_parent: dict[int, list[dict[str, Any]]] = {pid: [] for pid in parent_ids}
        for row in rows.mappings():
            by_parent[row["parent_id"]].append(
                {k: row[f"f_{spec.id}"] for k, spec in specs.items()}
            )
        loaded[key] = by_parent
    return loaded


async def write(
    db: AsyncSession,
    handle: FormHandle,
    key: str,
    rows_by_parent: dict[int, list[dict[str, Any]]],
    *,
    replace: bool,
) -> None:
    """Insert the rows of one sub-table field (after deleting the old ones if ``replace``)."""
    table = handle.children[key]
    specs = handle.validator.children[key].specs
    if replace:
        await db.execute(delete(table).where(table.c.parent_id.in_(list(rows_by_parent))))
    values = [
        {
            "parent_id": parent_id,
            "position": position,
            **{f"f_{specs[k].id}": v for k, v in row.items() if k in specs},
        }
        for parent_id, rows in rows_by_parent.items()
        for position, row in enumerate(rows)
    ]
    if values:
        await db.execute(insert(table), values)
