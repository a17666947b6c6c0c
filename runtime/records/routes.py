"""/api/v1/records/{app}/{form}: records of published forms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from runtime.auth.principal import Principal
from runtime.deps import CurrentUser, IdPath, SessionDep, SettingsDep
from runtime.errors import FieldError, ProblemError
from runtime.permissions.access import access
from runtime.records import overview, reader, timeline
from runtime.records.forms import FormHandle, resolve
from runtime.records.schemas import (
    BulkIn,
    BulkOut,
    CommentIn,
    OverviewEntryOut,
    OverviewFigureOut,
    OverviewOut,
    OverviewSourceOut,
    QueryIn,
    RecordCreateIn,
    RecordOut,
    RecordPage,
    RecordPatchIn,
    TimelineEntry,
)
from runtime.records.scope import check_token
from runtime.records.writer import RecordWriter, commit_and_dispatch

router = APIRouter(prefix="/api/v1/records", tags=["records"])

Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


async def _handle(
    db: SessionDep, app: str, form: str, principal: Principal, action: str | None
) -> FormHandle:
    """The published form, after checking that a narrowed token may be used for it."""
    handle = await resolve(db, app, form)
    check_token(handle, principal, action)
    return handle


async def _page(
    db: SessionDep, handle: FormHandle, principal: CurrentUser, query: QueryIn
) -> RecordPage:
    page = await reader.list_records(
        db,
        handle,
        principal,
        filter_rule=query.filter,
        sort=query.sort,
        limit=query.limit,
        cursor=query.cursor,
        fields=query.fields,
        with_total=query.total,
        deleted=query.deleted,
        search=query.q,
    )
    return RecordPage(
        items=[RecordOut(**r) for r in page.items], next_cursor=page.next_cursor, total=page.total
    )


@router.get("/{app}/{form}", response_model=RecordPage)
async def list_records(
    app: Key,
    form: Key,
    principal: CurrentUser,
    db: SessionDep,
    filter: Annotated[str | None, Query(max_length=8000, description="JsonLogic (JSON)")] = None,
    sort: Annotated[str | None, Query(max_length=300, examples=["-created_at"])] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    fields: Annotated[str | None, Query(max_length=2000)] = None,
    total: bool = False,
    deleted: bool = False,
    q: Annotated[str | None, Query(max_length=200, description="Full-text search")] = None,
) -> RecordPage:
    """Records matching ``filter``, sorted, a page at a time (follow ``next_cursor``)."""
    handle = await _handle(db, app, form, principal, "read")
    query = QueryIn(
        filter=reader.parse_filter(filter),
        sort=sort,
        limit=limit,
        cursor=cursor,
        fields=fields,
        total=total,
        deleted=deleted,
        q=q,
    )
    return await _page(db, handle, principal, query)


@router.post("/{app}/{form}/query", response_model=RecordPage)
async def query_records(
    app: Key, form: Key, body: QueryIn, principal: CurrentUser, db: SessionDep
) -> RecordPage:
    """The list with the filter in the body (for long filters)."""
    return await _page(db, await _handle(db, app, form, principal, "read"), principal, body)


@router.post("/{app}/{form}", response_model=RecordOut, status_code=status.HTTP_201_CREATED)
async def create_record(
    app: Key,
    form: Key,
    body: RecordCreateIn,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> RecordOut:
    handle = await _handle(db, app, form, principal, "create")
    writer = RecordWriter(db, handle, principal, time_zone=settings.time_zone)
    record = await writer.create(body.values)
    await commit_and_dispatch(db)
    return RecordOut(**record)


@router.post("/{app}/{form}/bulk", response_model=BulkOut)
async def bulk(
    app: Key, form: Key, body: BulkIn, principal: CurrentUser, db: SessionDep, settings: SettingsDep
) -> BulkOut:
    """Create and update up to 1,000 records in one transaction: all or nothing."""
    if not body.create and not body.update:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("create", "empty", "Give records to create or update.")],
        )
    handle = await _handle(db, app, form, principal, None)
    writer = RecordWriter(db, handle, principal, source="bulk", time_zone=settings.time_zone)
    created = await writer.create_many(body.create) if body.create else []
    updated = (
        await writer.update_many([(i.id, i.row_version, i.values) for i in body.update])
        if body.update
        else []
    )
    await commit_and_dispatch(db)
    return BulkOut(
        created=[RecordOut(**r) for r in created], updated=[RecordOut(**r) for r in updated]
    )


@router.get("/{app}/{form}/{record_id}", response_model=RecordOut)
async def get_record(
    app: Key, form: Key, record_id: IdPath, principal: CurrentUser, db: SessionDep
) -> RecordOut:
    handle = await _handle(db, app, form, principal, "read")
    return RecordOut(**await reader.get_record(db, handle, principal, record_id))


@router.patch("/{app}/{form}/{record_id}", response_model=RecordOut)
async def update_record(
    app: Key,
    form: Key,
    record_id: IdPath,
    body: RecordPatchIn,
    principal: CurrentUser,
    db: SessionDep,
) -> RecordOut:
    """Change some fields; send the ``row_version`` you read (409 with the current one)."""
    handle = await _handle(db, app, form, principal, "update")
    await reader.get_record(db, handle, principal, record_id)
    record = await RecordWriter(db, handle, principal).update(
        record_id, body.row_version, body.values
    )
    await commit_and_dispatch(db)
    return RecordOut(**record)


@router.delete("/{app}/{form}/{record_id}", response_model=RecordOut)
async def delete_record(
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: CurrentUser,
    db: SessionDep,
    row_version: Annotated[int | None, Query(ge=1, le=2**31)] = None,
) -> RecordOut:
    """Soft delete: the record leaves lists and can be restored."""
    handle = await _handle(db, app, form, principal, "delete")
    await reader.get_record(db, handle, principal, record_id)
    record = await RecordWriter(db, handle, principal).delete(record_id, row_version)
    await commit_and_dispatch(db)
    return RecordOut(**record)


@router.post("/{app}/{form}/{record_id}/restore", response_model=RecordOut)
async def restore_record(
    app: Key, form: Key, record_id: IdPath, principal: CurrentUser, db: SessionDep
) -> RecordOut:
    handle = await _handle(db, app, form, principal, "delete")
    await reader.get_record(db, handle, principal, record_id)
    record = await RecordWriter(db, handle, principal).restore(record_id)
    await commit_and_dispatch(db)
    return RecordOut(**record)


@router.get("/{app}/{form}/{record_id}/timeline", response_model=list[TimelineEntry])
async def record_timeline(
    app: Key, form: Key, record_id: IdPath, principal: CurrentUser, db: SessionDep
) -> list[Any]:
    """Field-level history (who, when, old → new) and comments, oldest first."""
    handle = await _handle(db, app, form, principal, "read")
    await reader.get_record(db, handle, principal, record_id)
    hidden = await access(handle, principal).hidden_on(db, record_id)
    return await timeline.timeline(db, handle, record_id, hidden=hidden)


@router.get("/{app}/{form}/{record_id}/overview", response_model=OverviewOut)
async def record_overview(
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: CurrentUser,
    db: SessionDep,
    before: Annotated[str | None, Query(max_length=200, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=overview.MAX_LIMIT)] = overview.DEFAULT_LIMIT,
) -> OverviewOut:
    """The record's 360° view: the records of other forms pointing at it, newest first, and
    the form's key figures over them (on the first page) — only what the caller may read."""
    handle = await _handle(db, app, form, principal, "read")
    overview.overview_of(handle)
    await reader.get_record(db, handle, principal, record_id)
    page = await overview.timeline(db, handle, principal, record_id, before=before, limit=limit)
    figures = None
    if before is None:
        figures = [
            OverviewFigureOut(**vars(f))
            for f in await overview.figures(db, handle, principal, record_id)
        ]
    return OverviewOut(
        figures=figures,
        sources=[
            OverviewSourceOut(
                index=s.index,
                form=s.handle.form.key,
                label=s.label,
                fields=s.shown,
                title=s.title,
            )
            for s in page.sources
        ],
        items=[
            OverviewEntryOut(
                source=e.source,
                form=e.form,
                id=e.record_id,
                at=e.at,
                title=e.title,
                values=e.values,
            )
            for e in page.entries
        ],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/{app}/{form}/{record_id}/comments",
    response_model=TimelineEntry,
    status_code=status.HTTP_201_CREATED,
)
async def add_comment(
    app: Key, form: Key, record_id: IdPath, body: CommentIn, principal: CurrentUser, db: SessionDep
) -> TimelineEntry:
    """A comment or internal note; ``@username`` mentions are resolved to users."""
    handle = await _handle(db, app, form, principal, "read")
    await reader.get_record(db, handle, principal, record_id)
    comment = await timeline.add_comment(
        db, handle, principal, record_id, body.body, body.internal, body.attachments
    )
    await db.commit()
    return TimelineEntry(
        kind="comment",
        id=comment.id,
        at=comment.created_at,
        actor_id=comment.author_id,
        body=comment.body,
        internal=comment.internal,
        mentions=comment.mentions,
        attachments=comment.attachments,
    )
