"""What a rule's actions do. Local ones write in the firing's savepoint; mail and webhooks
become ``rule.action`` jobs (see :mod:`runtime.rules.jobs`) keyed by run and action, so each
runs once after the triggering write commits.

An action that cannot run as configured (the form refuses the values, nobody to assign, a
template that fails) raises :class:`ActionError`: the firing rolls back and is logged as
failed with the message.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition
from engines.logic import LogicError, evaluate, truthy
from engines.logic.sql import compile_condition
from engines.rules.check import TEMPLATES, TEXT_TYPES
from engines.rules.spec import (
    Assign,
    CallWebhook,
    Comment,
    CreateRecord,
    GroupPick,
    Notify,
    Rule,
    SendMail,
    SetFields,
    StartFlow,
    UpdateRelated,
)
from runtime.auth.models import User
from runtime.errors import ProblemError
from runtime.flows import definitions
from runtime.flows import service as flows
from runtime.flows.records import record_context
from runtime.jobs import queue
from runtime.org.models import Department, DepartmentMember, Group, GroupMember
from runtime.permissions.access import sql_fields
from runtime.records.forms import FormHandle, published_form
from runtime.records.models import RecordComment
from runtime.records.timeline import mentioned_users
from runtime.records.writer import RecordWriter
from runtime.rules.models import Notification, RuleTurn

#: The job that runs a rule's mail and webhook actions.
ACTION_JOB = "rule.action"


class ActionError(Exception):
    """The action cannot run as configured; the firing is rolled back and logged."""


@dataclass
class Firing:
    """One rule firing on one record, as its actions see and change it."""

    db: AsyncSession
    app_id: int
    version_id: int
    definition: AppDefinition
    handle: FormHandle
    rule: Rule
    record_id: int
    #: ``{"record", "changes", "event"}``: what conditions, values and templates read; the
    #: record is kept up to date with the firing's own writes.
    data: dict[str, Any]
    actor_id: int | None
    run_id: int | None = None
    #: Field key → [before, after] of what the firing wrote to its record.
    changes: dict[str, Any] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    #: Set in a test run: nothing leaves the database (no jobs), the caller rolls back.
    dry_run: bool = False
    #: The group each per-field group pick (by ``id``) took its member from.
    picked: dict[int, str] = field(default_factory=dict)


async def run_actions(firing: Firing) -> None:
    for index, action in enumerate(firing.rule.actions):
        try:
            detail = await _ACTIONS[action.type](firing, action, index)
        except ActionError as exc:
            firing.outcomes.append({"type": action.type, "ok": False, "detail": str(exc)})
            raise ActionError(f"actions[{index}] ({action.type}): {exc}") from exc
        except ProblemError as exc:
            message = _refusal(exc)
            firing.outcomes.append({"type": action.type, "ok": False, "detail": message})
            raise ActionError(f"actions[{index}] ({action.type}): {message}") from exc
        firing.outcomes.append({"type": action.type, "ok": True, "detail": detail})


def _refusal(exc: ProblemError) -> str:
    details = [f"{e.field}: {e.code}" for e in exc.errors] or [exc.detail or ""]
    return f"refused ({exc.code}): " + "; ".join(d for d in details if d)


def _value(rule: Any, data: dict[str, Any]) -> Any:
    try:
        return evaluate(rule, data)
    except LogicError as exc:
        raise ActionError(f"the rule failed: {exc}") from exc


def render(template: str, data: dict[str, Any]) -> str:
    try:
        return TEMPLATES.from_string(template).render(**data)
    except TemplateError as exc:
        raise ActionError(f"the template failed: {exc}") from exc


# --- writing the record --------------------------------------------------------------------------


async def _write(firing: Firing, values: dict[str, Any]) -> dict[str, Any]:
    record = firing.data["record"]
    if not record or record.get("id") is None:
        raise ActionError("the record is gone")
    if firing.data["event"]["kind"] == "deleted":
        raise ActionError("the record is deleted")
    written = await RecordWriter(firing.db, firing.handle, None, source="rule").update(
        firing.record_id, record["row_version"], values
    )
    changed = {}
    for key in values:
        before, after = record.get(key), written["values"].get(key)
        if before != after:
            first = firing.changes.get(key, [before, None])[0]
            firing.changes[key] = [first, after]
            changed[key] = after
        record[key] = after
    record["row_version"] = written["row_version"]
    record["updated_at"] = written.get("updated_at", record.get("updated_at"))
    return changed


async def _set_fields(firing: Firing, action: SetFields, index: int) -> Any:
    values = {key: _value(rule, firing.data) for key, rule in action.values.items()}
    return {"set": await _write(firing, values)}


# --- assigning ---------------------------------------------------------------------------------


async def _assign(firing: Firing, action: Assign, index: int) -> Any:
    current = firing.data["record"].get(action.field)
    if action.keep_existing and current:
        return {"kept": current}
    user_id, how = await _assignee(firing, action, index)
    if user_id is None:
        return {"assigned": None, "why": how}
    await _write(firing, {action.field: user_id})
    return {"assigned": user_id, "how": how}


async def _assignee(firing: Firing, action: Assign, index: int) -> tuple[int | None, str]:
    slot = f"actions[{index}]"
    if action.user is not None:
        return await _user(firing.db, action.user), "user"
    if action.group is not None:
        chosen = await _pick(firing, action.group, slot, action.field)
        return chosen, _how(firing, action.group)
    if action.rule is not None:
        return await _user(firing.db, _value(action.rule, firing.data)), "rule"
    text = _text(firing, action.search)
    for number, route in enumerate(action.keywords or []):
        if any(word.lower() in text for word in route.words):
            if route.user is not None:
                return await _user(firing.db, route.user), f"keyword {number}"
            assert route.group is not None
            chosen = await _pick(firing, route.group, f"{slot}.keywords[{number}]", action.field)
            return chosen, f"keyword {number}"
    return None, "no keyword matched"


def _how(firing: Firing, pick: GroupPick) -> str:
    """How a group pick chose: the strategy, and the group when it is picked per field."""
    if pick.per is None:
        return pick.strategy
    return f"{pick.strategy} in {firing.picked.get(id(pick), pick.group)}"


def _text(firing: Firing, keys: list[str] | None) -> str:
    form = firing.handle.form
    keys = keys or [spec.key for spec in form.fields if spec.type in TEXT_TYPES]
    record = firing.data["record"]
    return " ".join(str(record.get(k) or "") for k in keys).lower()


async def _user(db: AsyncSession, who: Any) -> int:
    """An active user by id or username."""
    if isinstance(who, bool) or not isinstance(who, int | str) or who == "":
        raise ActionError(f"{who!r} does not name a user")
    column = User.id if isinstance(who, int) else User.username
    found = (
        await db.execute(select(User.id).where(column == who, User.is_active.is_(True)))
    ).scalar_one_or_none()
    if found is None:
        raise ActionError(f"no active user {who!r}")
    return int(found)


async def _members(db: AsyncSession, group: str) -> list[int]:
    rows = await db.execute(
        select(GroupMember.user_id)
        .join(Group, Group.id == GroupMember.group_id)
        .join(User, User.id == GroupMember.user_id)
        .where(Group.key == group, User.is_active.is_(True))
        .order_by(GroupMember.user_id)
    )
    members = [int(u) for u in rows.scalars()]
    if not members:
        raise ActionError(f"group {group!r} has no active members")
    return members


async def _heads(db: AsyncSession, department_id: Any) -> list[int]:
    """The active heads of the record's department (none without a department)."""
    if not isinstance(department_id, int):
        return []
    rows = await db.execute(
        select(DepartmentMember.user_id)
        .join(User, User.id == DepartmentMember.user_id)
        .where(
            DepartmentMember.department_id == department_id,
            DepartmentMember.position == "head",
            User.is_active.is_(True),
        )
        .order_by(DepartmentMember.user_id)
    )
    return [int(u) for u in rows.scalars()]


