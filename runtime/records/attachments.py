"""Files in records: resolving submitted file ids, and which record holds which file.

Before a write is validated, the file references in attachment fields are resolved to the
files' metadata (:func:`resolve`): a file must exist and have been uploaded by the writer, or
already be held by that record (through any of its attachment fields or comments) — so nobody
can gain access to someone else's file by attaching it. After the write, ``record_files`` is
brought up to date (:func:`record`); downloads read it (``runtime.files.access``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.errors import FieldProblem
from runtime.auth.principal import Principal
from runtime.files.models import StoredFile
from runtime.records.forms import FormHandle
from runtime.records.models import RecordFile

#: Ids per query when resolving a large bulk write.
CHUNK = 5000


def file_keys(handle: FormHandle) -> list[str]:
    """The live fields of the form that hold files."""
    return [key for key in handle.form.keys if handle.field_type(key).holds_files]


def metadata(file: StoredFile) -> dict[str, Any]:
    """A file as attachment fields show it."""
    return {
        "id": file.id,
        "filename": file.filename,
        "size": file.size,
        "content_type": file.content_type,
        "sha256": file.sha256,
    }


async def _files(db: AsyncSession, ids: set[int]) -> dict[int, StoredFile]:
    ordered = sorted(ids)
    found: dict[int, StoredFile] = {}
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        rows = await db.execute(select(StoredFile).where(StoredFile.id.in_(chunk)))
        found.update({file.id: file for file in rows.scalars()})
    return found


async def held(
    db: AsyncSession, form_id: int, record_ids: Iterable[int], file_ids: set[int]
) -> set[tuple[int, int]]:
    """(record id, file id) pairs among these that a record already holds."""
    records = sorted(set(record_ids))
    if not records or not file_ids:
        return set()
    ordered = sorted(file_ids)
    pairs: set[tuple[int, int]] = set()
    for start in range(0, len(ordered), CHUNK):
        rows = await db.execute(
            select(RecordFile.record_id, RecordFile.file_id).where(
                RecordFile.form_id == form_id,
                RecordFile.record_id.in_(records),
                RecordFile.file_id.in_(ordered[start : start + CHUNK]),
            )
        )
        pairs.update((record_id, file_id) for record_id, file_id in rows)
    return pairs


async def resolve(
    db: AsyncSession,
    handle: FormHandle,
    actor: Principal | None,
    items: Sequence[dict[str, Any]],
    record_ids: Sequence[int | None],
) -> tuple[list[dict[str, Any]], list[FieldProblem]]:
    """``items`` with their file references replaced by file metadata, and the references
    that may not be used (``unknown_reference``; the field is then left out of the item)."""
    keys = file_keys(handle)
    resolved = [dict(values) for values in items]
    references: dict[tuple[int, str], list[int]] = {}
    for index, values in enumerate(items):
        for key in keys:
            if key in values:
                ids = handle.field_type(key).file_ids(handle.spec(key), values[key])
                if ids:
                    references[(index, key)] = ids
    if not references:
        return resolved, []
    wanted = {file_id for ids in references.values() for file_id in ids}
    files = await _files(db, wanted)
    existing = [record_id for record_id in record_ids if record_id is not None]
    holding = await held(db, handle.form_id, existing, wanted)
    problems: list[FieldProblem] = []
    prefix_of = (lambda i: f"[{i}].") if len(items) > 1 else (lambda i: "")
    for (index, key), ids in references.items():
        record_id = record_ids[index]
        refused = [
            (position, file_id)
            for position, file_id in enumerate(ids)
            if not _usable(files.get(file_id), actor, record_id, holding)
        ]
        if refused:
            problems.extend(
                FieldProblem(f"{prefix_of(index)}{key}[{position}]", "unknown_reference", {"id": i})
                for position, i in refused
            )
            del resolved[index][key]
            continue
        spec = handle.spec(key)
        found = {file_id: metadata(files[file_id]) for file_id in ids}
        resolved[index][key] = handle.field_type(key).attach(spec, items[index][key], found)
    return resolved, problems


def _usable(
    file: StoredFile | None,
    actor: Principal | None,
    record_id: int | None,
    holding: set[tuple[int, int]],
) -> bool:
    if file is None:
        return False
    if actor is None or file.created_by == actor.user_id:
        return True  # system writes (rules, flows) act for everyone
    return record_id is not None and (record_id, file.id) in holding


async def record(
    db: AsyncSession,
    handle: FormHandle,
    written: Sequence[tuple[int, dict[str, Any]]],
    *,
    replace: bool,
) -> None:
    """Bring ``record_files`` up to date for the attachment fields among the written values
    (``(record id, stored values)``; with ``replace`` the fields' old rows go first)."""
    keys = [key for key in file_keys(handle) if any(key in values for _, values in written)]
    rows: list[dict[str, Any]] = []
    for key in keys:
        spec, field_type = handle.spec(key), handle.field_type(key)
        touched = [record_id for record_id, values in written if key in values]
        if replace:
            await db.execute(
                delete(RecordFile).where(
                    RecordFile.form_id == handle.form_id,
                    RecordFile.field_id == spec.id,
                    RecordFile.record_id.in_(touched),
                )
            )
        for record_id, values in written:
            if key not in values:
                continue
            for file_id in dict.fromkeys(field_type.file_ids(spec, values[key]) or []):
                rows.append(
                    {
                        "form_id": handle.form_id,
                        "record_id": record_id,
                        "field_id": spec.id,
                        "file_id": file_id,
                    }
                )
    if rows:
        await db.execute(insert(RecordFile), rows)
