"""The organisation a template needs (``org.json``) and its demo people (``demo/users.json``).

``org.json`` lists departments (by ``code``, with an optional ``parent`` code) and user groups
(by ``key``). Installing creates the missing ones before the app is published — so that the
rules, flows and grants naming them validate — and reuses existing ones untouched (never
renamed). Export writes the departments and groups the app's definition refers to.

``demo/users.json`` (part ``seed``, installed with the demo data only) lists demo people: their
department (``head`` makes them its head), groups and the template's app roles. Existing
usernames are reused (their password untouched). Those with ``show_on_sign_in`` are listed on
the sign-in page while the demo app exists (:mod:`templates.demo`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition
from builder.apps.grantees import flow_assignees
from builder.apps.permissions import grantee_keys
from engines.form.schema import KEY_PATTERN, Labels
from runtime.auth import passwords
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.org import groups as group_service
from runtime.org import roles as role_service
from runtime.org import service as org_service
from runtime.org.models import Department, DepartmentMember, Group, Role
from runtime.org.schemas import check_code
from templates.problems import TemplateProblem, problem

ORG_FILE = "org.json"
USERS_FILE = "demo/users.json"


def _named(value: Labels) -> Labels:
    if not any(v.strip() for v in value.values()):
        raise ValueError("give a name in at least one locale")
    return value


class OrgDepartment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(min_length=1, max_length=64)
    name: Labels
    #: The code of the department above (in this file or already in the installation).
    parent: str | None = None

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return check_code(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: Labels) -> Labels:
        return _named(value)


class OrgGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=KEY_PATTERN)
    name: Labels
    description: Labels = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: Labels) -> Labels:
        return _named(value)


class Org(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    departments: list[OrgDepartment] = Field(default_factory=list)
    groups: list[OrgGroup] = Field(default_factory=list)

    def department_codes(self) -> set[str]:
        return {d.code for d in self.departments}

    def group_keys(self) -> set[str]:
        return {g.key for g in self.groups}

    def provided(self) -> dict[str, set[str]]:
        """What installing this org makes exist, as grantee kinds (for the publish checks)."""
        return {"department": self.department_codes(), "group": self.group_keys()}


class DemoUser(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    department: str | None = None
    head: bool = False
    groups: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    password: str = Field(min_length=1, max_length=1024)
    show_on_sign_in: bool = False


def check_org(org: Org, file: str = ORG_FILE) -> list[TemplateProblem]:
    """Duplicate codes and keys, and a department above itself (a cycle)."""
    found: list[TemplateProblem] = []
    seen: set[str] = set()
    for index, department in enumerate(org.departments):
        if department.code in seen:
            found.append(
                problem(
                    file,
                    f"departments[{index}].code",
                    "duplicate",
                    what="department",
                    key=department.code,
                )
            )
        seen.add(department.code)
    parents: dict[str, str | None] = {}
    for department in org.departments:
        parents.setdefault(department.code, department.parent)  # the first of a duplicate
    for index, department in enumerate(org.departments):
        walked: set[str] = set()
        code: str | None = department.code
        while code is not None and code in parents:
            if code in walked:
                found.append(
                    problem(
                        file,
                        f"departments[{index}].parent",
                        "org_cycle",
                        department=department.code,
                    )
                )
                break
            walked.add(code)
            code = parents[code]
    keys: set[str] = set()
    for index, group in enumerate(org.groups):
        if group.key in keys:
            found.append(
                problem(file, f"groups[{index}].key", "duplicate", what="group", key=group.key)
            )
        keys.add(group.key)
    return found


def check_users(
    users: list[DemoUser], org: Org | None, definition: AppDefinition, file: str = USERS_FILE
) -> list[TemplateProblem]:
    """Users named twice, roles the template does not declare; departments and groups not in
    ``org.json`` are checked against the installation when installing (:func:`missing_org`)."""
    found: list[TemplateProblem] = []
    roles = {role.key for role in definition.roles}
    seen: set[str] = set()
    for index, user in enumerate(users):
        name = user.username.strip().lower()
        if name in seen:
            found.append(
                problem(file, f"[{index}].username", "duplicate", what="user", key=user.username)
            )
        seen.add(name)
        for position, role in enumerate(user.roles):
            if role not in roles:
                found.append(
                    problem(file, f"[{index}].roles[{position}]", "unknown_role", role=role)
                )
    return found


def user_refs(users: list[DemoUser], org: Org | None) -> Iterator[tuple[str, str, str]]:
    """``(kind, key, path)`` of the departments and groups demo users name that ``org.json``
    does not define (they must exist in the installation)."""
    codes = org.department_codes() if org else set()
    keys = org.group_keys() if org else set()
    for index, user in enumerate(users):
        if user.department is not None and user.department not in codes:
            yield "department", user.department, f"[{index}].department"
        for position, group in enumerate(user.groups):
            if group not in keys:
                yield "group", group, f"[{index}].groups[{position}]"


def parent_refs(org: Org) -> Iterator[tuple[str, str, str]]:
    codes = org.department_codes()
    for index, department in enumerate(org.departments):
        if department.parent is not None and department.parent not in codes:
            yield "department", department.parent, f"departments[{index}].parent"


async def missing(db: AsyncSession, refs: list[tuple[str, str, str, str]]) -> list[TemplateProblem]:
    """``(file, kind, key, path)`` references the installation lacks, as problems."""
    wanted: dict[str, set[str]] = {}
    for _file, kind, key, _path in refs:
        wanted.setdefault(kind, set()).add(key)
    columns = {"department": Department.code, "group": Group.key, "user": User.username}
    found: dict[str, set[str]] = {}
    for kind, keys in wanted.items():
        column = columns[kind]
        found[kind] = set((await db.execute(select(column).where(column.in_(keys)))).scalars())
    codes = {"department": "unknown_department", "group": "unknown_group", "user": "unknown_user"}
    return [
        problem(file, path, codes[kind], key=key)
        for file, kind, key, path in refs
        if key not in found.get(kind, set())
    ]


def _name(labels: Labels, locales: list[str], fallback: str) -> str:
    for locale in locales:
        if labels.get(locale, "").strip():
            return labels[locale].strip()[:200]
    return next((v.strip()[:200] for v in labels.values() if v.strip()), fallback)


def name_locales(
    actor: Principal, manifest_locales: list[str], locale: str | None = None
) -> list[str]:
    """The installing administrator's language (their own, else the one they asked in),
    then the template's main one."""
    preferred = [x for x in (getattr(actor.user, "locale", None), locale) if x]
    return [*preferred, *manifest_locales]