async def _pick(firing: Firing, pick: GroupPick, slot: str, field_key: str) -> int:
    group = pick.group_for(firing.data["record"])
    try:
        members = await _members(firing.db, group)
    except ActionError:
        if group == pick.group:
            raise
        # A value's own group that does not exist or has nobody active: the default group.
        group = pick.group
        members = await _members(firing.db, group)
    firing.picked[id(pick)] = group
    if pick.strategy == "least_open":
        return await _least_open(firing, pick, members, field_key)
    # Each group of a per-field pick takes its own turns.
    return await _next_turn(firing, members, slot if pick.per is None else f"{slot}:{group}")


async def _next_turn(firing: Firing, members: list[int], slot: str) -> int:
    """The member after the one who had the last turn (ids in order, wrapping round). The
    turn row is locked from reading it to the commit, so concurrent firings take turns."""
    db = firing.db
    table = RuleTurn.__table__
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    key = {"app_id": firing.app_id, "rule_key": firing.rule.key, "slot": slot}
    locked = (
        insert(table)
        .values(**key, last_user_id=None)
        .on_conflict_do_update(
            index_elements=["app_id", "rule_key", "slot"],
            set_={"last_user_id": table.c.last_user_id},
        )
        .returning(table.c.last_user_id)
    )
    last = (await db.execute(locked)).scalar_one_or_none()
    chosen = next((m for m in members if last is None or m > last), members[0])
    await db.execute(
        table.update()
        .where(*[table.c[name] == value for name, value in key.items()])
        .values(last_user_id=chosen)
    )
    return chosen


