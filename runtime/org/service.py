"""Departments and their members (administrators only), with an audit entry for every change.

The tree is stored twice: ``parent_id`` and a materialised ``path`` of ids (``/1/4/9/``, the
department's own id last). Creating and moving departments take the tree lock (a transaction
advisory lock on PostgreSQL; SQLite writers are serialised anyway), so paths computed from a
parent are never stale and two concurrent moves cannot build a cycle. A move rewrites the
paths of the whole subtree in one UPDATE statement.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import String, case, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from runtime.audit import service as audit
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.org.errors import field_error, invalid
from runtime.org.models import Department, DepartmentMember

#: Deepest level of the tree (a top department is level 1); paths stay far below 1,000 chars.
MAX_DEPTH = 30
#: Key of the PostgreSQL advisory lock that serialises changes to the tree's shape.
_TREE_LOCK = 0x7461_6E67_6465_7074  # "tangdept"
_EDITABLE = ("code", "name", "parent_id", "sort_order")
_POSITION_ORDER = case(
    (DepartmentMember.position == "head", 0), (DepartmentMember.position == "deputy", 1), else_=2
)


@asynccontextmanager
async def committing(db: AsyncSession) -> AsyncIterator[None]:
    """Commit the block's changes; a lost race (stale version, unique clash) is a 409."""
    try:
        yield
        await db.commit()
    except (StaleDataError, IntegrityError) as exc:
        await db.rollback()
        raise ProblemError("conflict") from exc


async def lock_tree(db: AsyncSession) -> None:
    """Serialise changes to the tree's shape until the transaction ends."""
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(select(func.pg_advisory_xact_lock(_TREE_LOCK)))


def depth(path: str) -> int:
    return path.count("/") - 1


# --- reading -----------------------------------------------------------------------------------


async def get_department(db: AsyncSession, department_id: int, *, lock: bool = False) -> Department:
    department = await db.get(
        Department, department_id, with_for_update=lock or None, populate_existing=lock
    )
    if department is None:
        raise ProblemError("not_found", detail=f"department {department_id}")
    return department


async def get_user(db: AsyncSession, user_id: int, *, lock: bool = False) -> User:
    user = await db.get(User, user_id, with_for_update=lock or None)
    if user is None:
        raise ProblemError("not_found", detail=f"user {user_id}")
    return user


async def list_departments(
    db: AsyncSession,
    *,
    q: str | None,
    parent_id: int | None,
    top: bool,
    under: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Department], int]:
    query = select(Department)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(func.lower(Department.code).like(like), func.lower(Department.name).like(like))
        )
    if parent_id is not None:
        query = query.where(Department.parent_id == parent_id)
    if top:
        query = query.where(Department.parent_id.is_(None))
    if under is not None:
        root = await get_department(db, under)
        query = query.where(Department.path.like(root.path + "%"))
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await db.execute(query.order_by(Department.id).limit(limit).offset(offset))
    return list(rows.scalars()), total


async def _leaders(db: AsyncSession, department_ids: list[int] | None) -> dict[int, dict[str, Any]]:
    """Heads and deputies by department id: ``{id: {"heads": [...], "deputies": [...]}}``."""
    query = (
        select(DepartmentMember.department_id, DepartmentMember.position, User)
        .join(User, User.id == DepartmentMember.user_id)
        .where(DepartmentMember.position != "member")
        .order_by(User.username)
    )
    if department_ids is not None:
        query = query.where(DepartmentMember.department_id.in_(department_ids))
    leaders: dict[int, dict[str, Any]] = {}
    for department_id, position, user in await db.execute(query):
        entry = leaders.setdefault(department_id, {"heads": [], "deputies": []})
        entry["heads" if position == "head" else "deputies"].append(user)
    return leaders


async def detail(db: AsyncSession, department: Department) -> dict[str, Any]:
    """The department with member and child counts, heads and deputies."""
    members = select(func.count()).where(DepartmentMember.department_id == department.id)
    children = select(func.count()).where(Department.parent_id == department.id)
    member_count, child_count = (
        await db.execute(select(members.scalar_subquery(), children.scalar_subquery()))
    ).one()
    leaders = (await _leaders(db, [department.id])).get(department.id, {})
    return {
        **{c: getattr(department, c) for c in _OUT_FIELDS},
        "member_count": member_count,
        "child_count": child_count,
        "heads": leaders.get("heads", []),
        "deputies": leaders.get("deputies", []),
    }


_OUT_FIELDS = (
    "id",
    "code",
    "name",
    "parent_id",
    "path",
    "sort_order",
    "created_at",
    "updated_at",
    "row_version",
)


