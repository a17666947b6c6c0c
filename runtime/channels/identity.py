"""What a merge of two customers or two tickets moves in the channels.

A merge of two customers or two tickets (``runtime.records.merge``) also moves the channels'
message log and the web chat's conversations, so that a reply to an old mail or the next chat
message of the merged customer lands on the survivor; the undo moves those entries back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.channels.chat.models import ChatConversation
from runtime.channels.models import ChannelMessage
from runtime.records.forms import FormHandle, PublishedApp
from runtime.records.merge import on_merge

#: What the channels keep about customers and tickets, by (role, model): the message log and
#: the web chat's conversations (a visitor's next message goes to the survivor).
_KEPT: tuple[tuple[str, Any], ...] = (
    ("customer", ChannelMessage),
    ("ticket", ChannelMessage),
    ("customer", ChatConversation),
    ("ticket", ChatConversation),
)


def _column(model: Any, role: str) -> Any:
    return model.customer_id if role == "customer" else model.ticket_id


async def _move_log(
    db: AsyncSession, app: PublishedApp, handle: FormHandle, survivor: int, merged: int
) -> Any:
    """Point the channels' rows of the merged customer or ticket at the survivor."""
    moved: dict[str, list[int]] = {}
    for role, model in _KEPT:
        if not _is_intake_form(app, handle, role):
            continue
        column = _column(model, role)
        query = select(model.id).where(model.app_id == handle.app_id, column == merged)
        ids = [int(i) for i in (await db.execute(query)).scalars()]
        if ids:
            await db.execute(update(model).where(model.id.in_(ids)).values({column: survivor}))
            moved[f"{model.__tablename__}.{role}"] = ids
    return moved


async def _move_log_back(
    db: AsyncSession, app: PublishedApp, handle: FormHandle, survivor: int, merged: int, moved: Any
) -> None:
    for role, model in _KEPT:
        ids = (moved or {}).get(f"{model.__tablename__}.{role}") or []
        if ids:
            column = _column(model, role)
            await db.execute(
                update(model).where(model.id.in_(ids), column == survivor).values({column: merged})
            )


def _is_intake_form(app: PublishedApp, handle: FormHandle, role: str) -> bool:
    """Whether ``handle``'s form is the customer (or ticket) form of an intake mapping."""
    return any(
        (spec.customer.form if role == "customer" else spec.ticket.form) == handle.form.key
        for spec in app.definition.intake
    )


on_merge("channel_messages", _move_log, _move_log_back)