async def _least_open(firing: Firing, pick: GroupPick, members: list[int], field_key: str) -> int:
    """The member holding the fewest open records of the form in the assigned field (ties:
    the lowest user id)."""
    handle = firing.handle
    column = handle.column(field_key)
    table = handle.table
    where = [column.in_(members), table.c.deleted_at.is_(None)]
    if pick.open is not None:
        try:
            where.append(compile_condition(pick.open, sql_fields(handle), null_is_false=True))
        except LogicError as exc:
            raise ActionError(f"the open condition does not compile: {exc}") from exc
    rows = await firing.db.execute(
        select(column, func.count()).select_from(table).where(*where).group_by(column)
    )
    counts = {int(user): int(n) for user, n in rows}
    return min(members, key=lambda m: (counts.get(m, 0), m))


# --- notes and notifications ---------------------------------------------------------------------


async def _comment(firing: Firing, action: Comment, index: int) -> Any:
    body = render(action.body, firing.data)
    comment = RecordComment(
        form_id=firing.handle.form_id,
        record_id=firing.record_id,
        author_id=None,
        body=body,
        internal=action.internal,
        mentions=await mentioned_users(firing.db, body),
        attachments=[],
    )
    firing.db.add(comment)
    await firing.db.flush()
    return {"comment": comment.id, "internal": action.internal}


async def _notify(firing: Firing, action: Notify, index: int) -> Any:
    db = firing.db
    users: list[int] = [await _user(db, name) for name in action.users]
    if action.rule is not None:
        value = _value(action.rule, firing.data)
        for who in value if isinstance(value, list) else [value]:
            if who not in (None, ""):
                users.append(await _user(db, who))
    if action.group is not None:
        users.extend(await _members(db, action.group))
    if action.department_head:
        users.extend(await _heads(db, firing.data["record"].get("department_id")))
    title = " ".join(render(action.title, firing.data).split())[:500]
    body = render(action.body, firing.data)
    subject = {
        "app": firing.handle.app_key,
        "form": firing.handle.form.key,
        "record_id": firing.record_id,
        "rule": firing.rule.key,
    }
    recipients = list(dict.fromkeys(users))
    for user_id in recipients:
        db.add(Notification(user_id=user_id, title=title, body=body, subject=subject))
    await db.flush()
    return {"notified": recipients}


# --- jobs, flows, other records ------------------------------------------------------------------


def jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


async def _external(firing: Firing, action: SendMail | CallWebhook, index: int) -> Any:
    """Mail and webhooks leave the database: a job after the commit, once per run/action."""
    if firing.dry_run:
        return {"would": action.type}
    assert firing.run_id is not None
    job = await queue.enqueue(
        firing.db,
        ACTION_JOB,
        {
            "run": firing.run_id,
            "version": firing.version_id,
            "rule": firing.rule.key,
            "action": index,
            "data": jsonable(firing.data),
        },
        idempotency_key=f"rule:{firing.run_id}:{index}",
        created_by=firing.actor_id,
    )
    return {"job": job}


