"""Merging two records of one form into one — two customers who are the same person, two
tickets about the same problem — and undoing it.

A merge, in one transaction and through the one write path (history, rules and events as for
any write):

1. every reference to the merged record — a relation or many-relation field of any form of the
   app that points at this form — is moved to the survivor;
2. the survivor's empty fields are filled from the merged record (``fill``: all of them by
   default; a unique field, such as a WeChat openid, is first cleared on the merged record);
3. other parts of the platform move what they keep (``merge_hooks``: the channels' message log,
   so a reply to an old mail finds the survivor);
4. the merged record is soft-deleted, and a :class:`RecordMerge` row keeps all of the above.

Undo puts references back (those still pointing at the survivor), empties the fields that were
filled (where nobody changed them since), gives the merged record back what was cleared, lets
the hooks undo their part and restores the merged record. A merge is undone once.

The caller needs the right to update the survivor and to delete the merged record; references
on other forms move whatever the caller may see of them (a merge must be complete).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.registry import FIELD_TYPES
from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError
from runtime.records import links
from runtime.records.forms import FormHandle, PublishedApp
from runtime.records.models import RecordMerge
from runtime.records.scope import require, row_scope
from runtime.records.writer import MAX_BULK, RecordWriter

#: ``hook(db, app, handle, survivor_id, merged_id) -> data`` moves a part's own references and
#: returns what its undo needs; ``undo(db, app, handle, survivor_id, merged_id, data)``.
MergeHook = Callable[[AsyncSession, "PublishedApp", FormHandle, int, int], Awaitable[Any]]
UndoHook = Callable[[AsyncSession, "PublishedApp", FormHandle, int, int, Any], Awaitable[None]]
merge_hooks: dict[str, tuple[MergeHook, UndoHook]] = {}


def on_merge(name: str, merge: MergeHook, undo: UndoHook) -> None:
    """Register a part that keeps references to records outside the forms."""
    merge_hooks[name] = (merge, undo)


@dataclass(frozen=True)
class Reference:
    """A field of ``handle``'s form that points at the merged form."""

    handle: FormHandle
    key: str
    many: bool


def references_to(app: PublishedApp, form_id: int) -> list[Reference]:
    """Every top-level relation and many-relation field of the app pointing at ``form_id``."""
    found = []
    for handle in app.handles.values():
        for spec in handle.form.fields:
            if spec.type not in ("relation", "multirelation"):
                continue
            if FIELD_TYPES.get(spec.type).reference(spec) == ("form", form_id):
                found.append(Reference(handle, spec.key, spec.type == "multirelation"))
    return found


def fillable(handle: FormHandle) -> list[str]:
    """Fields a merge may fill: plain values users type (no computed values, files, links or
    sub-tables)."""
    keys = []
    for spec in handle.form.fields:
        kind = FIELD_TYPES.get(spec.type)
        if spec.key in handle.children or not kind.has_column or not kind.client_writable:
            continue
        if kind.family in ("computed", "file") or getattr(kind, "computed", False):
            continue
        keys.append(spec.key)
    return keys


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


async def _row(db: AsyncSession, handle: FormHandle, record_id: int) -> Any:
    table = handle.table
    return (
        (await db.execute(select(table).where(table.c.id == record_id).with_for_update()))
        .mappings()
        .one_or_none()
    )


async def _may(
    db: AsyncSession, handle: FormHandle, principal: Principal, record_id: int, action: str
) -> bool:
    table = handle.table
    found = await db.execute(
        select(table.c.id).where(
            table.c.id == record_id,
            table.c.deleted_at.is_(None),
            row_scope(handle, principal, "read"),
            row_scope(handle, principal, action),
        )
    )
    return found.scalar_one_or_none() is not None


async def _versions(db: AsyncSession, handle: FormHandle, ids: list[int]) -> dict[int, int]:
    table = handle.table
    rows = await db.execute(select(table.c.id, table.c.row_version).where(table.c.id.in_(ids)))
    return {int(i): int(v) for i, v in rows}


