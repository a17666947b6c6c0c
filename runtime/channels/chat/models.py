"""Web chat conversations (one per visitor token and channel) and their events (the
transcript the widget resumes from: visitor and agent messages, numbered per conversation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, utcnow

#: Who wrote a chat event.
VISITOR, AGENT = "visitor", "agent"


class ChatConversation(Base):
    __tablename__ = "chat_conversations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    #: SHA-256 of the visitor's token (the widget keeps the token in localStorage).
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(IdType)
    ticket_id: Mapped[int | None] = mapped_column(IdType)
    #: The number of the conversation's latest event.
    last_seq: Mapped[int] = mapped_column(default=0)
    #: The latest event an agent has seen (unread = visitor events after it).
    agent_seen_seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel_id", "token_hash"),
        Index("ix_chat_conversations_app", "app_id", "updated_at"),
        Index("ix_chat_conversations_ticket", "ticket_id"),
    )


class ChatEvent(Base):
    __tablename__ = "chat_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("chat_conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column()
    #: ``visitor`` or ``agent``.
    author: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(IdType)
    author_name: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: The message record on the ticket.
    communication_id: Mapped[int | None] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)
