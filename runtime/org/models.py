"""Department tree, roles, user groups and who belongs where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, cast, select, text
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, utcnow

#: Positions of a user in a department.
POSITIONS = ("member", "head", "deputy")


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
    """A user in a department; ``position`` is member, head or deputy.

    A user has at most one primary department (a partial unique index guarantees it).
    """

    __tablename__ = "department_members"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_primary: Mapped[bool] = mapped_column(default=False)
    position: Mapped[str] = mapped_column(String(16), default="member")

    __table_args__ = (
        UniqueConstraint("department_id", "user_id"),
        Index(
            "uq_department_members_primary_user_id",
            "user_id",
            unique=True,
            sqlite_where=text("is_primary"),
            postgresql_where=text("is_primary"),
        ),
    )


class Role(Base):
    """A role, global (``app_id`` NULL) or belonging to one app; keys are unique per scope."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    app_id: Mapped[int | None] = mapped_column(
        ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        UniqueConstraint("app_id", "key"),
        # (app_id, key) does not cover global roles: NULLs are distinct in unique constraints.
        Index(
            "uq_roles_global_key",
            "key",
            unique=True,
            sqlite_where=text("app_id IS NULL"),
            postgresql_where=text("app_id IS NULL"),
        ),
    )
    __mapper_args__ = {"version_id_col": row_version}


class RoleMember(Base):
    __tablename__ = "role_members"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    __table_args__ = (UniqueConstraint("role_id", "user_id"),)


class Group(Base):
    """A user group (e.g. an agent team), usable as an assignee."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}


class GroupMember(Base):
    __tablename__ = "group_members"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("group_id", "user_id"),)


class OrgVersion(Base):
    """One row (``id`` 1): a counter that every committed write to the organisation raises.

    Database triggers on the departments, roles and groups tables and their members (migration
        0010) raise it in the writing transaction (on PostgreSQL at commit, once per transaction),
        so no write path — API, import, CLI, plain SQL — can miss it. Requests read it with their
        token or session and keep a user's membership cached while it holds
        (:mod:`runtime.permissions`). ``epoch`` is drawn anew when the row is created, so a counter
        that starts over (a restored or emptied database) never matches a cached one."""

    __tablename__ = "org_version"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(IdType, default=0)
    epoch: Mapped[str] = mapped_column(String(32))
    #: PostgreSQL: the transaction that raised it last (so that it rises once per transaction).
    xact: Mapped[str | None] = mapped_column(String(32))


def org_stamp_column() -> Any:
    """The organisation's version as one string (``epoch:version``), as a labelled scalar
    subquery to read along with another statement (a token, a session, a flow instance), so
    that caches keyed by it cost no query of their own; NULL when the row is missing."""
    table = OrgVersion.__table__
    return (
        select(table.c.epoch + ":" + cast(table.c.version, String))
        .where(table.c.id == 1)
        .scalar_subquery()
        .label("org_stamp")
    )
