"""The channels of an app and the log of every message that came or went through them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow

#: Directions of a logged message.
IN, OUT = "in", "out"
#: ``accepted``: became (part of) a ticket; ``duplicate``: a repeat of an accepted one (a
#: retried callback, a mail fetched twice), nothing written; ``ignored``: deliberately not
#: taken in (auto-replies, bounces, loops, unknown events); ``quarantined``: refused as bad
#: input (malformed, forged, too large), kept for inspection and reprocessing; ``sent`` /
#: ``failed``: outbound deliveries.
ACCEPTED, DUPLICATE, IGNORED, QUARANTINED, SENT, FAILED = (
    "accepted",
    "duplicate",
    "ignored",
    "quarantined",
    "sent",
    "failed",
)
STATUSES = (ACCEPTED, DUPLICATE, IGNORED, QUARANTINED, SENT, FAILED)
#: How much of a raw message the log keeps inline (bigger ones go to the file store).
RAW_INLINE_BYTES = 256 * 1024


class Channel(Base):
    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    #: The channel kind (``runtime.channels.registry``): email, wechat, chat, cti …
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    #: The app's intake mapping messages land through (None: the app's first).
    intake: Mapped[str | None] = mapped_column(String(63))
    #: The kind's settings (validated by its settings model), secrets excluded.
    settings: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: The kind's secret settings, encrypted (``runtime.channels.secrets``); never returned.
    secrets: Mapped[str | None] = mapped_column(Text)
    #: What the channel keeps between runs (IMAP UIDs, an access token and its expiry …).
    state: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    row_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("app_id", "key"),
        Index("ix_channels_kind", "kind", "enabled"),
    )


class ChannelMessage(Base):
    __tablename__ = "channel_messages"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    #: The channel's own id of the message (Message-ID, WeChat MsgId, call id …).
    external_id: Mapped[str | None] = mapped_column(String(500))
    #: What later messages of the conversation refer to (a mail's Message-ID).
    thread_key: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    #: A stable reason code (``mail.auto_reply``, ``wechat.bad_signature`` …).
    code: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
    raw_file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(IdType)
    ticket_id: Mapped[int | None] = mapped_column(IdType)
    communication_id: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel_id", "direction", "external_id"),
        Index("ix_channel_messages_channel", "channel_id", "status", "created_at"),
        Index("ix_channel_messages_thread", "app_id", "thread_key"),
        Index("ix_channel_messages_ticket", "ticket_id", "created_at"),
    )
