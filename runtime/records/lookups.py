"""Lookup fields: a field of the related record(s), read through a relation (one query per
lookup field and page, through the related form's read scope).

Through a ``relation`` a lookup is one value (``None`` when the related record is gone or not
visible); through a many-relation it is the list of the visible related records' values, in
link order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.registry import FIELD_TYPES
from runtime.auth.principal import Principal
from runtime.permissions.access import access
from runtime.records import links as link_rows
from runtime.records.forms import FormHandle, sibling
from runtime.records.scope import read_scope


async def load(
    db: AsyncSession,
    handle: FormHandle,
    rows: Sequence[Mapping[str, Any]],
    principal: Principal | None,
    keys: list[str] | None = None,
    loaded: Mapping[str, Mapping[int, Any]] | None = None,
) -> dict[str, dict[int, Any]]:
    """``{lookup key: {record id: API value}}`` for ``rows``; ``loaded`` may hold the rows'
    links already (``links.load``), which are then not read again."""
    result: dict[str, dict[int, Any]] = {}
    for spec in handle.form.fields:
        field_type = handle.field_type(spec.key)
        if not field_type.looks_up or (keys is not None and spec.key not in keys):
            continue
        settings = field_type.settings(spec)
        relation = handle.spec(settings.relation)
        relation_type = FIELD_TYPES.get(relation.type)
        reference = relation_type.reference(relation)
        assert reference is not None and reference[0] == "form"
        target = await sibling(db, handle, int(reference[1]))
        target_spec = target.spec(settings.field)
        many = relation_type.has_links
        record_ids = [row["id"] for row in rows]
        if many:
            link_table = handle.links[relation.key]
            known = (loaded or {}).get(relation.key)
            if known is None:
                known = await link_rows.load_field(db, link_table, record_ids)
            links: dict[int, Any] = {rid: known.get(rid) for rid in record_ids}
            wanted: Any = select(link_table.c.target_id).where(
                link_table.c.record_id.in_(record_ids)
            )  # bounded by the page, however many links it has
            found = any(links.values())
        else:
            links = {row["id"]: row[f"f_{relation.id}"] for row in rows}
            wanted = {v for v in links.values() if v is not None}
            found = bool(wanted)
        values: dict[int, Any] = {}
        # Read through the related form's scope and field rights: a lookup shows nothing
        # that the caller could not read on the related record itself.
        column = target.column(settings.field)
        if principal is not None:
            column = access(target, principal).readable(settings.field)
        if found and column is not None:
            query = select(target.table.c.id, column).where(
                target.table.c.id.in_(wanted), target.table.c.deleted_at.is_(None)
            )
            if principal is not None:
                query = query.where(read_scope(target, principal))
            target_type = FIELD_TYPES.get(target_spec.type)
            values = {
                rid: None if v is None else target_type.from_storage(target_spec, v)
                for rid, v in (await db.execute(query)).all()
            }
        if many:
            result[spec.key] = {
                rid: [values[t] for t in targets or [] if t in values] or None
                for rid, targets in links.items()
            }
        else:
            result[spec.key] = {rid: values.get(link) for rid, link in links.items()}
    return result