async def install_org(
    db: AsyncSession, actor: Principal, org: Org, locales: list[str]
) -> dict[str, int]:
    """Create the departments (parents first) and groups the installation lacks, through the
    organisation services (audit entries; the org version rises with the writes). Returns
    how many of each were created."""
    codes = [d.code for d in org.departments]
    existing = (
        {
            d.code: d
            for d in (
                await db.execute(select(Department).where(Department.code.in_(codes)))
            ).scalars()
        }
        if codes
        else {}
    )
    pending = [d for d in org.departments if d.code not in existing]
    created = {"departments": 0, "groups": 0}
    while pending:
        progressed = []
        for department in pending:
            parent_id = None
            if department.parent is not None:
                parent = existing.get(department.parent)
                if parent is None:
                    parent = (
                        await db.execute(
                            select(Department).where(Department.code == department.parent)
                        )
                    ).scalar_one_or_none()
                    if parent is None:
                        continue  # created later in this loop (its parent first)
                    existing[parent.code] = parent
                parent_id = parent.id
            made = await org_service.create_department(
                db,
                actor,
                code=department.code,
                name=_name(department.name, locales, department.code),
                parent_id=parent_id,
            )
            existing[department.code] = made
            progressed.append(department)
            created["departments"] += 1
        if not progressed:  # a parent that exists nowhere (checked before installing)
            break
        pending = [d for d in pending if d not in progressed]
    keys = [g.key for g in org.groups]
    have = (
        set((await db.execute(select(Group.key).where(Group.key.in_(keys)))).scalars())
        if keys
        else set()
    )
    for group in org.groups:
        if group.key in have:
            continue
        await group_service.create_group(
            db,
            actor,
            key=group.key,
            name=_name(group.name, locales, group.key),
            description=_name(group.description, locales, "") if group.description else "",
        )
        created["groups"] += 1
    await db.flush()
    return created


