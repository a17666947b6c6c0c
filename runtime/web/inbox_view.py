"""Flow instances and tasks as the pages show them: names of flows, steps and people, and
what the viewer may do. Reads go through the flows API's own helpers (``runtime.flows``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import FormRecord
from engines.flow.graph import graph_of
from runtime.auth.principal import Principal
from runtime.flows import definitions
from runtime.flows import routes as flow_api
from runtime.flows.models import FlowHistory, FlowInstance
from runtime.flows.schemas import InstanceDetailOut, TaskOut
from runtime.flows.tasks import pool_matches
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _
from runtime.web.record_view import user_names
from runtime.web.templating import label_text

#: What the history shows for each thing an instance did.
HISTORY_ACTIONS = {
    "started": N_("Started"),
    "task_created": N_("Task created"),
    "task_completed": N_("Completed the task"),
    "approve": N_("Approved"),
    "reject": N_("Rejected"),
    "claimed": N_("Claimed the task"),
    "released": N_("Released the task"),
    "transferred": N_("Transferred the task"),
    "signer_added": N_("Added a signer"),
    "returned": N_("Returned to an earlier step"),
    "countersign_decided": N_("Countersign decided"),
    "timer_fired": N_("Timer fired"),
    "service_done": N_("Automatic step done"),
    "call_done": N_("Sub-process done"),
    "completed": N_("Finished"),
    "rejected": N_("Ended as rejected"),
    "cancelled": N_("Cancelled"),
    "failed": N_("Failed"),
    "terminated": N_("Terminated"),
}
INSTANCE_STATUSES = {
    "running": N_("Running"),
    "completed": N_("Finished"),
    "rejected": N_("Rejected"),
    "cancelled": N_("Cancelled"),
    "failed": N_("Failed"),
    "terminated": N_("Terminated"),
}
TASK_STATUSES = {
    "open": N_("Open"),
    "completed": N_("Done"),
    "cancelled": N_("Cancelled"),
}


async def revive(db: AsyncSession, principal: Principal) -> None:
    """Reload the signed-in user after a rollback expired it (the page is shown again)."""
    await db.refresh(principal.user)


def status_label(status: str, labels: dict[str, str] = INSTANCE_STATUSES) -> str:
    return _(labels[status]) if status in labels else status


def history_label(action: str) -> str:
    return _(HISTORY_ACTIONS[action]) if action in HISTORY_ACTIONS else action


def may_work(principal: Principal, task: TaskOut) -> bool:
    """Whether the viewer may act on the open task now (as ``runtime.flows.tasks``)."""
    if task.status != "open" or task.instance_status != "running":
        return False
    if principal.is_admin or task.assignee_id == principal.user_id:
        return True
    return task.assignee_id is None and pool_matches(principal, task.candidates)


@dataclass
class Names:
    """Display names of flows, steps, forms and people, read once per page."""

    db: AsyncSession
    users: dict[int, str] = field(default_factory=dict)
    forms: dict[int, str] = field(default_factory=dict)
    _flows: dict[tuple[int, int, str], Any] = field(default_factory=dict)

    async def load_users(self, ids: set[int]) -> None:
        self.users.update(await user_names(self.db, ids - set(self.users)))

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return ""
        return self.users.get(user_id, f"#{user_id}")

    async def load_forms(self, ids: set[int]) -> None:
        wanted = sorted(i for i in ids - set(self.forms) if i)
        if wanted:
            rows = await self.db.execute(
                select(FormRecord.id, FormRecord.key).where(FormRecord.id.in_(wanted))
            )
            self.forms.update({i: k for i, k in rows.all()})

    def record_href(self, app: str, form_id: int | None, record_id: int | None) -> str | None:
        key = self.forms.get(form_id or 0)
        if key is None or record_id is None:
            return None
        return f"/apps/{app}/forms/{key}/records/{record_id}"

    async def flow(self, app_id: int, version_id: int, flow_key: str) -> Any:
        cache_key = (app_id, version_id, flow_key)
        if cache_key not in self._flows:
            ref = await definitions.flow_at(self.db, app_id, version_id, flow_key)
            self._flows[cache_key] = ref.flow
        return self._flows[cache_key]

    async def flow_of(self, instance: FlowInstance) -> Any:
        return await self.flow(instance.app_id, instance.version_id, instance.flow_key)


def node_name(flow: Any, node_id: str | None) -> str:
    if node_id is None:
        return ""
    node = graph_of(flow).nodes.get(node_id)
    return (label_text(node.name) if node is not None else "") or node_id


def candidates_text(names: Names, candidates: list[Any]) -> str:
    """Who may claim a pool task, in words."""
    kinds = {
        "role": _("role"),
        "group": _("group"),
        "department": _("department"),
        "department_tree": _("department and below"),
    }
    parts = []
    for kind, ref in candidates:
        if kind == "admins":
            parts.append(_("administrators"))
        elif kind == "user":
            parts.append(names.user(ref))
        else:
            parts.append(f"{kinds.get(kind, kind)} #{ref}")
    return ", ".join(parts)


async def instance_position(
    db: AsyncSession, principal: Principal, instance_id: int, names: Names
) -> dict[str, Any]:
    """Where an instance stands, as the flows API shows it, with names and the viewer's
    actions on each open task."""
    detail: InstanceDetailOut = await flow_api.instance_detail(db, instance_id)
    row = await db.get(FlowInstance, instance_id)
    assert row is not None
    flow = await names.flow_of(row)
    await names.load_users(
        {t.assignee_id for t in detail.tasks if t.assignee_id}
        | {r for t in detail.tasks for k, r in t.candidates if k == "user" and isinstance(r, int)}
        | ({detail.started_by} if detail.started_by else set())
    )
    await names.load_forms({detail.form_id} if detail.form_id else set())
    tasks = [
        {
            "task": t,
            "name": label_text(t.name) or node_name(flow, t.node),
            "assignee": names.user(t.assignee_id),
            "pool": candidates_text(names, t.candidates) if t.assignee_id is None else "",
            "workable": may_work(principal, t),
        }
        for t in detail.tasks
    ]
    return {
        "detail": detail,
        "flow_name": label_text(flow.name) or detail.flow,
        "status": status_label(detail.status),
        "position": [label_text(p.name) or p.node for p in detail.position],
        "tasks": tasks,
        "starter": names.user(detail.started_by),
        "record_href": names.record_href(detail.app, detail.form_id, detail.record_id),
    }


async def instance_history(
    db: AsyncSession, instance_id: int, flow: Any, names: Names
) -> list[dict[str, Any]]:
    rows = (
        (
            await db.execute(
                select(FlowHistory)
                .where(FlowHistory.instance_id == instance_id)
                .order_by(FlowHistory.id)
                .limit(1000)
            )
        )
        .scalars()
        .all()
    )
    people = {r.actor_id for r in rows if r.actor_id}
    for r in rows:
        data = r.data or {}
        people.update(v for k, v in data.items() if k in ("to", "from", "user", "assignee"))
    await names.load_users({p for p in people if isinstance(p, int)})
    items = []
    for r in rows:
        data = r.data or {}
        detail = ""
        if r.action == "transferred":
            detail = _("to %(name)s", name=names.user(data.get("to")))
        elif r.action == "signer_added":
            detail = names.user(data.get("user"))
        elif r.action == "returned":
            detail = _("to %(step)s", step=node_name(flow, data.get("to")))
        elif r.action == "task_created" and isinstance(data.get("assignee"), int):
            detail = _("for %(name)s", name=names.user(data["assignee"]))
        items.append(
            {
                "at": r.at,
                "action": history_label(r.action),
                "actor": names.user(r.actor_id),
                "node": node_name(flow, r.node),
                "detail": detail,
                "comment": data.get("comment") if isinstance(data.get("comment"), str) else "",
            }
        )
    return items


async def instances_on_record(
    db: AsyncSession, principal: Principal, form_id: int, record_id: int
) -> list[dict[str, Any]]:
    """The flow instances of a record, newest first (the running ones with their position)."""
    rows = (
        (
            await db.execute(
                select(FlowInstance)
                .where(FlowInstance.form_id == form_id, FlowInstance.record_id == record_id)
                .order_by(FlowInstance.id.desc())
                .limit(10)
            )
        )
        .scalars()
        .all()
    )
    names = Names(db)
    return [await instance_position(db, principal, row.id, names) for row in rows]
