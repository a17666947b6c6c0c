"""Members of a role or a group: one user at most once, added and removed with audit entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from runtime.audit import service as audit
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.org.service import get_user


class UserSet:
    """The members table of one kind of owner (``role_members`` → ``roles``, …)."""

    def __init__(self, model: Any, owner: InstrumentedAttribute[int], entity: str) -> None:
        self.model = model
        self.owner = owner
        self.entity = entity

    def _row(self, owner_id: int, user_id: int) -> Any:
        return select(self.model).where(self.owner == owner_id, self.model.user_id == user_id)

    async def add(
        self, db: AsyncSession, actor: Principal, owner_id: int, user_id: int
    ) -> tuple[User, bool]:
        """Make the user a member (nothing changes if they are one); True if newly added."""
        user = await get_user(db, user_id)
        if (await db.execute(self._row(owner_id, user_id))).scalar_one_or_none():
            return user, False
        db.add(self.model(**{self.owner.key: owner_id, "user_id": user_id}))
        await db.flush()
        audit.record(
            db, actor, f"{self.entity}.member.add", self.entity, owner_id, {"user_id": user_id}
        )
        return user, True

    async def remove(self, db: AsyncSession, actor: Principal, owner_id: int, user_id: int) -> None:
        member = (await db.execute(self._row(owner_id, user_id))).scalar_one_or_none()
        if member is None:
            raise ProblemError("not_found", detail=f"user {user_id} is not a member")
        audit.record(
            db, actor, f"{self.entity}.member.remove", self.entity, owner_id, {"user_id": user_id}
        )
        await db.delete(member)

    async def users(
        self, db: AsyncSession, owner_id: int, *, limit: int, offset: int
    ) -> tuple[list[User], int]:
        query = (
            select(User)
            .join(self.model, self.model.user_id == User.id)
            .where(self.owner == owner_id)
        )
        total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
        rows = await db.execute(query.order_by(User.username).limit(limit).offset(offset))
        return list(rows.scalars()), total

    def counts(self) -> Any:
        """A subquery of ``(owner_id, member_count)`` to join on."""
        return (
            select(self.owner.label("owner_id"), func.count().label("member_count"))
            .group_by(self.owner)
            .subquery()
        )

    async def count(self, db: AsyncSession, owner_id: int) -> int:
        query = select(func.count()).select_from(self.model).where(self.owner == owner_id)
        return int((await db.execute(query)).scalar_one())


def check_row_version(row: Any, row_version: int | None) -> None:
    """409 with the current version when the caller's ``row_version`` is stale (None: no check)."""
    if row_version is not None and row.row_version != row_version:
        raise ProblemError("conflict", extra={"current_row_version": row.row_version})


def apply_edits(
    db: AsyncSession,
    actor: Principal,
    row: Any,
    editable: tuple[str, ...],
    changes: dict[str, Any],
    entity: str,
) -> None:
    """Set the given (non-null) editable fields of a role or group and audit what changed."""
    before = {k: getattr(row, k) for k in editable}
    for key in editable:
        if changes.get(key) is not None:
            setattr(row, key, changes[key])
    after = {k: getattr(row, k) for k in editable}
    if after != before:
        audit.record(db, actor, f"{entity}.update", entity, row.id, audit.diff(before, after))
