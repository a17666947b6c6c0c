"""Publishing permission sets, flows and dashboards: every grantee, assignee and dashboard
viewer must exist, and the app's roles become rows.

The static checks (forms, fields, rules) are in :mod:`builder.apps.permissions`; these need
the database: roles (the app's own or global), user groups, departments and users.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition
from builder.apps.permissions import grantee_keys
from engines.flow.check import assignee_keys
from engines.flow.model import Assignee, Flow, UserTask
from engines.form.check import SchemaProblem
from runtime.auth.models import User
from runtime.org.models import Department, Group, Role

_LOOKUPS = {
    "group": (Group.key, "unknown_group"),
    "department": (Department.code, "unknown_department"),
    "user": (User.username, "unknown_user"),
}


async def grantee_problems(
    db: AsyncSession,
    app_id: int,
    definition: AppDefinition,
    provided: dict[str, set[str]] | None = None,
) -> list[SchemaProblem]:
    """Grants, flow assignees and dashboards' ``visible_to`` naming a role, group, department
    or user that does not exist (one query per kind). App roles count when the definition
    declares them; ``provided`` keys by kind count too (a template's org, created when it is
    installed)."""
    wanted: dict[str, set[str]] = {}
    for named in (
        grantee_keys(definition.permissions),
        assignee_keys(definition.flows),
        _viewer_keys(definition),
    ):
        for kind, keys in named.items():
            wanted.setdefault(kind, set()).update(keys)
    found = await _existing(db, app_id, definition, wanted)
    for kind, keys in (provided or {}).items():
        found[kind] = found.get(kind, set()) | set(keys)
    problems = []
    for index, grant in enumerate(definition.permissions):
        key, kind = grant.grantee.key, grant.grantee.kind
        if key is not None and key not in found.get(kind, set()):
            problems.append(
                SchemaProblem(
                    f"permissions[{index}].grantee.key", _code(kind), f"no {kind} {key!r}"
                )
            )
    for flow in definition.flows:
        for where, assignee in flow_assignees(flow):
            if assignee.kind in wanted and assignee.key not in found.get(assignee.kind, set()):
                problems.append(
                    SchemaProblem(
                        f"flows[{flow.key}].{where}.key",
                        _code(assignee.kind),
                        f"no {assignee.kind} {assignee.key!r}",
                    )
                )
    for board in definition.dashboards:
        for index, grantee in enumerate(board.visible_to):
            if grantee.key not in found.get(grantee.kind, set()):
                problems.append(
                    SchemaProblem(
                        f"dashboards[{board.key}].visible_to[{index}].key",
                        _code(grantee.kind),
                        f"dashboard {board.key!r}: no {grantee.kind} {grantee.key!r}",
                    )
                )
    return problems


def _viewer_keys(definition: AppDefinition) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {}
    for board in definition.dashboards:
        for grantee in board.visible_to:
            wanted.setdefault(grantee.kind, set()).add(grantee.key)
    return wanted


def flow_assignees(flow: Flow) -> Iterator[tuple[str, Assignee]]:
    """Every assignee a flow names, with its path in the flow."""
    if flow.fallback is not None:
        yield "fallback", flow.fallback
    for node in flow.nodes:
        if isinstance(node, UserTask):
            where = f"nodes[{node.id}]"
            yield f"{where}.assignee", node.assignee
            if node.fallback is not None:
                yield f"{where}.fallback", node.fallback
            for index, cc in enumerate(node.cc):
                yield f"{where}.cc[{index}]", cc


def _code(kind: str) -> str:
    return _LOOKUPS[kind][1] if kind in _LOOKUPS else "unknown_role"


async def _existing(
    db: AsyncSession, app_id: int, definition: AppDefinition, wanted: dict[str, set[str]]
) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    if wanted.get("role"):
        rows = await db.execute(
            select(Role.key).where(
                Role.key.in_(wanted["role"]), or_(Role.app_id.is_(None), Role.app_id == app_id)
            )
        )
        found["role"] = set(rows.scalars()) | {role.key for role in definition.roles}
    for kind, (column, _) in _LOOKUPS.items():
        if wanted.get(kind):
            found[kind] = set(
                (await db.execute(select(column).where(column.in_(wanted[kind])))).scalars()
            )
    return found


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
