"""Where a user belongs: departments, positions, roles and groups — read in two queries.

The permission engine calls :func:`memberships` on every request, so it reads only ids and
paths: one query over the user's departments, one ``UNION ALL`` over roles and groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, String, bindparam, cast, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from runtime.db import IdType
from runtime.org.models import (
    Department,
    DepartmentMember,
    Group,
    GroupMember,
    Role,
    RoleMember,
)


@dataclass(frozen=True)
class Membership:
    """One user's place in the organisation (ids only; empty for unknown users)."""

    user_id: int
    #: Department id → its materialised path (``/1/4/9/``, the department's own id last).
    department_paths: dict[int, str] = field(default_factory=dict)
    primary_department_id: int | None = None
    head_of: frozenset[int] = frozenset()
    deputy_of: frozenset[int] = frozenset()
    global_role_ids: frozenset[int] = frozenset()
    #: App id → ids of the user's roles that belong to that app.
    app_role_ids: dict[int, frozenset[int]] = field(default_factory=dict)
    group_ids: frozenset[int] = frozenset()
    #: Keys that permission grants name: roles as (app id or None, key), group keys, and the
    #: codes of the user's departments and of every department above them.
    role_keys: frozenset[tuple[int | None, str]] = frozenset()
    group_keys: frozenset[str] = frozenset()
    department_codes: frozenset[str] = frozenset()
    ancestor_codes: frozenset[str] = frozenset()
    #: Ids of the user's departments and of every department below them ("department and
    #: below" scopes compare against this list, which plans better than a subquery).
    subtree_ids: frozenset[int] = frozenset()

    @property
    def department_ids(self) -> frozenset[int]:
        return frozenset(self.department_paths)

    def position_in(self, department_id: int) -> str | None:
        """head, deputy or member; None when the user is not in that department."""
        if department_id not in self.department_paths:
            return None
        if department_id in self.head_of:
            return "head"
        return "deputy" if department_id in self.deputy_of else "member"

    def roles_in(self, app_id: int) -> frozenset[int]:
        """The roles that count inside ``app_id``: global ones and the app's own."""
        return self.global_role_ids | self.app_role_ids.get(app_id, frozenset())

    def in_or_below(self, department_path: str) -> bool:
        """Whether the user is in the department with this path or in one below it."""
        return any(p.startswith(department_path) for p in self.department_paths.values())


def _build_query() -> Any:
    """The membership query, built once (it runs on every request): ``:user_id`` bound."""
    text_null = cast(null(), String)
    id_null = cast(null(), IdType)
    mine = (
        select(DepartmentMember.department_id)
        .where(DepartmentMember.user_id == bindparam("user_id"))
        .scalar_subquery()
    )
    own = aliased(Department)
    other = aliased(Department)
    parts = [
        select(
            literal_column("'dept'").label("kind"),
            DepartmentMember.department_id.label("item_id"),
            id_null.label("app_id"),
            Department.code.label("key"),
            Department.path.label("path"),
            DepartmentMember.position.label("position"),
            DepartmentMember.is_primary.label("is_primary"),
        )
        .join(Department, Department.id == DepartmentMember.department_id)
        .where(DepartmentMember.user_id == bindparam("user_id")),
        # Departments above (or equal to) one of the user's: their path is a prefix.
        select(
            literal_column("'above'"),
            other.id,
            id_null,
            other.code,
            text_null,
            text_null,
            cast(null(), Boolean),
        )
        .join(own, own.path.startswith(other.path, autoescape=False))
        .where(own.id.in_(mine)),
        # Departments below (or equal to) one of the user's.
        select(
            literal_column("'below'"),
            other.id,
            id_null,
            text_null,
            text_null,
            text_null,
            cast(null(), Boolean),
        )
        .join(own, other.path.startswith(own.path, autoescape=False))
        .where(own.id.in_(mine)),
        select(
            literal_column("'role'"),
            Role.id,
            Role.app_id,
            Role.key,
            text_null,
            text_null,
            cast(null(), Boolean),
        )
        .join(RoleMember, RoleMember.role_id == Role.id)
        .where(RoleMember.user_id == bindparam("user_id")),
        select(
            literal_column("'group'"),
            GroupMember.group_id,
            id_null,
            Group.key,
            text_null,
            text_null,
            cast(null(), Boolean),
        )
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.user_id == bindparam("user_id")),
    ]
    return union_all(*parts)


_QUERY = _build_query()


async def memberships(db: AsyncSession, user_id: int) -> Membership:
    """Everything the permission engine needs to know about ``user_id``, in one query (a
    ``UNION ALL`` of the user's departments, the departments above and below them, roles and
    groups), since it runs on every request of a non-administrator."""
    paths: dict[int, str] = {}
    codes: set[str] = set()
    ancestors: set[str] = set()
    below: set[int] = set()
    primary = None
    heads: set[int] = set()
    deputies: set[int] = set()
    global_roles: set[int] = set()
    app_roles: dict[int, set[int]] = {}
    group_ids: set[int] = set()
    role_keys: set[tuple[int | None, str]] = set()
    group_keys: set[str] = set()
    rows = await db.execute(_QUERY, {"user_id": user_id})
    for kind, item_id, app_id, key, path, position, is_primary in rows:
        if kind == "dept":
            paths[item_id] = path
            codes.add(key)
            if is_primary:
                primary = item_id
            if position == "head":
                heads.add(item_id)
            elif position == "deputy":
                deputies.add(item_id)
        elif kind == "above":
            ancestors.add(key)
        elif kind == "below":
            below.add(item_id)
        elif kind == "group":
            group_ids.add(item_id)
            group_keys.add(key)
        else:
            role_keys.add((app_id, key))
            if app_id is None:
                global_roles.add(item_id)
            else:
                app_roles.setdefault(app_id, set()).add(item_id)
    return Membership(
        user_id=user_id,
        department_paths=paths,
        primary_department_id=primary,
        head_of=frozenset(heads),
        deputy_of=frozenset(deputies),
        global_role_ids=frozenset(global_roles),
        app_role_ids={app: frozenset(ids) for app, ids in app_roles.items()},
        group_ids=frozenset(group_ids),
        role_keys=frozenset(role_keys),
        group_keys=frozenset(group_keys),
        department_codes=frozenset(codes),
        ancestor_codes=frozenset(ancestors),
        subtree_ids=frozenset(below),
    )
