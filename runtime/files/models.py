"""Metadata of stored files; the bytes live in the storage directory, named by their content.

Several files (uploads) can share one blob: ``key`` is the storage key, the SHA-256 of the
content for every file uploaded since storage became content-addressed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, utcnow


class StoredFile(Base):
    __tablename__ = "files"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(IdType)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    app_id: Mapped[int | None] = mapped_column(
        ForeignKey("apps.id", ondelete="SET NULL"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
