"""Department tree, roles and who belongs where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, utcnow


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    #: Materialised path of ids, e.g. ``/1/4/9/``: "department and below" is one LIKE prefix.
    path: Mapped[str] = mapped_column(String(1000), index=True, default="/")
    sort_order: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}


class DepartmentMember(Base):
    """A user in a department; ``position`` is member, head or deputy."""

    __tablename__ = "department_members"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_primary: Mapped[bool] = mapped_column(default=False)
    position: Mapped[str] = mapped_column(String(16), default="member")

    __table_args__ = (UniqueConstraint("department_id", "user_id"),)


class Role(Base):
    """A role, global (``app_id`` NULL) or belonging to one app."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[int | None] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("app_id", "key"),)


class RoleMember(Base):
    __tablename__ = "role_members"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    __table_args__ = (UniqueConstraint("role_id", "user_id"),)
