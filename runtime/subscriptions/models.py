"""An app's webhook subscriptions: which record events of which form go to which URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow

#: The record events a subscription can ask for.
EVENTS = ("created", "updated", "deleted")
#: ``webhook_deliveries.source_kind`` of subscription deliveries.
SOURCE_KIND = "subscription"


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: The form by its stable id; None: every form of the app.
    form_id: Mapped[int | None]
    #: Some of ``EVENTS``.
    events: Mapped[list[str]] = mapped_column(JsonType, default=list)
    url: Mapped[str] = mapped_column(String(2000))
    #: The signing secret, sealed (``runtime.channels.secrets``); never returned.
    secret: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    row_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_webhook_subscriptions_app", "app_id", "active"),)
