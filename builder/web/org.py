"""The organisation as the designers' pickers offer it: users, groups and departments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.models import User
from runtime.org.models import Department, Group

#: Users a picker lists at most (by name); larger organisations type a username.
USER_LIMIT = 1000


async def org_choices(db: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """``{"users": [...], "groups": [...], "departments": [...]}`` for a page's JSON block."""
    users = await db.execute(
        select(User.id, User.username, User.display_name)
        .where(User.is_active.is_(True))
        .order_by(User.username)
        .limit(USER_LIMIT)
    )
    groups = await db.execute(select(Group.key, Group.name).order_by(Group.name))
    departments = await db.execute(
        select(Department.code, Department.name).order_by(Department.path, Department.name)
    )
    return {
        "users": [
            {"id": i, "key": username, "label": name or username}
            for i, username, name in users.all()
        ],
        "groups": [{"key": key, "label": name} for key, name in groups.all()],
        "departments": [{"key": code, "label": name} for code, name in departments.all()],
    }
