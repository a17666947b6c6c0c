"""Finding duplicate records: records of a form that share a value of an identifying field.

:func:`duplicates` groups the records that share a value of one of the given fields (case and
surrounding spaces ignored) — by default (:func:`identity_fields`) the identity fields of the
form when it is an intake mapping's customer form (WeChat openid, e-mail, phone) and the name.
Only records the caller may read are compared and shown. Merging them is
``runtime.records.merge``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.records import reader
from runtime.records.forms import FormHandle, PublishedApp
from runtime.records.scope import read_scope

#: The most groups one call returns, and the most records shown per group.
MAX_GROUPS = 200
MAX_PER_GROUP = 20


@dataclass
class DuplicateGroup:
    field: str
    value: str
    records: list[dict[str, Any]]


def identity_fields(app: PublishedApp, handle: FormHandle) -> list[str]:
    """The fields that identify a person on ``handle``'s form (its intake mappings'), else []."""
    keys: list[str] = []
    for spec in app.definition.intake:
        mapping = spec.customer
        if mapping.form != handle.form.key:
            continue
        for key in (mapping.openid, mapping.email, mapping.phone, mapping.name):
            if key is not None and key not in keys:
                keys.append(key)
    return keys


def _normal(column: Any) -> Any:
    return func.lower(func.trim(column))


async def duplicates(
    db: AsyncSession,
    principal: Principal,
    handle: FormHandle,
    by: list[str],
    *,
    limit: int = 50,
    record_id: int | None = None,
) -> list[DuplicateGroup]:
    """Groups of at least two live records sharing a value of a field in ``by`` (only those
    containing ``record_id`` when given), the largest first."""
    table = handle.table
    scope = read_scope(handle, principal)
    groups: list[DuplicateGroup] = []
    wanted: dict[tuple[str, str], list[int]] = {}
    for key in by:
        if len(groups) >= limit:
            break
        column = handle.column(key)
        value = _normal(column)
        query = (
            select(value, func.count())
            .where(table.c.deleted_at.is_(None), column.is_not(None), value != "", scope)
            .group_by(value)
            .having(func.count() > 1)
            .order_by(func.count().desc(), value)
            .limit(min(limit, MAX_GROUPS))
        )
        if record_id is not None:
            mine = select(_normal(column)).where(table.c.id == record_id).scalar_subquery()
            query = query.where(value == mine)
        shared = [str(v) for v, _count in (await db.execute(query)).all()]
        if not shared:
            continue
        rows = await db.execute(
            select(value, table.c.id)
            .where(table.c.deleted_at.is_(None), value.in_(shared), scope)
            .order_by(table.c.id)
        )
        for normal, found_id in rows:
            ids = wanted.setdefault((key, str(normal)), [])
            if len(ids) < MAX_PER_GROUP:
                ids.append(int(found_id))
        groups += [DuplicateGroup(key, v, []) for v in shared]
    everyone = sorted({i for ids in wanted.values() for i in ids})
    if not everyone:
        return []
    page = await reader.list_records(
        db, handle, principal, filter_rule={"in": [{"var": "id"}, everyone]}, limit=len(everyone)
    )
    by_id = {item["id"]: item for item in page.items}
    for group in groups:
        ids = wanted.get((group.field, group.value), [])
        group.records = [by_id[i] for i in ids if i in by_id]
    return [g for g in groups[:limit] if len(g.records) > 1]
