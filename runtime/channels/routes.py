"""/api/v1/apps/{app_id}/channels: an app's channels and their message log, for its designers;
/api/v1/channel-kinds: what kinds of channel there are."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy import func, select

from builder.apps.designers import Designer
from runtime.channels import service
from runtime.channels.models import QUARANTINED, ChannelMessage
from runtime.channels.registry import channel_kinds
from runtime.channels.schemas import (
    ChannelIn,
    ChannelList,
    ChannelOut,
    ChannelPatch,
    KindOut,
    MessageOut,
    MessagePage,
)
from runtime.deps import MAX_ID, CurrentUser, IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.records.writer import commit_and_dispatch

router = APIRouter(prefix="/api/v1/apps/{app_id}/channels", tags=["channels"])
kinds_router = APIRouter(prefix="/api/v1/channel-kinds", tags=["channels"])
KeyPath = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]
Status = Literal["accepted", "duplicate", "ignored", "quarantined", "sent", "failed"]
PAGE = 50


@kinds_router.get("", response_model=list[KindOut])
async def list_kinds(principal: CurrentUser) -> list[KindOut]:
    return [
        KindOut(
            kind=kind.type,
            label={"en": kind.label[0], "zh-CN": kind.label[1]},
            settings_schema=kind.settings_model.model_json_schema(),
            secret_fields=list(kind.secret_fields),
        )
        for kind in channel_kinds
    ]


@router.get("", response_model=ChannelList)
async def list_channels(app_id: IdPath, designer: Designer, db: SessionDep) -> ChannelList:
    return ChannelList(items=[service.out(c) for c in await service.list_channels(db, app_id)])


@router.post("", response_model=ChannelOut, status_code=status.HTTP_201_CREATED)
async def create_channel(
    app_id: IdPath, body: ChannelIn, designer: Designer, db: SessionDep
) -> ChannelOut:
    channel = await service.create_channel(db, designer, app_id, body)
    await db.commit()
    return service.out(channel)


@router.get("/{key}", response_model=ChannelOut)
async def get_channel(
    app_id: IdPath, key: KeyPath, designer: Designer, db: SessionDep
) -> ChannelOut:
    return service.out(await service.get_channel(db, app_id, key))


@router.patch("/{key}", response_model=ChannelOut)
async def update_channel(
    app_id: IdPath, key: KeyPath, body: ChannelPatch, designer: Designer, db: SessionDep
) -> ChannelOut:
    channel = await service.update_channel(db, designer, app_id, key, body)
    await db.commit()
    return service.out(channel)


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_channel(
    app_id: IdPath, key: KeyPath, designer: Designer, db: SessionDep
) -> Response:
    await service.delete_channel(db, designer, app_id, key)
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{key}/messages", response_model=MessagePage)
async def list_messages(
    app_id: IdPath,
    key: KeyPath,
    designer: Designer,
    db: SessionDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE,
) -> MessagePage:
    """The channel's log, newest first (``before``: the ``next_cursor`` of the last page)."""
    channel = await service.get_channel(db, app_id, key)
    query = select(ChannelMessage, func.length(ChannelMessage.raw)).where(
        ChannelMessage.channel_id == channel.id
    )
    if status_ is not None:
        query = query.where(ChannelMessage.status == status_)
    if before is not None:
        query = query.where(ChannelMessage.id < before)
    rows = (await db.execute(query.order_by(ChannelMessage.id.desc()).limit(limit + 1))).all()
    items = []
    for row, size in rows[:limit]:
        item = MessageOut.model_validate(row)
        item.raw_bytes = size
        items.append(item)
    cursor = items[-1].id if len(rows) > limit else None
    return MessagePage(items=items, next_cursor=cursor)


@router.post("/{key}/messages/{message_id}/reprocess", response_model=MessageOut)
async def reprocess(
    app_id: IdPath, key: KeyPath, message_id: IdPath, designer: Designer, db: SessionDep
) -> MessageOut:
    """Take in a quarantined message again (its cause fixed: a mapping, a setting)."""
    channel = await service.get_channel(db, app_id, key)
    logged = await db.get(ChannelMessage, message_id)
    if logged is None or logged.channel_id != channel.id:
        raise ProblemError("not_found")
    if logged.status != QUARANTINED:
        raise ProblemError("not_reprocessable")
    kind = service.kind_of(channel.kind)
    try:
        await kind.reprocess(db, channel, logged)
    except NotImplementedError:
        raise ProblemError("not_reprocessable") from None
    await commit_and_dispatch(db)
    await db.refresh(logged)
    return MessageOut.model_validate(logged)
