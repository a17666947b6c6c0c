"""The ``web_form`` channel kind: tickets that came by a public web form of the app.

Its channel (one per app, made on the first submission) is what the intake logs these
submissions under; agents' replies are not sent anywhere — the submitter reads them on the
tracking page."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.channels.models import Channel
from runtime.channels.registry import ChannelKind
from runtime.db import utcnow

KEY = "web_form"


class WebFormKind(ChannelKind):
    type: ClassVar[str] = "web_form"
    label: ClassVar[tuple[str, str]] = ("Public web forms", "公开网页表单")


async def channel_of(db: AsyncSession, app_id: int) -> Channel:
    """The app's web-form channel, made when missing (in the caller's transaction)."""
    query = select(Channel).where(Channel.app_id == app_id, Channel.key == KEY)
    found = (await db.execute(query)).scalar_one_or_none()
    if found is not None:
        return found
    now = utcnow()
    channel = Channel(
        app_id=app_id,
        kind=WebFormKind.type,
        key=KEY,
        name="Web forms",
        enabled=True,
        intake=None,
        settings={},
        state={},
        row_version=1,
        created_at=now,
        updated_at=now,
    )
    try:
        async with db.begin_nested():
            db.add(channel)
            await db.flush()
    except IntegrityError:  # made by a concurrent submission
        return (await db.execute(query)).scalar_one()
    return channel