async def tree(db: AsyncSession, root_id: int | None = None) -> list[dict[str, Any]]:
    """The tree (or the subtree of ``root_id``) as nested nodes, siblings in display order."""
    query = select(Department)
    if root_id is not None:
        root = await get_department(db, root_id)
        query = query.where(Department.path.like(root.path + "%"))
    departments = list((await db.execute(query)).scalars())
    counts_query = select(DepartmentMember.department_id, func.count()).group_by(
        DepartmentMember.department_id
    )
    counts = {row[0]: row[1] for row in await db.execute(counts_query)}
    leaders = await _leaders(db, None if root_id is None else [d.id for d in departments])
    nodes = {
        d.id: {
            "id": d.id,
            "code": d.code,
            "name": d.name,
            "parent_id": d.parent_id,
            "path": d.path,
            "sort_order": d.sort_order,
            "member_count": counts.get(d.id, 0),
            "heads": leaders.get(d.id, {}).get("heads", []),
            "deputies": leaders.get(d.id, {}).get("deputies", []),
            "children": [],
        }
        for d in departments
    }
    roots: list[dict[str, Any]] = []
    for department in sorted(departments, key=lambda d: (d.sort_order, d.name, d.id)):
        node = nodes[department.id]
        parent = nodes.get(department.parent_id) if department.parent_id else None
        (parent["children"] if parent is not None else roots).append(node)
    return roots


# --- writing -----------------------------------------------------------------------------------


async def _check_code(db: AsyncSession, code: str, exclude_id: int | None = None) -> None:
    query = select(Department.id).where(Department.code == code)
    if exclude_id is not None:
        query = query.where(Department.id != exclude_id)
    if (await db.execute(query)).first():
        raise invalid("code", "already_exists", "code_taken")


async def _parent(db: AsyncSession, parent_id: int | None) -> Department | None:
    if parent_id is None:
        return None
    parent = await db.get(Department, parent_id, populate_existing=True)
    if parent is None:
        raise invalid("parent_id", "unknown_department")
    return parent


