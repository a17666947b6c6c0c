"""Apps and app versions; a version's ``definition`` holds forms, flows, rules, dashboards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow

DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"


class App(Base):
    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    #: Labels per locale, e.g. ``{"en": "Customer Center", "zh-CN": "客户中心"}``.
    name: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    description: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    icon: Mapped[str | None] = mapped_column(String(64))
    published_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_versions.id", ondelete="SET NULL", use_alter=True)
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None]
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}


class AppVersion(Base):
    __tablename__ = "app_versions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=DRAFT)
    #: Format version of ``definition``; upgrades are small functions ``v1_to_v2(doc)``.
    schema_version: Mapped[int] = mapped_column(default=1)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    published_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    row_version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (UniqueConstraint("app_id", "number"),)
    __mapper_args__ = {"version_id_col": row_version}


class FormRecord(Base):
    """A form's stable identity (its id names the table ``t_<id>``) and applied schema.

    ``applied`` is the form schema as it physically exists in the database now; publishing plans
    from it to the new definition, so the plan always starts from the real table.
    """

    __tablename__ = "forms"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    applied: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[datetime | None]
