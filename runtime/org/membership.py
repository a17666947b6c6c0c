"""Where a user belongs: departments, positions, roles and groups — read in two queries.

The permission engine calls :func:`memberships` on every request, so it reads only ids and
paths: one query over the user's departments, one ``UNION ALL`` over roles and groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import cast, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

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


async def memberships(db: AsyncSession, user_id: int) -> Membership:
    """Everything the permission engine needs to know about ``user_id``, in two queries
    (three when the user's departments have departments above them)."""
    departments = await db.execute(
        select(
            DepartmentMember.department_id,
            Department.path,
            DepartmentMember.position,
            DepartmentMember.is_primary,
            Department.code,
        )
        .join(Department, Department.id == DepartmentMember.department_id)
        .where(DepartmentMember.user_id == user_id)
    )
    paths: dict[int, str] = {}
    codes: set[str] = set()
    primary = None
    heads: set[int] = set()
    deputies: set[int] = set()
    for department_id, path, position, is_primary, code in departments:
        paths[department_id] = path
        codes.add(code)
        if is_primary:
            primary = department_id
        if position == "head":
            heads.add(department_id)
        elif position == "deputy":
            deputies.add(department_id)

    roles = (
        select(literal_column("'role'").label("kind"), Role.id, Role.app_id, Role.key)
        .join(RoleMember, RoleMember.role_id == Role.id)
        .where(RoleMember.user_id == user_id)
    )
    groups = (
        select(
            literal_column("'group'").label("kind"),
            GroupMember.group_id,
            cast(null(), IdType).label("app_id"),
            Group.key,
        )
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.user_id == user_id)
    )
    global_roles: set[int] = set()
    app_roles: dict[int, set[int]] = {}
    group_ids: set[int] = set()
    role_keys: set[tuple[int | None, str]] = set()
    group_keys: set[str] = set()
    for kind, item_id, app_id, key in await db.execute(union_all(roles, groups)):
        if kind == "group":
            group_ids.add(item_id)
            group_keys.add(key)
            continue
        role_keys.add((app_id, key))
        if app_id is None:
            global_roles.add(item_id)
        else:
            app_roles.setdefault(app_id, set()).add(item_id)

    above = {int(i) for p in paths.values() for i in p.strip("/").split("/") if i} - set(paths)
    ancestors = set(codes)
    if above:
        found = await db.execute(select(Department.code).where(Department.id.in_(above)))
        ancestors.update(found.scalars())

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
    )
