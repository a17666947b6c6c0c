"""Which template (and version) an app was installed from, the template's content at that
version (the base of three-way merges on upgrade), and an upgrade waiting for decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow


class TemplateInstall(Base):
    __tablename__ = "template_installs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), unique=True, index=True
    )
    template_key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    #: ``{"manifest": …, "definition": …}`` of the installed version (template form ids).
    base: Mapped[dict[str, Any]] = mapped_column(JsonType)
    #: Template form id (as a string) → this installation's form id.
    form_ids: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: An upgrade planned but not applied: ``{"version", "content", "form_ids", "merged",
    #: "conflicts": [{part, element, paths, base, local, theirs, choice}]}``.
    pending: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    installed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
    upgraded_at: Mapped[datetime | None]
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}


class DemoAccount(Base):
    """A demo user the sign-in page offers while the demo app it came with exists: the role
    it stands for (its key and labels), the username and the demo password (demo data, shown
    to everyone on purpose)."""

    __tablename__ = "demo_accounts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role_key: Mapped[str] = mapped_column(String(64))
    #: The role's name by locale (``{"zh-CN": "客服", "en": "Agent"}``).
    role_label: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    password: Mapped[str] = mapped_column(String(1024))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DefaultInstall(Base):
    """The bundled template the first run installed (``tangram init``), kept so that it is
    installed once only — also after an administrator deleted the app."""

    __tablename__ = "default_installs"

    template_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id", ondelete="SET NULL"))
    demo: Mapped[bool] = mapped_column(default=True)
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
