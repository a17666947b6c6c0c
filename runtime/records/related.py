"""What a record shows that lives outside its row: sub-table rows, many-relation links and
lookups, loaded for a page of records with one query per field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.records import children, links, lookups
from runtime.records.forms import FormHandle


async def stored(
    db: AsyncSession, handle: FormHandle, record_ids: list[int], keys: list[str] | None = None
) -> dict[str, dict[int, Any]]:
    """Stored values kept in other tables (sub-table rows, links), by key and record id."""
    loaded: dict[str, dict[int, Any]] = dict(await children.load(db, handle, record_ids, keys))
    loaded.update(await links.load(db, handle, record_ids, keys))
    return loaded


async def load(
    db: AsyncSession,
    handle: FormHandle,
    rows: Sequence[Mapping[str, Any]],
    principal: Principal | None,
    keys: list[str] | None = None,
) -> dict[str, dict[int, Any]]:
    """Everything ``FormHandle.to_api`` needs beside ``rows`` (``keys``: only these fields)."""
    loaded = await stored(db, handle, [row["id"] for row in rows], keys)
    loaded.update(await lookups.load(db, handle, rows, principal, keys, loaded))
    return loaded
