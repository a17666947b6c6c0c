"""Platform tables beside the form tables: field-level history and comments per record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow


class RecordHistory(Base):
    """One write to one record: who, when, what (``{key: [old, new]}``)."""

    __tablename__ = "record_history"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(IdType)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32), default="api")
    changes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(128))

    __table_args__ = (Index("ix_record_history_record", "form_id", "record_id", "id"),)


class RecordComment(Base):
    """A comment or internal note on a record, with @mentions and attachments."""

    __tablename__ = "record_comments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(IdType)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    mentions: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    attachments: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_record_comments_record", "form_id", "record_id", "id"),)


class AutoNumberCounter(Base):
    """The last number given out per auto-number field and scope (the pattern's prefix).

    Incremented in the inserting transaction, so a rolled-back insert gives its number back:
    numbers are unique and gap-free.
    """

    __tablename__ = "auto_number_counters"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    field_id: Mapped[int]
    scope: Mapped[str] = mapped_column(String(120))
    last: Mapped[int] = mapped_column(IdType, default=0)

    __table_args__ = (UniqueConstraint("form_id", "field_id", "scope"),)


class RecordFile(Base):
    """A file a record holds: in an attachments field (``field_id``) or in a comment on it
    (``comment_id``). Kept by the records service on every write; downloads ask it who may
    read a file (whoever can read a live record that holds it)."""

    __tablename__ = "record_files"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    record_id: Mapped[int] = mapped_column(IdType)
    field_id: Mapped[int | None]
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_comments.id", ondelete="CASCADE")
    )
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"))

    __table_args__ = (
        Index("ix_record_files_file", "file_id", "form_id"),
        Index("ix_record_files_record", "form_id", "record_id", "field_id"),
    )


class FormDataVersion(Base):
    """A counter per form that every committed record write raises (see
    :mod:`runtime.records.versions`): caches of derived data (report results) are keyed by it,
    so a write in any process invalidates them in every process."""

    __tablename__ = "form_data_versions"

    form_id: Mapped[int] = mapped_column(
        ForeignKey("forms.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    version: Mapped[int] = mapped_column(IdType, default=0)


class RecordMerge(Base):
    """One record merged into another of the same form (two customers who are one person,
    two tickets about one problem), with what moved — so that it can be undone."""

    __tablename__ = "record_merges"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id", ondelete="CASCADE"))
    #: The record that stays and the one merged into it (soft-deleted).
    survivor_id: Mapped[int] = mapped_column(IdType)
    merged_id: Mapped[int] = mapped_column(IdType)
    #: ``[{"form": key, "field": key, "many": bool, "ids": [record ids]}]``: the references
    #: that pointed at the merged record and now point at the survivor.
    moved: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    #: ``{field key: value}``: the survivor's empty fields filled from the merged record.
    filled: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: What other parts of the platform moved (channel logs …), by part, for their undo.
    extra: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    merged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    undone_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_record_merges_survivor", "form_id", "survivor_id"),
        Index("ix_record_merges_merged", "form_id", "merged_id"),
    )