async def install_users(
    db: AsyncSession, actor: Principal, app_id: int, users: list[DemoUser]
) -> tuple[dict[str, int], set[str]]:
    """Create the demo users (or reuse existing usernames) and put them into their
    department, groups and the app's roles; returns username → user id, and the usernames
    whose demo password signs in (created now, or reused with that very password)."""
    from runtime.users import service as user_service

    names = [u.username.strip().lower() for u in users]
    known = {
        user.username: user
        for user in (await db.execute(select(User).where(User.username.in_(names)))).scalars()
    }
    codes = {u.department for u in users if u.department}
    departments = (
        {
            d.code: d.id
            for d in (
                await db.execute(select(Department).where(Department.code.in_(codes)))
            ).scalars()
        }
        if codes
        else {}
    )
    keys = {g for u in users for g in u.groups}
    groups = (
        {
            g.key: g.id
            for g in (await db.execute(select(Group).where(Group.key.in_(keys)))).scalars()
        }
        if keys
        else {}
    )
    roles = {
        r.key: r.id for r in (await db.execute(select(Role).where(Role.app_id == app_id))).scalars()
    }
    ids: dict[str, int] = {}
    signs_in: set[str] = set()
    hashes: dict[str, str] = {}  # one argon2 hash per distinct demo password, off the loop
    for demo, name in zip(users, names, strict=True):
        user = known.get(name)
        # Reused (password untouched): offered on the sign-in page only if it still works.
        if (
            user is not None
            and demo.show_on_sign_in
            and await asyncio.to_thread(
                passwords.verify_password, user.password_hash, demo.password
            )
        ):
            signs_in.add(name)
        if user is None:
            signs_in.add(name)
            if demo.password not in hashes:
                hashes[demo.password] = await asyncio.to_thread(
                    passwords.hash_password, demo.password
                )
            user, _ = await user_service.create_user(
                db,
                actor,
                username=name,
                password=demo.password,
                password_hash=hashes[demo.password],
                display_name=demo.name,
                email=demo.email,
            )
        ids[name] = user.id
        if demo.department is not None:
            member = (
                await db.execute(
                    select(DepartmentMember).where(
                        DepartmentMember.department_id == departments[demo.department],
                        DepartmentMember.user_id == user.id,
                    )
                )
            ).scalar_one_or_none()
            wanted = "head" if demo.head else (member.position if member else "member")
            if member is None or member.position != wanted:
                await org_service.set_member(
                    db,
                    actor,
                    departments[demo.department],
                    user.id,
                    position=wanted,
                    is_primary=None,
                )
        for key in demo.groups:
            await group_service.members.add(db, actor, groups[key], user.id)
        for key in demo.roles:
            await role_service.members.add(db, actor, roles[key], user.id)
    await db.flush()
    return ids, signs_in


# --- export ----------------------------------------------------------------------------------


def _rule_groups(document: Any) -> Iterator[str]:
    """Group keys a rule names (``assign.group.group``, ``notify.group``, keyword routes)."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "group" and isinstance(value, str):
                yield value
            else:
                yield from _rule_groups(value)
    elif isinstance(document, list):
        for item in document:
            yield from _rule_groups(item)


def referred(definition: AppDefinition) -> dict[str, set[str]]:
    """The group keys and department codes the definition names: grants, flow assignees,
    dashboard viewers and rules."""
    wanted: dict[str, set[str]] = {"group": set(), "department": set()}
    for kind, keys in grantee_keys(definition.permissions).items():
        if kind in wanted:
            wanted[kind] |= set(keys)
    for flow in definition.flows:
        for _where, assignee in flow_assignees(flow):
            if assignee.kind in wanted and assignee.key:
                wanted[assignee.kind].add(assignee.key)
    for board in definition.dashboards:
        for grantee in board.visible_to:
            if grantee.kind in wanted:
                wanted[grantee.kind].add(grantee.key)
    for rule in definition.rules:
        wanted["group"] |= set(_rule_groups(rule.model_dump(mode="json")))
    return wanted


async def export_org(db: AsyncSession, definition: AppDefinition, locale: str) -> Org | None:
    """The departments (with the departments above them) and groups the definition refers
    to, named in ``locale`` (the installation keeps one name per department and group)."""
    wanted = referred(definition)
    departments: list[OrgDepartment] = []
    if wanted["department"]:
        rows = list(
            (
                await db.execute(
                    select(Department).where(Department.code.in_(wanted["department"]))
                )
            ).scalars()
        )
        above: set[int] = set()
        for row in rows:
            above |= {int(p) for p in row.path.strip("/").split("/") if p}
        tree = (
            {
                d.id: d
                for d in (
                    await db.execute(select(Department).where(Department.id.in_(above)))
                ).scalars()
            }
            if above
            else {}
        )
        for row in sorted(tree.values(), key=lambda d: (d.path.count("/"), d.path)):
            parent = tree.get(row.parent_id) if row.parent_id else None
            departments.append(
                OrgDepartment(
                    code=row.code,
                    name={locale: row.name},
                    parent=parent.code if parent is not None else None,
                )
            )
    groups: list[OrgGroup] = []
    if wanted["group"]:
        for row in (
            await db.execute(
                select(Group).where(Group.key.in_(wanted["group"])).order_by(Group.key)
            )
        ).scalars():
            groups.append(
                OrgGroup(
                    key=row.key,
                    name={locale: row.name},
                    description={locale: row.description} if row.description else {},
                )
            )
    if not departments and not groups:
        return None
    return Org(departments=departments, groups=groups)
