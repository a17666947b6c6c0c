"""An app with a request form and flows, published through the apps API, plus helpers to
arrange roles, departments and groups and to work tasks."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import select

from runtime.config import Settings
from runtime.flows.models import FlowCc, FlowTimer
from runtime.jobs.models import Job
from runtime.jobs.worker import Worker
from runtime.org.models import Department, DepartmentMember, Group, GroupMember, Role, RoleMember
from tests.conftest import Account, make_account
from tests.runtime.records.conftest import EVERYONE, publish_app
from tests.support.jobs import eventually, running

REQUEST = {
    "key": "request",
    "label": {"en": "Request", "zh-CN": "申请"},
    "fields": [
        {"id": 1, "key": "title", "type": "text", "label": {"en": "Title"}, "required": True},
        {"id": 2, "key": "amount", "type": "integer", "label": {"en": "Amount"}},
        {"id": 3, "key": "status", "type": "text", "label": {"en": "Status"}},
        {"id": 4, "key": "resolution", "type": "textarea", "label": {"en": "Resolution"}},
        {"id": 5, "key": "secret", "type": "text", "label": {"en": "Secret"}},
        {"id": 6, "key": "agent", "type": "user", "label": {"en": "Agent"}},
        {"id": 7, "key": "approved", "type": "boolean", "label": {"en": "Approved"}},
    ],
}


def flow(key: str, nodes: list[dict], edges: list[dict], **extra: Any) -> dict:
    return {
        "key": key,
        "name": {"en": key},
        "form": "request",
        "nodes": nodes,
        "edges": edges,
        **extra,
    }


def chain(*ids: str) -> list[dict]:
    """Edges joining the nodes in order."""
    return [{"id": f"e_{a}_{b}", "source": a, "target": b} for a, b in itertools.pairwise(ids)]


class FlowApp:
    def __init__(self, client, admin: Account, under_test) -> None:
        self.client = client
        self.admin = admin
        self.app = under_test

    @property
    def records(self) -> str:
        return self.app.url("request")

    async def record(self, who: Account, **values: Any) -> dict:
        created = await self.client.post(
            self.records, json={"values": {"title": "t", **values}}, headers=who.headers
        )
        assert created.status_code == 201, created.text
        return created.json()

    async def start(
        self, who: Account, flow_key: str, record_id: int | None = None, **variables: Any
    ):
        body: dict[str, Any] = {"variables": variables}
        if record_id is not None:
            body["record_id"] = record_id
        return await self.client.post(
            f"/api/v1/apps/{self.app.key}/flows/{flow_key}/instances",
            json=body,
            headers=who.headers,
        )

    async def instance(self, who: Account, instance_id: int) -> dict:
        got = await self.client.get(f"/api/v1/flow-instances/{instance_id}", headers=who.headers)
        assert got.status_code == 200, got.text
        return got.json()

    async def tasks(self, who: Account, box: str = "mine") -> list[dict]:
        got = await self.client.get("/api/v1/tasks", params={"box": box}, headers=who.headers)
        assert got.status_code == 200, got.text
        return got.json()["items"]

    async def complete(self, who: Account, task_id: int, **body: Any):
        return await self.client.post(
            f"/api/v1/tasks/{task_id}/complete", json=body, headers=who.headers
        )

    async def until(
        self, instance_id: int, check: Callable[[dict], Any], message: str = "the instance"
    ) -> dict:
        """Poll the instance (as the administrator) until ``check(detail)`` holds (bounded)."""

        async def probe() -> dict | None:
            detail = await self.instance(self.admin, instance_id)
            return detail if check(detail) else None

        return await eventually(probe, message=message)

    async def history(self, who: Account, instance_id: int) -> list[dict]:
        got = await self.client.get(
            f"/api/v1/flow-instances/{instance_id}/history", headers=who.headers
        )
        assert got.status_code == 200, got.text
        return got.json()["items"]


async def publish_flows(
    client,
    admin,
    flows: list[dict],
    *,
    key: str = "desk",
    roles=(),
    permissions=None,
    forms: list[dict] | tuple[dict, ...] = (),
    parts: dict[str, Any] | None = None,
) -> FlowApp:
    """Publish the request form (and ``forms``, more form definitions) with ``flows`` (and
    ``parts``, more parts of the definition such as ``calendars``)."""

    def build(ids: dict[str, int]) -> list[dict]:
        return [{**form, "id": ids[form["key"]]} for form in (REQUEST, *forms)]

    under_test = await publish_app(
        client,
        admin,
        key,
        ["request", *(f["key"] for f in forms)],
        build,
        permissions=permissions or EVERYONE,
        roles=roles,
    )
    draft = await under_test.draft()
    saved = await client.put(
        f"{under_test.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "flows": flows, **(parts or {})},
        },
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await under_test.publish()
    assert published.status_code == 200, published.text
    return FlowApp(client, admin, under_test)


@pytest.fixture
async def people(client, sessions) -> dict[str, Account]:
    """Six users: a requester, two agents, two managers, a director."""
    names = ["requester", "agent1", "agent2", "manager1", "manager2", "director"]
    return {n: await make_account(client, sessions, n, "Pass-word-2026x") for n in names}


async def org(sessions, people: dict[str, Account]) -> dict[str, int]:
    """Roles managers/agents, group team_a (agents), departments hq > support (director heads
    hq, manager1 heads support; agents and requester in support)."""
    async with sessions() as db:
        managers = Role(key="managers", name="Managers")
        agents = Role(key="agents", name="Agents")
        team = Group(key="team_a", name="Team A")
        hq = Department(code="hq", name="HQ", path="/")
        db.add_all([managers, agents, team, hq])
        await db.flush()
        hq.path = f"/{hq.id}/"
        support = Department(code="support", name="Support", parent_id=hq.id, path="/")
        db.add(support)
        await db.flush()
        support.path = f"{hq.path}{support.id}/"
        for name in ("manager1", "manager2"):
            db.add(RoleMember(role_id=managers.id, user_id=people[name].id))
        for name in ("agent1", "agent2"):
            db.add(RoleMember(role_id=agents.id, user_id=people[name].id))
            db.add(GroupMember(group_id=team.id, user_id=people[name].id))
        db.add(
            DepartmentMember(
                department_id=hq.id, user_id=people["director"].id, is_primary=True, position="head"
            )
        )
        db.add(
            DepartmentMember(
                department_id=support.id,
                user_id=people["manager1"].id,
                is_primary=True,
                position="head",
            )
        )
        for name in ("agent1", "agent2", "requester", "manager2"):
            db.add(
                DepartmentMember(department_id=support.id, user_id=people[name].id, is_primary=True)
            )
        await db.commit()
        return {"hq": hq.id, "support": support.id, "managers": managers.id, "team_a": team.id}


# --- jobs ---------------------------------------------------------------------------------------


@asynccontextmanager
async def working(sessions: Any, settings: Settings, **overrides: Any) -> AsyncIterator[Worker]:
    """A job worker running beside the test (timers, service tasks), with ``overrides``
    applied to its settings (e.g. the SMTP server)."""
    worker = Worker(sessions, settings.model_copy(update=overrides), concurrency=2)
    async with running(worker):
        yield worker


async def jobs_named(sessions: Any, name: str) -> list[Job]:
    async with sessions() as db:
        rows = await db.execute(select(Job).where(Job.name == name).order_by(Job.id))
        return list(rows.scalars())


async def timer_rows(sessions: Any, instance_id: int) -> list[FlowTimer]:
    async with sessions() as db:
        rows = await db.execute(
            select(FlowTimer).where(FlowTimer.instance_id == instance_id).order_by(FlowTimer.seq)
        )
        return list(rows.scalars())


async def cc_rows(sessions: Any, instance_id: int) -> list[FlowCc]:
    async with sessions() as db:
        rows = await db.execute(
            select(FlowCc).where(FlowCc.instance_id == instance_id).order_by(FlowCc.id)
        )
        return list(rows.scalars())
