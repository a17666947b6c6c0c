"""The record an instance runs on, as its conditions read it and its tasks write it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.records import related
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


async def _row(
    db: AsyncSession, handle: FormHandle, record_id: int, *, deleted: bool = False
) -> Any:
    table = handle.table
    columns = [c for c in table.c if not c.name.startswith("search")]
    where = table.c.id == record_id
    if not deleted:
        where = where & table.c.deleted_at.is_(None)
    return (await db.execute(select(*columns).where(where))).mappings().one_or_none()


async def record_context(
    db: AsyncSession, handle: FormHandle, record_id: int, *, deleted: bool = False
) -> dict[str, Any] | None:
    """The live record ``record_id`` as ``{field key: API value, system column: value}``
    (read as the system: the flow or rule, not a user, reads it), or None when it is gone
    (``deleted``: also a record in the bin, as a rule on deletes reads it)."""
    row = await _row(db, handle, record_id, deleted=deleted)
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


async def task_record(
    db: AsyncSession, handle: FormHandle, record_id: int
) -> dict[str, Any] | None:
    """The live record as the API shows it, sub-tables and links included, read as the system:
    a task's form shows it to the step's worker under the step's field rights (the flows API
    shows a task's record the same way), or None when it is gone."""
    row = await _row(db, handle, record_id)
    if row is None:
        return None
    return handle.to_api(row, children=await related.load(db, handle, [row], None))