async def _repoint(
    db: AsyncSession,
    ref: Reference,
    author_id: int | None,
    old: int,
    new: int,
    only: list[int] | None = None,
) -> list[int]:
    """Point ``ref`` at ``new`` instead of ``old`` on every record (or on ``only``)."""
    handle = ref.handle
    table = handle.table
    if ref.many:
        link_table = handle.links[ref.key]
        query = (
            select(link_table.c.record_id)
            .join(table, table.c.id == link_table.c.record_id)
            .where(link_table.c.target_id == old)
        )
    else:
        query = select(table.c.id).where(handle.column(ref.key) == old)
    query = query.where(table.c.deleted_at.is_(None))
    ids = sorted({int(i) for i in (await db.execute(query)).scalars()})
    if only is not None:
        ids = [i for i in ids if i in set(only)]
    if not ids:
        return []
    writer = RecordWriter(db, handle, None, source="merge", author_id=author_id)
    current = await links.load(db, handle, ids, [ref.key]) if ref.many else {}
    for start in range(0, len(ids), MAX_BULK):
        chunk = ids[start : start + MAX_BULK]
        versions = await _versions(db, handle, chunk)
        items = []
        for record_id in chunk:
            if ref.many:
                targets = current[ref.key].get(record_id) or []
                value: Any = list(dict.fromkeys(new if t == old else t for t in targets))
            else:
                value = new
            items.append((record_id, versions[record_id], {ref.key: value}))
        await writer.update_many(items)
    return ids


async def merge_records(
    db: AsyncSession,
    principal: Principal,
    app: PublishedApp,
    handle: FormHandle,
    survivor_id: int,
    merged_id: int,
    *,
    fill: list[str] | None = None,
) -> RecordMerge:
    """Merge ``merged_id`` into ``survivor_id`` (see the module docstring); the caller commits
    with ``commit_and_dispatch``."""
    require(handle, principal, "update")
    require(handle, principal, "delete")
    if survivor_id == merged_id:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("merge", "same_record", _same_record_message())],
        )
    if not await _may(db, handle, principal, survivor_id, "update"):
        raise ProblemError("not_found", extra={"record_id": survivor_id})
    if not await _may(db, handle, principal, merged_id, "delete"):
        raise ProblemError("not_found", extra={"record_id": merged_id})
    survivor, merged = await _row(db, handle, survivor_id), await _row(db, handle, merged_id)
    allowed = fillable(handle)
    unknown = [key for key in fill or [] if key not in allowed]
    if unknown:
        raise ProblemError(
            "validation_failed",
            errors=[
                FieldError(f"fill.{key}", "not_fillable", _not_fillable(key)) for key in unknown
            ],
        )
    author = principal.user_id
    moved = []
    for ref in references_to(app, handle.form_id):
        ids = await _repoint(db, ref, author, merged_id, survivor_id)
        if ids:
            moved.append(
                {"form": ref.handle.form.key, "field": ref.key, "many": ref.many, "ids": ids}
            )

    survivor_values = handle.to_api(survivor)["values"]
    merged_values = handle.to_api(merged)["values"]
    filled = {
        key: merged_values[key]
        for key in (fill if fill is not None else allowed)
        if _empty(survivor_values.get(key)) and not _empty(merged_values.get(key))
    }
    writer = RecordWriter(db, handle, None, source="merge", author_id=author)
    cleared = [key for key in filled if key in handle.unique_keys]
    if cleared:
        version = (await _versions(db, handle, [merged_id]))[merged_id]
        await writer.update(merged_id, version, dict.fromkeys(cleared))
    if filled:
        version = (await _versions(db, handle, [survivor_id]))[survivor_id]
        await writer.update(survivor_id, version, filled)
    extra: dict[str, Any] = {"cleared": cleared}
    for name, (hook, _undo) in merge_hooks.items():
        data = await hook(db, app, handle, survivor_id, merged_id)
        if data:
            extra[name] = data
    await writer.delete(merged_id)
    row = RecordMerge(
        app_id=app.app_id,
        form_id=handle.form_id,
        survivor_id=survivor_id,
        merged_id=merged_id,
        moved=moved,
        filled=filled,
        extra=extra,
        merged_by=author,
        merged_at=utcnow(),
    )
    db.add(row)
    await db.flush()
    audit.record(
        db,
        principal,
        "record.merge",
        "record",
        f"{handle.app_key}/{handle.form.key}/{survivor_id}",
        {
            "merged": merged_id,
            "merge_id": row.id,
            "moved": _counts(moved),
            "filled": sorted(filled),
        },
    )
    return row