async def create_department(
    db: AsyncSession,
    actor: Principal | None,
    *,
    code: str,
    name: str,
    parent_id: int | None = None,
    sort_order: int = 0,
) -> Department:
    """Add a department under ``parent_id`` (or at the top)."""
    await lock_tree(db)
    await _check_code(db, code)
    parent = await _parent(db, parent_id)
    if parent is not None and depth(parent.path) >= MAX_DEPTH:
        raise invalid("parent_id", "too_deep")
    department = Department(code=code, name=name, parent_id=parent_id, sort_order=sort_order)
    db.add(department)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent insert won the race
        await db.rollback()
        raise ProblemError("already_exists", params={"what": code}) from exc
    path = (parent.path if parent else "/") + f"{department.id}/"
    # The path needs the new id; a plain UPDATE keeps the row at version 1.
    await db.execute(
        update(Department)
        .where(Department.id == department.id)
        .values(path=path)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(department, "path", path)
    audit.record(
        db,
        actor,
        "department.create",
        "department",
        department.id,
        {"code": code, "name": name, "parent_id": parent_id, "sort_order": sort_order},
    )
    return department


async def move(db: AsyncSession, department: Department, parent: Department | None) -> None:
    """Put ``department`` under ``parent``; the subtree's paths change in one statement.

    The caller holds the tree lock. Under itself or a descendant is ``department_cycle``.
    """
    old = department.path
    if parent is not None and parent.path.startswith(old):
        raise ProblemError(
            "department_cycle",
            errors=[field_error("parent_id", "department_cycle")],
            extra={"department_id": department.id, "parent_id": parent.id},
        )
    new = (parent.path if parent else "/") + f"{department.id}/"
    if new == old:
        department.parent_id = parent.id if parent else None
        return
    slashes = func.length(Department.path) - func.length(func.replace(Department.path, "/", ""))
    deepest = (
        await db.execute(select(func.max(slashes)).where(Department.path.like(old + "%")))
    ).scalar_one()
    if deepest - 1 - depth(old) + depth(new) > MAX_DEPTH:
        raise invalid("parent_id", "too_deep")
    await db.execute(
        update(Department)
        .where(Department.path.like(old + "%"), Department.id != department.id)
        .values(
            path=literal(new, String).concat(func.substr(Department.path, len(old) + 1)),
            row_version=Department.row_version + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    department.parent_id = parent.id if parent else None
    department.path = new


async def update_department(
    db: AsyncSession,
    actor: Principal,
    department_id: int,
    row_version: int,
    changes: dict[str, Any],
) -> Department:
    """Rename, re-code, re-order or move (``parent_id``) a department."""
    if "parent_id" in changes:
        await lock_tree(db)
    department = await get_department(db, department_id, lock=True)
    if department.row_version != row_version:
        raise ProblemError("conflict", extra={"current_row_version": department.row_version})
    if changes.get("code") not in (None, department.code):
        await _check_code(db, changes["code"], exclude_id=department.id)
    before = {k: getattr(department, k) for k in _EDITABLE}
    if "parent_id" in changes and changes["parent_id"] != department.parent_id:
        await move(db, department, await _parent(db, changes["parent_id"]))
    for key in ("code", "name", "sort_order"):
        if changes.get(key) is not None:
            setattr(department, key, changes[key])
    after = {k: getattr(department, k) for k in _EDITABLE}
    if after != before:
        action = "department.move" if after["parent_id"] != before["parent_id"] else None
        audit.record(
            db,
            actor,
            action or "department.update",
            "department",
            department.id,
            audit.diff(before, after),
        )
    return department


async def delete_department(
    db: AsyncSession, actor: Principal, department_id: int, row_version: int | None
) -> None:
    """Delete an empty department: one with sub-departments or members is a 409."""
    await lock_tree(db)
    department = await get_department(db, department_id, lock=True)
    if row_version is not None and department.row_version != row_version:
        raise ProblemError("conflict", extra={"current_row_version": department.row_version})
    children = select(func.count()).where(Department.parent_id == department.id)
    members = select(func.count()).where(DepartmentMember.department_id == department.id)
    child_count, member_count = (
        await db.execute(select(children.scalar_subquery(), members.scalar_subquery()))
    ).one()
    if child_count or member_count:
        raise ProblemError(
            "department_not_empty", extra={"children": child_count, "members": member_count}
        )
    audit.record(
        db,
        actor,
        "department.delete",
        "department",
        department.id,
        {"code": department.code, "name": department.name, "parent_id": department.parent_id},
    )
    await db.delete(department)


# --- members -----------------------------------------------------------------------------------


async def set_member(
    db: AsyncSession,
    actor: Principal | None,
    department_id: int,
    user_id: int,
    *,
    position: str,
    is_primary: bool | None,
) -> tuple[DepartmentMember, User]:
    """Add a user to a department or change their position and primary flag.

    ``is_primary=True`` unsets the user's other primary department in the same transaction;
    ``None`` keeps an existing membership's flag and makes a new one primary when the user has
    no primary department. The department and user rows are locked so concurrent changes to
    one user's memberships happen one after the other.
    """
    await get_department(db, department_id, lock=True)
    user = await get_user(db, user_id, lock=True)
    member = (
        await db.execute(
            select(DepartmentMember).where(
                DepartmentMember.department_id == department_id,
                DepartmentMember.user_id == user_id,
            )
        )
    ).scalar_one_or_none()
    primary_of = (
        await db.execute(
            select(DepartmentMember.department_id).where(
                DepartmentMember.user_id == user_id, DepartmentMember.is_primary
            )
        )
    ).scalar_one_or_none()
    if is_primary is None:
        is_primary = member.is_primary if member else primary_of is None
    before = {"position": member.position, "is_primary": member.is_primary} if member else {}
    changes: dict[str, Any] = {"user_id": user_id}
    if is_primary and primary_of not in (None, department_id):
        await db.execute(
            update(DepartmentMember)
            .where(DepartmentMember.user_id == user_id, DepartmentMember.is_primary)
            .values(is_primary=False)
            .execution_options(synchronize_session=False)
        )
        changes["primary_unset_department_id"] = primary_of
    if member is None:
        member = DepartmentMember(
            department_id=department_id, user_id=user_id, position=position, is_primary=is_primary
        )
        db.add(member)
    else:
        member.position = position
        member.is_primary = is_primary
    await db.flush()
    after = {"position": position, "is_primary": is_primary}
    if after != before:
        changes.update(audit.diff(before, after))
        action = "department.member.update" if before else "department.member.add"
        audit.record(db, actor, action, "department", department_id, changes)
    return member, user


async def remove_member(
    db: AsyncSession, actor: Principal, department_id: int, user_id: int
) -> None:
    member = (
        await db.execute(
            select(DepartmentMember).where(
                DepartmentMember.department_id == department_id,
                DepartmentMember.user_id == user_id,
            )
        )
    ).scalar_one_or_none()
    if member is None:
        await get_department(db, department_id)
        raise ProblemError("not_found", detail=f"user {user_id} is not a member")
    audit.record(
        db,
        actor,
        "department.member.remove",
        "department",
        department_id,
        {"user_id": user_id, "position": member.position, "is_primary": member.is_primary},
    )
    await db.delete(member)


async def list_members(
    db: AsyncSession,
    department_id: int,
    *,
    position: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[DepartmentMember, User]], int]:
    """Members, heads first, then deputies, then members, each by username."""
    await get_department(db, department_id)
    query = (
        select(DepartmentMember, User)
        .join(User, User.id == DepartmentMember.user_id)
        .where(DepartmentMember.department_id == department_id)
    )
    if position is not None:
        query = query.where(DepartmentMember.position == position)
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await db.execute(
        query.order_by(_POSITION_ORDER, User.username).limit(limit).offset(offset)
    )
    return [(member, user) for member, user in rows], total


async def user_departments(
    db: AsyncSession, user_id: int
) -> list[tuple[DepartmentMember, Department]]:
    """A user's memberships, the primary department first."""
    await get_user(db, user_id)
    rows = await db.execute(
        select(DepartmentMember, Department)
        .join(Department, Department.id == DepartmentMember.department_id)
        .where(DepartmentMember.user_id == user_id)
        .order_by(DepartmentMember.is_primary.desc(), Department.path)
    )
    return [(member, department) for member, department in rows]
