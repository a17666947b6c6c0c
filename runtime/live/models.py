"""Events waiting for a signed-in user's open pages (kept a few minutes, then cleaned up)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow


class UserEvent(Base):
    __tablename__ = "user_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The server-sent event's name (``call``: a screen pop).
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_user_events_user", "user_id", "id"),
        Index("ix_user_events_created", "created_at"),
    )
