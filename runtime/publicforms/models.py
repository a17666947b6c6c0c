"""The public links of forms and the tracking tokens of their submissions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow

#: Submissions per address and form, unless the form says otherwise.
DEFAULT_RATE = "10/hour"


class PublicForm(Base):
    __tablename__ = "public_forms"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    form_key: Mapped[str] = mapped_column(String(63))
    #: The link's last part: ``/p/<slug>``; unique over the installation.
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    #: Per locale (``{"en": …, "zh-CN": …}``); empty: the form's label.
    title: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    intro: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    success: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: The field keys shown, in order; None: the default (the fields a submitter may fill).
    fields: Mapped[list[Any] | None] = mapped_column(JsonType)
    #: Ask for the submitter's e-mail (the tracking link is mailed there).
    collect_email: Mapped[bool] = mapped_column(default=True)
    #: Submissions per client address (``N/second|minute|hour``); the form as a whole takes
    #: 20 times as many.
    rate_limit: Mapped[str] = mapped_column(String(32), default=DEFAULT_RATE)
    row_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("app_id", "form_key"),)


class PublicSubmission(Base):
    """A submission's tracking token (only its SHA-256 is kept) and the challenge nonce it
    used (unique: a challenge answers once)."""

    __tablename__ = "public_form_submissions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    public_form_id: Mapped[int] = mapped_column(ForeignKey("public_forms.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    record_id: Mapped[int] = mapped_column(IdType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_public_form_submissions_form", "public_form_id", "created_at"),)
