"""Working a task: who may, and what they may submit (the node's field rights).

A task is worked by its assignee; an unassigned task by any member of its pools (completing
it claims it); administrators may act on any task. The data a user submits is checked
against the node's field rights (editable / required / read-only / hidden) before the record
is written, as the system on the user's behalf: the step grants those fields, whatever the
form's own permission sets say.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engines.flow.errors import FlowError
from engines.flow.model import UserTask
from engines.flow.state import Task
from runtime.auth.principal import Principal
from runtime.errors import FieldError, ProblemError
from runtime.flows import service
from runtime.flows.records import form_handle
from runtime.flows.store import Run
from runtime.records.writer import RecordWriter, run_hooks

EMPTY = (None, "", [], {})


def pool_matches(principal: Principal, candidates: list[list[Any]]) -> bool:
    """Whether the principal belongs to one of the pools ``[kind, ref]``."""
    membership = principal.membership
    for kind, ref in candidates:
        if kind == "admins" and principal.is_admin:
            return True
        if kind == "user" and ref == principal.user_id:
            return True
        if membership is None:
            continue
        if kind == "role" and (
            ref in membership.global_role_ids
            or any(ref in ids for ids in membership.app_role_ids.values())
        ):
            return True
        if kind == "group" and ref in membership.group_ids:
            return True
        if kind == "department" and ref in membership.department_paths:
            return True
        if kind == "department_tree" and any(
            f"/{ref}/" in path for path in membership.department_paths.values()
        ):
            return True
    return False


def may_work(principal: Principal, task: Task) -> bool:
    if principal.is_admin or task.assignee == principal.user_id:
        return True
    return task.assignee is None and pool_matches(principal, task.candidates)


def require_worker(principal: Principal, task: Task) -> None:
    if not may_work(principal, task):
        raise ProblemError("task_not_yours")


def field_rights(node: UserTask) -> dict[str, str]:
    return dict(node.fields)


def check_fields(node: UserTask, fields: dict[str, Any], record: dict[str, Any] | None) -> None:
    """Refuse fields the step does not let the user edit, and missing required ones (422)."""
    rights = field_rights(node)
    errors = [
        FieldError(f"fields.{key}", "field_not_editable", f"{key!r} cannot be changed at this step")
        for key in fields
        if rights.get(key) not in ("editable", "required")
    ]
    for key, right in rights.items():
        if right != "required":
            continue
        value = fields.get(key, (record or {}).get(key))
        if value in EMPTY:
            errors.append(
                FieldError(f"fields.{key}", "required", f"{key!r} is required at this step")
            )
    if errors:
        raise ProblemError("task_fields_invalid", errors=errors)


async def write_fields(
    db: AsyncSession, run: Run, user_id: int, fields: dict[str, Any]
) -> dict[str, Any]:
    """Write the submitted fields to the instance's record; returns them as stored (API form)."""
    if not fields:
        return {}
    if run.record_id is None or run.inst.record is None:
        raise ProblemError(
            "task_fields_invalid",
            errors=[FieldError("fields", "no_record", "this process runs without a record")],
        )
    handle = await form_handle(db, run.form_id)
    if handle is None:
        raise ProblemError("not_found", detail="the form is no longer published")
    writer = RecordWriter(db, handle, None, source="flow", author_id=user_id)
    written = await writer.update(run.record_id, run.inst.record["row_version"], fields)
    values = {k: written["values"].get(k) for k in fields}
    run.inst.record.update(values)
    run.inst.record["row_version"] = written["row_version"]
    return values


async def complete(
    db: AsyncSession,
    principal: Principal,
    task_id: int,
    *,
    action: str,
    fields: dict[str, Any],
    variables: dict[str, Any],
    comment: str | None,
) -> tuple[Run, Task]:
    run, task = await service.open_task(db, task_id)
    require_worker(principal, task)
    node = service.ENGINE.graph(run.inst).nodes[task.node]
    check_fields(node, fields, run.inst.record)
    if action not in ("complete", "approve", "reject"):
        raise ProblemError("flow_action_invalid", params={"reason": f"unknown action {action!r}"})
    written = await write_fields(db, run, principal.user_id, fields)
    # Triggers see the write while this instance still runs on the record: the last task of
    # a flow started by record updates must not start the flow again.
    await run_hooks(db)
    if task.assignee is None:
        task.assignee = principal.user_id
    try:
        done = service.ENGINE.complete(
            run.inst,
            task.seq,
            user=principal.user_id,
            action=action,
            variables=variables,
            record_changes=written,
            comment=comment,
        )
    except FlowError as exc:
        raise service.problem_of(exc) from exc
    await service.settle(db, run)
    return run, done


async def act(
    db: AsyncSession, principal: Principal, task_id: int, op: str, **kw: Any
) -> tuple[Run, Task]:
    """claim / release / transfer / add_signer / return_to on task ``task_id``."""
    run, task = await service.open_task(db, task_id)
    engine = service.ENGINE
    user = principal.user_id
    try:
        if op == "claim":
            if task.assignee is not None and task.assignee != user:
                raise ProblemError("task_taken")
            if not (principal.is_admin or pool_matches(principal, task.candidates)):
                raise ProblemError("task_not_yours")
            if task.assignee is None:
                engine.claim(run.inst, task.seq, user)
        elif op == "release":
            if task.assignee != user and not principal.is_admin:
                raise ProblemError("task_not_yours")
            engine.release(run.inst, task.seq, user)
        else:
            require_worker(principal, task)
            if op == "transfer":
                engine.transfer(run.inst, task.seq, user, kw["to"], kw.get("comment"))
            elif op == "add_signer":
                engine.add_signer(run.inst, task.seq, user, kw["signer"])
            elif op == "return_to":
                engine.return_to(
                    run.inst, task.seq, user=user, target=kw["target"], comment=kw.get("comment")
                )
            else:
                raise ValueError(op)
    except FlowError as exc:
        raise service.problem_of(exc) from exc
    await service.settle(db, run)
    return run, task
