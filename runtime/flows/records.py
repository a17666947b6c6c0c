"""The record an instance runs on, as its conditions read it and its tasks write it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.records.forms import FormHandle, published_form

#: System columns a flow reads beside the fields.
SYSTEM = (
    "id",
    "row_version",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "owner_id",
    "department_id",
)


async def form_handle(db: AsyncSession, form_id: int | None) -> FormHandle | None:
    return await published_form(db, form_id) if form_id is not None else None


async def record_context(
    db: AsyncSession, handle: FormHandle, record_id: int, *, deleted: bool = False
) -> dict[str, Any] | None:
    """The live record ``record_id`` as ``{field key: API value, system column: value}``
    (read as the system: the flow or rule, not a user, reads it), or None when it is gone
    (``deleted``: also a record in the bin, as a rule on deletes reads it)."""
    table = handle.table
    columns = [c for c in table.c if not c.name.startswith("search")]
    where = table.c.id == record_id
    if not deleted:
        where = where & table.c.deleted_at.is_(None)
    row = (await db.execute(select(*columns).where(where))).mappings().one_or_none()
    if row is None:
        return None
    keys = [
        k for k in handle.form.keys if handle.field_type(k).has_column and k not in handle.children
    ]
    api = handle.to_api(row, keys)
    context: dict[str, Any] = dict(api["values"])
    for name in SYSTEM:
        context[name] = api[name]
    return context
