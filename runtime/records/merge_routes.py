"""/api/v1/records/{app}/{form}: duplicates of a form's records, merging one record into
another and undoing it (``runtime.records.merge``, ``runtime.records.duplicates``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from runtime.deps import CurrentUser, IdPath, SessionDep
from runtime.errors import FieldError, ProblemError
from runtime.records import duplicates as finder
from runtime.records.forms import resolve, resolve_app
from runtime.records.merge import merge_records, merges_of, undo_merge
from runtime.records.models import RecordMerge
from runtime.records.routes import Key
from runtime.records.schemas import RecordOut
from runtime.records.scope import check_token, require
from runtime.records.writer import commit_and_dispatch

router = APIRouter(prefix="/api/v1/records", tags=["records"])


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The record merged into the one in the path (it is soft-deleted).
    merge: int = Field(ge=1, le=2**63 - 1)
    #: The fields of the survivor to fill from the merged record where they are empty; all
    #: fillable fields when left out, none with ``[]``.
    fill: list[str] | None = Field(default=None, max_length=200)


class MergeOut(BaseModel):
    id: int
    survivor_id: int
    merged_id: int
    #: References moved, by ``form.field``: how many records.
    moved: dict[str, int]
    #: The survivor's fields filled from the merged record.
    filled: list[str]
    merged_by: int | None
    merged_at: datetime
    undone_by: int | None
    undone_at: datetime | None


class DuplicateGroupOut(BaseModel):
    field: str
    value: str
    records: list[RecordOut]


class DuplicatesOut(BaseModel):
    #: The fields compared.
    by: list[str]
    groups: list[DuplicateGroupOut]


def merge_out(row: RecordMerge) -> MergeOut:
    return MergeOut(
        id=row.id,
        survivor_id=row.survivor_id,
        merged_id=row.merged_id,
        moved={f"{m['form']}.{m['field']}": len(m["ids"]) for m in row.moved},
        filled=sorted(row.filled),
        merged_by=row.merged_by,
        merged_at=row.merged_at,
        undone_by=row.undone_by,
        undone_at=row.undone_at,
    )


@router.get("/{app}/{form}/duplicates", response_model=DuplicatesOut)
async def list_duplicates(
    app: Key,
    form: Key,
    principal: CurrentUser,
    db: SessionDep,
    by: Annotated[str | None, Query(max_length=500)] = None,
    record: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=finder.MAX_GROUPS)] = 50,
) -> DuplicatesOut:
    """Records sharing an e-mail, phone, openid or name (or the fields in ``by``, comma
    separated), the largest groups first; ``record``: only the groups of that record."""
    published = await resolve_app(db, app)
    handle = await resolve(db, app, form)
    check_token(handle, principal, "read")
    rights = require(handle, principal, "read")
    keys = [k.strip() for k in by.split(",") if k.strip()] if by else None
    keys = keys or finder.identity_fields(published, handle)
    hidden = rights.hidden_keys()
    bad = [
        k
        for k in keys
        if k not in handle.validator.specs
        or not handle.field_type(k).has_column
        or k in handle.children
        or k in hidden
    ]
    if bad or not keys:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("by", "unknown_field", f"{k}") for k in bad]
            or [FieldError("by", "required", "by")],
        )
    groups = await finder.duplicates(db, principal, handle, keys, limit=limit, record_id=record)
    return DuplicatesOut(
        by=keys,
        groups=[
            DuplicateGroupOut(
                field=g.field, value=g.value, records=[RecordOut(**r) for r in g.records]
            )
            for g in groups
        ],
    )


@router.post("/{app}/{form}/{record_id}/merge", response_model=MergeOut)
async def merge(
    app: Key, form: Key, record_id: IdPath, body: MergeIn, principal: CurrentUser, db: SessionDep
) -> MergeOut:
    """Merge the record ``merge`` into this one: references move here, empty fields are
    filled, the merged record is deleted; ``…/merges/{id}/undo`` puts it all back."""
    published = await resolve_app(db, app)
    handle = await resolve(db, app, form)
    check_token(handle, principal, "delete")
    row = await merge_records(
        db, principal, published, handle, record_id, body.merge, fill=body.fill
    )
    out = merge_out(row)
    await commit_and_dispatch(db)
    return out


@router.get("/{app}/{form}/{record_id}/merges", response_model=list[MergeOut])
async def list_merges(
    app: Key, form: Key, record_id: IdPath, principal: CurrentUser, db: SessionDep
) -> list[MergeOut]:
    """The merges this record took part in, newest first."""
    handle = await resolve(db, app, form)
    check_token(handle, principal, "read")
    require(handle, principal, "read")
    return [merge_out(r) for r in await merges_of(db, handle.form_id, record_id)]


@router.post("/{app}/{form}/merges/{merge_id}/undo", response_model=MergeOut)
async def undo(
    app: Key, form: Key, merge_id: IdPath, principal: CurrentUser, db: SessionDep
) -> MergeOut:
    """Undo a merge: the merged record comes back with its references."""
    published = await resolve_app(db, app)
    handle = await resolve(db, app, form)
    check_token(handle, principal, "delete")
    row = await db.get(RecordMerge, merge_id, with_for_update=True)
    if row is None or row.form_id != handle.form_id:
        raise ProblemError("merge_not_found")
    await undo_merge(db, principal, published, handle, row)
    out = merge_out(row)
    await commit_and_dispatch(db)
    return out
