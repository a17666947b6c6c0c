"""The ``saved_views`` table: one named list view of one form, owned by one user."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow


class SavedView(Base):
    """Columns, filter (JsonLogic) and sort of a form's list under a name. Shared views (only
    administrators share) are offered to every user of the form; only the owner changes one."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    columns: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    filter: Mapped[Any | None] = mapped_column(JsonType)
    sort: Mapped[str | None] = mapped_column(String(300))
    shared: Mapped[bool] = mapped_column(default=False)
    row_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("form_id", "owner_id", "name"),
        Index("ix_saved_views_form_shared", "form_id", "shared"),
    )
