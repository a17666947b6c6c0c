"""Publishing permission sets: every grantee must exist, and the app's roles become rows.

The static checks (forms, fields, rules) are in :mod:`builder.apps.permissions`; these need
the database: roles (the app's own or global), user groups, departments and users.
"""

from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition
from builder.apps.permissions import grantee_keys
from engines.form.check import SchemaProblem
from runtime.auth.models import User
from runtime.org.models import Department, Group, Role

_LOOKUPS = {
    "group": (Group.key, "unknown_group"),
    "department": (Department.code, "unknown_department"),
    "user": (User.username, "unknown_user"),
}


async def grantee_problems(
    db: AsyncSession, app_id: int, definition: AppDefinition
) -> list[SchemaProblem]:
    """Grants naming a role, group, department or user that does not exist (one query per
    kind). App roles count when the definition declares them."""
    wanted = grantee_keys(definition.permissions)
    found: dict[str, set[str]] = {}
    if "role" in wanted:
        rows = await db.execute(
            select(Role.key).where(
                Role.key.in_(wanted["role"]), or_(Role.app_id.is_(None), Role.app_id == app_id)
            )
        )
        found["role"] = set(rows.scalars()) | {role.key for role in definition.roles}
    for kind, (column, _) in _LOOKUPS.items():
        if kind in wanted:
            found[kind] = set(
                (await db.execute(select(column).where(column.in_(wanted[kind])))).scalars()
            )
    problems = []
    for index, grant in enumerate(definition.permissions):
        key, kind = grant.grantee.key, grant.grantee.kind
        if key is not None and key not in found.get(kind, set()):
            code = _LOOKUPS[kind][1] if kind in _LOOKUPS else "unknown_role"
            problems.append(
                SchemaProblem(f"permissions[{index}].grantee.key", code, f"no {kind} {key!r}")
            )
    return problems


async def sync_roles(db: AsyncSession, app_id: int, definition: AppDefinition) -> None:
    """Make the app's roles rows (new ones added, names updated, removed ones deleted with
    their memberships), so that members can be assigned through the roles API."""
    existing = {
        role.key: role
        for role in (await db.execute(select(Role).where(Role.app_id == app_id))).scalars()
    }
    declared = {role.key: role for role in definition.roles}
    for key, role in declared.items():
        name = role.name.get("en") or role.name.get("zh-CN") or key
        if key in existing:
            existing[key].name = name
        else:
            db.add(Role(app_id=app_id, key=key, name=name))
    gone = [role.id for key, role in existing.items() if key not in declared]
    if gone:
        await db.execute(delete(Role).where(Role.id.in_(gone)))
    await db.flush()
