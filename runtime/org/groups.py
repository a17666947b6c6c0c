"""User groups (e.g. an agent team, usable as assignees) and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.org.errors import invalid
from runtime.org.models import Group, GroupMember
from runtime.org.user_sets import UserSet, apply_edits, check_row_version

members = UserSet(GroupMember, GroupMember.group_id, "group")
_EDITABLE = ("key", "name", "description")


def out(group: Group, member_count: int) -> dict[str, Any]:
    fields = ("id", "key", "name", "description", "created_at", "updated_at", "row_version")
    return {**{c: getattr(group, c) for c in fields}, "member_count": member_count}


async def get_group(db: AsyncSession, group_id: int) -> Group:
    group = await db.get(Group, group_id)
    if group is None:
        raise ProblemError("not_found", detail=f"group {group_id}")
    return group


async def _check_key(db: AsyncSession, key: str, exclude: int | None) -> None:
    query = select(Group.id).where(Group.key == key)
    if exclude is not None:
        query = query.where(Group.id != exclude)
    if (await db.execute(query)).first():
        raise invalid("key", "already_exists", "key_taken")


async def list_groups(
    db: AsyncSession, *, q: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    counts = members.counts()
    query = select(Group, func.coalesce(counts.c.member_count, 0)).outerjoin(
        counts, counts.c.owner_id == Group.id
    )
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(Group.key).like(like) | func.lower(Group.name).like(like))
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await db.execute(query.order_by(Group.id).limit(limit).offset(offset))
    return [out(group, count) for group, count in rows], total


async def create_group(
    db: AsyncSession, actor: Principal, *, key: str, name: str, description: str
) -> Group:
    await _check_key(db, key, None)
    group = Group(key=key, name=name, description=description)
    db.add(group)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent insert won the race
        await db.rollback()
        raise ProblemError("already_exists", params={"what": key}) from exc
    audit.record(db, actor, "group.create", "group", group.id, {"key": key, "name": name})
    return group


async def update_group(
    db: AsyncSession, actor: Principal, group_id: int, row_version: int, changes: dict[str, Any]
) -> Group:
    group = await get_group(db, group_id)
    check_row_version(group, row_version)
    if changes.get("key") not in (None, group.key):
        await _check_key(db, changes["key"], group.id)
    apply_edits(db, actor, group, _EDITABLE, changes, "group")
    return group


async def delete_group(
    db: AsyncSession, actor: Principal, group_id: int, row_version: int | None
) -> None:
    """Delete a group; its memberships go with it."""
    group = await get_group(db, group_id)
    check_row_version(group, row_version)
    changes = {"key": group.key, "members": await members.count(db, group.id)}
    audit.record(db, actor, "group.delete", "group", group.id, changes)
    await db.delete(group)