async def _start_flow(firing: Firing, action: StartFlow, index: int) -> Any:
    try:
        ref = await definitions.flow_at(firing.db, firing.app_id, firing.version_id, action.flow)
    except ProblemError as exc:
        raise ActionError(f"no flow {action.flow!r}") from exc
    variables = {key: _value(rule, firing.data) for key, rule in action.variables.items()}
    variables["trigger"] = {"kind": "rule", "rule": firing.rule.key, "record_id": firing.record_id}
    run = await flows.start(
        firing.db, ref, actor_id=firing.actor_id, variables=variables, record_id=firing.record_id
    )
    return {"instance": run.id}


async def _create_record(firing: Firing, action: CreateRecord, index: int) -> Any:
    form = firing.definition.form(action.form)
    handle = await published_form(firing.db, form.id) if form is not None else None
    if handle is None:
        raise ActionError(f"form {action.form!r} is not published")
    values = {key: _value(rule, firing.data) for key, rule in action.values.items()}
    department = _value(action.department, firing.data) if action.department else None
    owner = _value(action.owner, firing.data) if action.owner else None
    if department is not None:
        found = None
        if isinstance(department, int) and not isinstance(department, bool):
            query = select(Department.id).where(Department.id == department)
            found = await firing.db.scalar(query)
        if found is None:
            raise ActionError(f"no department {department!r}")
    if owner is not None:
        owner = await _user(firing.db, owner)
    writer = RecordWriter(
        firing.db, handle, None, source="rule", department_id=department, owner_id=owner
    )
    created = await writer.create(values)
    return {
        "form": action.form,
        "record_id": created["id"],
        "department_id": department,
        "owner_id": owner,
    }


async def _update_related(firing: Firing, action: UpdateRelated, index: int) -> Any:
    """Write the related record(s) as the system, through the record writer: the target's
    own rules then fire on the change (one level deeper, the usual loop bounds apply)."""
    handle = firing.handle
    spec = handle.form.find(action.relation)
    target_form = spec.options.get("form_id") if spec is not None else None
    target = await published_form(firing.db, target_form) if target_form else None
    if spec is None or target is None:
        raise ActionError(f"relation {action.relation!r} leads to no published form")
    linked = firing.data["record"].get(action.relation)
    ids = [i for i in (linked if isinstance(linked, list) else [linked]) if isinstance(i, int)]
    updated: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for target_id in ids:
        if target.form_id == handle.form_id and target_id == firing.record_id:
            own = {**firing.data, "related": dict(firing.data["record"])}
            if action.condition is not None and not truthy(_value(action.condition, own)):
                skipped.append({"record_id": target_id, "why": "condition"})
                continue
            values = {key: _value(rule, own) for key, rule in action.values.items()}
            updated.append({"record_id": target_id, "set": await _write(firing, values)})
            continue
        related = await record_context(firing.db, target, target_id)
        if related is None:
            skipped.append({"record_id": target_id, "why": "gone"})
            continue
        data = {**firing.data, "related": related}
        if action.condition is not None and not truthy(_value(action.condition, data)):
            skipped.append({"record_id": target_id, "why": "condition"})
            continue
        values = {key: _value(rule, data) for key, rule in action.values.items()}
        written = await RecordWriter(firing.db, target, None, source="rule").update(
            target_id, related["row_version"], values
        )
        changed = {
            key: written["values"].get(key)
            for key in values
            if related.get(key) != written["values"].get(key)
        }
        updated.append({"record_id": target_id, "set": changed})
    if not ids:
        skipped.append({"why": "no related record"})
    return {"form": target.form.key, "updated": updated, "skipped": skipped}


_ACTIONS: dict[str, Callable[[Firing, Any, int], Awaitable[Any]]] = {
    "set_fields": _set_fields,
    "assign": _assign,
    "comment": _comment,
    "notify": _notify,
    "send_mail": _external,
    "webhook": _external,
    "start_flow": _start_flow,
    "create_record": _create_record,
    "update_related": _update_related,
}