async def undo_merge(
    db: AsyncSession,
    principal: Principal,
    app: PublishedApp,
    handle: FormHandle,
    merge: RecordMerge,
) -> RecordMerge:
    """Undo ``merge`` (see the module docstring); 409 ``merge_undone`` if it was undone."""
    require(handle, principal, "update")
    require(handle, principal, "delete")
    if merge.undone_at is not None:
        raise ProblemError("merge_undone")
    if not await _may(db, handle, principal, merge.survivor_id, "update"):
        raise ProblemError("not_found", extra={"record_id": merge.survivor_id})
    author = principal.user_id
    writer = RecordWriter(db, handle, None, source="merge", author_id=author)
    await writer.restore(merge.merged_id)
    refs = {(r.handle.form.key, r.key): r for r in references_to(app, handle.form_id)}
    for item in merge.moved:
        ref = refs.get((item["form"], item["field"]))
        if ref is not None:  # a field removed since keeps its values
            await _repoint(db, ref, author, merge.survivor_id, merge.merged_id, item["ids"])
    for name, (_hook, undo) in merge_hooks.items():
        if name in merge.extra:
            await undo(db, app, handle, merge.survivor_id, merge.merged_id, merge.extra[name])
    survivor = handle.to_api(await _row(db, handle, merge.survivor_id))["values"]
    unchanged = [k for k, v in merge.filled.items() if k in survivor and survivor[k] == v]
    if unchanged:
        version = (await _versions(db, handle, [merge.survivor_id]))[merge.survivor_id]
        await writer.update(merge.survivor_id, version, dict.fromkeys(unchanged))
    cleared = {k: merge.filled[k] for k in merge.extra.get("cleared", []) if k in unchanged}
    if cleared:
        version = (await _versions(db, handle, [merge.merged_id]))[merge.merged_id]
        await writer.update(merge.merged_id, version, cleared)
    merge.undone_at = utcnow()
    merge.undone_by = author
    await db.flush()
    audit.record(
        db,
        principal,
        "record.merge_undo",
        "record",
        f"{handle.app_key}/{handle.form.key}/{merge.survivor_id}",
        {"merged": merge.merged_id, "merge_id": merge.id},
    )
    return merge


async def merges_of(db: AsyncSession, form_id: int, record_id: int) -> list[RecordMerge]:
    """The merges a record took part in (as survivor or merged), newest first."""
    rows = await db.execute(
        select(RecordMerge)
        .where(
            RecordMerge.form_id == form_id,
            or_(RecordMerge.survivor_id == record_id, RecordMerge.merged_id == record_id),
        )
        .order_by(RecordMerge.id.desc())
        .limit(100)
    )
    return list(rows.scalars())


def _counts(moved: list[dict[str, Any]]) -> dict[str, int]:
    return {f"{m['form']}.{m['field']}": len(m["ids"]) for m in moved}


def _same_record_message() -> str:
    from runtime.i18n import current_locale

    if current_locale.get() == "zh-CN":
        return "不能把记录合并到它自己。"
    return "A record cannot be merged into itself."


def _not_fillable(key: str) -> str:
    from runtime.i18n import current_locale

    if current_locale.get() == "zh-CN":
        return f"字段 {key} 不能在合并时填充。"
    return f"The field {key} cannot be filled by a merge."
