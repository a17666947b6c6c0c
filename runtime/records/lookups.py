"""Lookup fields: a field of the related record, read through a relation (one query per
lookup field and page, through the related form's read scope)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.registry import FIELD_TYPES
from runtime.auth.principal import Principal
from runtime.permissions.access import access
from runtime.records.forms import FormHandle, sibling
from runtime.records.scope import read_scope


async def load(
    db: AsyncSession,
    handle: FormHandle,
    rows: Sequence[Mapping[str, Any]],
    principal: Principal | None,
    keys: list[str] | None = None,
) -> dict[str, dict[int, Any]]:
    """``{lookup key: {record id: API value}}`` for ``rows``."""
    loaded: dict[str, dict[int, Any]] = {}
    for spec in handle.form.fields:
        field_type = handle.field_type(spec.key)
        if not field_type.looks_up or (keys is not None and spec.key not in keys):
            continue
        settings = field_type.settings(spec)
        relation = handle.spec(settings.relation)
        reference = FIELD_TYPES.get(relation.type).reference(relation)
        assert reference is not None and reference[0] == "form"
        target = await sibling(db, handle, int(reference[1]))
        target_spec = target.spec(settings.field)
        links = {row["id"]: row[f"f_{relation.id}"] for row in rows}
        ids = {v for v in links.values() if v is not None}
        values: dict[int, Any] = {}
        # Read through the related form's scope and field rights: a lookup shows nothing
        # that the caller could not read on the related record itself.
        column = target.column(settings.field)
        if principal is not None:
            column = access(target, principal).readable(settings.field)
        if ids and column is not None:
            query = select(target.table.c.id, column).where(
                target.table.c.id.in_(ids), target.table.c.deleted_at.is_(None)
            )
            if principal is not None:
                query = query.where(read_scope(target, principal))
            target_type = FIELD_TYPES.get(target_spec.type)
            values = {
                rid: None if v is None else target_type.from_storage(target_spec, v)
                for rid, v in (await db.execute(query)).all()
            }
        loaded[spec.key] = {rid: values.get(link) for rid, link in links.items()}
    return loaded
