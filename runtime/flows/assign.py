"""Resolve a user task's assignee against the organisation: users, roles, groups,
departments, department heads, record fields, JsonLogic rules, the starter.

A plain task goes to one user, or to pools (a role, group or department) whose members claim
it. A countersign needs people: pools are expanded to their members, each one a signer. When
nothing resolves, the node's fallback, then the flow's, then the administrators take it, so
a task never vanishes.

What a user, role, group or department assignee names depends only on the organisation, so
it is cached per process under the organisation version read with the instance
(``Run.org_stamp``): every committed write to users, departments, roles, groups and their
members raises that version (database triggers), so an answer cached at the version a
transition read is the answer the database would give it.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.flow.memory import ADMINS, assignee_chain, merge, signer_assignees
from engines.flow.model import Assignee, UserTask
from engines.flow.state import Resolution
from engines.logic import evaluate
from runtime import direct
from runtime.auth.models import User
from runtime.flows.store import Run
from runtime.org.models import Department, DepartmentMember, Group, GroupMember, Role, RoleMember


async def resolve(
    db: AsyncSession, run: Run, node: UserTask, context: dict[str, Any]
) -> Resolution:
    """Who works ``node`` now: the first assignee of the chain that resolves to someone (a
    countersign's: everyone its assignees resolve to, then the fallbacks)."""
    countersign = node.countersign
    expand = countersign is not None and countersign.pools == "members"
    chain = assignee_chain(run.inst.flow, node)
    if countersign is not None and countersign.also:
        merged = Resolution()
        for assignee in signer_assignees(node):
            merge(merged, await _one(db, run, assignee, context, expand))
        if merged:
            return merged
        chain = chain[1:]
    for assignee in chain:
        resolution = await _one(db, run, assignee, context, expand)
        if resolution:
            return resolution
    return ADMINS


async def users_of(
    db: AsyncSession, run: Run, assignee: Assignee, context: dict[str, Any]
) -> list[int]:
    """The people an assignee names (CC lists): pools expanded to their members."""
    return (await _one(db, run, assignee, context, expand=True)).users


#: Resolutions kept per process (least recently used dropped first).
CACHE_SIZE = 4096
#: Assignee kinds whose answer depends on the organisation only (not the record or context).
_ORG_ONLY = frozenset(("user", "role", "group", "department"))
_cache: OrderedDict[tuple[Any, ...], Resolution] = OrderedDict()
_lock = Lock()


def clear_cache() -> None:
    """Forget every cached resolution (tests that rebuild the database call it)."""
    with _lock:
        _cache.clear()


def _copy(resolution: Resolution) -> Resolution:
    return Resolution(users=list(resolution.users), pools=[list(p) for p in resolution.pools])


async def _one(
    db: AsyncSession, run: Run, a: Assignee, context: dict[str, Any], expand: bool
) -> Resolution:
    if a.kind not in _ORG_ONLY or run.org_stamp is None:
        return await _resolve(db, run, a, context, expand)
    key = (run.org_stamp, run.app_id, a.kind, a.key, a.include_children, expand)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return _copy(found)
    resolution = await _resolve(db, run, a, context, expand)
    with _lock:
        _cache[key] = _copy(resolution)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return resolution


async def _resolve(
    db: AsyncSession, run: Run, a: Assignee, context: dict[str, Any], expand: bool
) -> Resolution:
    kind = a.kind
    if kind == "starter":
        starter = run.inst.started_by
        return Resolution(users=[starter] if starter else [])
    if kind == "user":
        return Resolution(users=await _active_ids(db, usernames=[a.key or ""]))
    if kind == "field":
        record = context.get("record") or {}
        return Resolution(users=await _active_ids(db, ids=_ids(record.get(a.key or ""))))
    if kind == "rule":
        value = evaluate(a.rule, context)
        names = [v for v in _flat(value) if isinstance(v, str)]
        ids = [v for v in _flat(value) if isinstance(v, int) and not isinstance(v, bool)]
        found = await _active_ids(db, usernames=names) if names else []
        found += await _active_ids(db, ids=ids) if ids else []
        return Resolution(users=list(dict.fromkeys(found)))
    if kind == "department_head":
        return Resolution(users=await _heads(db, a, context))
    if kind == "role":
        role_id = await _role_id(db, run.app_id, a.key or "")
        return await _pool(db, "role", role_id, RoleMember.user_id, RoleMember.role_id, expand)
    if kind == "group":
        group_id = (
            await db.execute(select(Group.id).where(Group.key == a.key))
        ).scalar_one_or_none()
        return await _pool(db, "group", group_id, GroupMember.user_id, GroupMember.group_id, expand)
    if kind == "department":
        dept = (
            await db.execute(select(Department.id, Department.path).where(Department.code == a.key))
        ).one_or_none()
        if dept is None:
            return Resolution()
        if a.include_children:
            ids = select(Department.id).where(Department.path.startswith(dept.path))
            where = DepartmentMember.department_id.in_(ids)
        else:
            where = DepartmentMember.department_id == dept.id
        if expand:
            return Resolution(users=await _members(db, DepartmentMember.user_id, where))
        if not await _any_member(db, DepartmentMember.user_id, where):
            return Resolution()
        return Resolution(
            pools=[["department_tree" if a.include_children else "department", dept.id]]
        )
    return Resolution()


async def _pool(
    db: AsyncSession, kind: str, ref: int | None, user_column: Any, ref_column: Any, expand: bool
) -> Resolution:
    """A role or group: its members (a countersign's signers), or the pool they claim from
    (nobody when it has no active member)."""
    if ref is None:
        return Resolution()
    if expand:
        return Resolution(users=await _members(db, user_column, ref_column == ref))
    if await _any_member(db, user_column, ref_column == ref):
        return Resolution(pools=[[kind, ref]])
    return Resolution()


def _flat(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [v for item in value for v in _flat(item)]
    return [] if value is None else [value]


def _ids(value: Any) -> list[int]:
    return [v for v in _flat(value) if isinstance(v, int) and not isinstance(v, bool)]


#: The usual case, one username (built once: an IN list is rebuilt on every call).
_U = User.__table__
_ONE_USER = select(_U.c.id).where(_U.c.username == bindparam("b_name"), _U.c.is_active.is_(True))


async def _active_ids(
    db: AsyncSession, *, usernames: list[str] | None = None, ids: list[int] | None = None
) -> list[int]:
    if not usernames and not ids:
        return []
    if usernames and len(usernames) == 1:
        found = await direct.scalar(db, _ONE_USER, {"b_name": usernames[0]})
        return [found] if found is not None else []
    column = User.username if usernames else User.id
    wanted: list[Any] = list(usernames or ids or [])
    rows = await db.execute(
        select(User.id, column).where(column.in_(wanted), User.is_active.is_(True))
    )
    by_key = {key: user_id for user_id, key in rows.all()}
    return [by_key[k] for k in wanted if k in by_key]


async def _members(db: AsyncSession, column: Any, where: Any) -> list[int]:
    rows = await db.execute(
        select(column)
        .join(User, User.id == column)
        .where(where, User.is_active.is_(True))
        .order_by(column)
        .distinct()
    )
    return list(rows.scalars())


async def _any_member(db: AsyncSession, column: Any, where: Any) -> bool:
    row = await db.execute(
        select(column).join(User, User.id == column).where(where, User.is_active.is_(True)).limit(1)
    )
    return row.first() is not None


async def _role_id(db: AsyncSession, app_id: int, key: str) -> int | None:
    """The app's role ``key`` if it has one, else the global role."""
    rows = await db.execute(
        select(Role.id, Role.app_id).where(
            Role.key == key, or_(Role.app_id == app_id, Role.app_id.is_(None))
        )
    )
    found = {app: role_id for role_id, app in rows.all()}
    return found.get(app_id, found.get(None))


async def _heads(db: AsyncSession, a: Assignee, context: dict[str, Any]) -> list[int]:
    record = context.get("record") or {}
    department_id = record.get(a.key) if a.key else record.get("department_id")
    if department_id is None and not a.key:
        # No record (or it has no department): the starter's primary department.
        starter = context.get("starter")
        if starter:
            department_id = (
                await db.execute(
                    select(DepartmentMember.department_id).where(
                        DepartmentMember.user_id == starter, DepartmentMember.is_primary.is_(True)
                    )
                )
            ).scalar_one_or_none()
    if not isinstance(department_id, int):
        return []
    for _ in range(a.up):
        parent = (
            await db.execute(select(Department.parent_id).where(Department.id == department_id))
        ).scalar_one_or_none()
        if parent is None:
            return []
        department_id = parent
    return await _members(
        db,
        DepartmentMember.user_id,
        (DepartmentMember.department_id == department_id) & (DepartmentMember.position == "head"),
    )
