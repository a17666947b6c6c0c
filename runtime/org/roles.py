"""Roles, global (``app_id`` NULL) or of one app, and their members (administrators only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.org.errors import invalid
from runtime.org.models import Role, RoleMember
from runtime.org.user_sets import UserSet, apply_edits, check_row_version

members = UserSet(RoleMember, RoleMember.role_id, "role")
_EDITABLE = ("key", "name", "description")


def out(role: Role, member_count: int) -> dict[str, Any]:
    return {
        **{c: getattr(role, c) for c in ("id", "key", "name", "description", "app_id")},
        **{c: getattr(role, c) for c in ("created_at", "updated_at", "row_version")},
        "member_count": member_count,
    }


async def get_role(db: AsyncSession, role_id: int) -> Role:
    role = await db.get(Role, role_id)
    if role is None:
        raise ProblemError("not_found", detail=f"role {role_id}")
    return role


async def _check_key(db: AsyncSession, key: str, app_id: int | None, exclude: int | None) -> None:
    query = select(Role.id).where(Role.key == key)
    query = query.where(Role.app_id.is_(None) if app_id is None else Role.app_id == app_id)
    if exclude is not None:
        query = query.where(Role.id != exclude)
    if (await db.execute(query)).first():
        raise invalid("key", "already_exists", "key_taken")


async def list_roles(
    db: AsyncSession,
    *,
    app_id: int | None,
    scope: str,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Roles with member counts; ``scope`` is all, global or app (``app_id`` narrows to one)."""
    counts = members.counts()
    query = select(Role, func.coalesce(counts.c.member_count, 0)).outerjoin(
        counts, counts.c.owner_id == Role.id
    )
    if app_id is not None:
        query = query.where(Role.app_id == app_id)
    if scope == "global":
        query = query.where(Role.app_id.is_(None))
    elif scope == "app":
        query = query.where(Role.app_id.is_not(None))
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(Role.key).like(like) | func.lower(Role.name).like(like))
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await db.execute(query.order_by(Role.id).limit(limit).offset(offset))
    return [out(role, count) for role, count in rows], total


async def create_role(
    db: AsyncSession,
    actor: Principal,
    *,
    key: str,
    name: str,
    description: str,
    app_id: int | None,
) -> Role:
    if app_id is not None:
        app = await db.get(App, app_id)
        if app is None or app.deleted_at is not None:
            raise invalid("app_id", "unknown_app")
    await _check_key(db, key, app_id, None)
    role = Role(key=key, name=name, description=description, app_id=app_id)
    db.add(role)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent insert won the race
        await db.rollback()
        raise ProblemError("already_exists", params={"what": key}) from exc
    changes = {"key": key, "name": name, "app_id": app_id}
    audit.record(db, actor, "role.create", "role", role.id, changes)
    return role


async def update_role(
    db: AsyncSession, actor: Principal, role_id: int, row_version: int, changes: dict[str, Any]
) -> Role:
    role = await get_role(db, role_id)
    check_row_version(role, row_version)
    if changes.get("key") not in (None, role.key):
        await _check_key(db, changes["key"], role.app_id, role.id)
    apply_edits(db, actor, role, _EDITABLE, changes, "role")
    return role


async def delete_role(
    db: AsyncSession, actor: Principal, role_id: int, row_version: int | None
) -> None:
    """Delete a role; its memberships go with it."""
    role = await get_role(db, role_id)
    check_row_version(role, row_version)
    changes = {"key": role.key, "app_id": role.app_id, "members": await members.count(db, role.id)}
    audit.record(db, actor, "role.delete", "role", role.id, changes)
    await db.delete(role)
