"""Flows started by record events: a field changing (to a value), an update with a
condition, one running instance per record and flow, and writes made by a service task."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import Settings
from tests.conftest import Account
from tests.runtime.flows.conftest import FlowApp, chain, flow, publish_flows, working

pytestmark = pytest.mark.asyncio


def triggered(key: str, *triggers: dict) -> dict:
    """start → work (a task for whoever wrote the record) → end, started by ``triggers``."""
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "work", "type": "user_task", "assignee": {"kind": "starter"}},
        {"id": "end", "type": "end"},
    ]
    return flow(key, nodes, chain("start", "work", "end"), triggers=list(triggers))


async def instances(app: FlowApp, flow_key: str | None = None) -> list[dict]:
    got = await app.client.get(
        "/api/v1/flow-instances", params={"box": "all"}, headers=app.admin.headers
    )
    assert got.status_code == 200, got.text
    items = got.json()["items"]
    return sorted(
        (i for i in items if flow_key is None or i["flow"] == flow_key), key=lambda i: i["id"]
    )


async def patch(app: FlowApp, who: Account, record: dict, **values: Any) -> dict:
    changed = await app.client.patch(
        f"{app.records}/{record['id']}",
        json={"row_version": record["row_version"], "values": values},
        headers=who.headers,
    )
    assert changed.status_code == 200, changed.text
    return changed.json()


async def test_field_changed_to_a_value(client, admin, sessions, people) -> None:
    closing = triggered("closing", {"on": "field_changed", "field": "status", "to": "closed"})
    app = await publish_flows(client, admin, [closing])
    agent = people["agent1"]
    record = await app.record(agent, status="open")
    assert await instances(app) == []
    record = await patch(app, agent, record, status="pending")
    record = await patch(app, agent, record, amount=3)
    assert await instances(app) == []

    record = await patch(app, agent, record, status="closed")
    [started] = await instances(app)
    assert started["record_id"] == record["id"] and started["started_by"] == agent.id
    detail = await app.instance(admin, started["id"])
    assert detail["variables"] == {"trigger": {"kind": "updated", "record_id": record["id"]}}
    [task] = await app.tasks(agent)
    assert task["instance_id"] == started["id"]
    # another field changing while closed is no change to "closed"
    await patch(app, agent, record, amount=4)
    assert len(await instances(app)) == 1


async def test_field_changed_on_create(client, admin, sessions, people) -> None:
    closing = triggered("closing", {"on": "field_changed", "field": "status", "to": "closed"})
    app = await publish_flows(client, admin, [closing])
    await app.record(people["agent1"], status="open")
    assert await instances(app) == []
    created = await app.record(people["agent1"], status="closed")
    [started] = await instances(app)
    assert started["record_id"] == created["id"]


async def test_a_running_instance_blocks_a_second_start(client, admin, sessions, people) -> None:
    app = await publish_flows(
        client, admin, [triggered("recount", {"on": "field_changed", "field": "amount"})]
    )
    agent = people["agent1"]
    record = await app.record(agent)
    record = await patch(app, agent, record, amount=1)
    record = await patch(app, agent, record, amount=2)
    [first] = await instances(app)
    assert first["status"] == "running"
    # another record gets its own instance
    other = await app.record(agent)
    await patch(app, agent, other, amount=1)
    assert [i["record_id"] for i in await instances(app)] == [record["id"], other["id"]]

    [task] = [t for t in await app.tasks(agent) if t["instance_id"] == first["id"]]
    assert (await app.complete(agent, task["id"])).status_code == 200
    assert (await app.instance(admin, first["id"]))["status"] == "completed"
    await patch(app, agent, record, amount=3)
    on_record = [i for i in await instances(app) if i["record_id"] == record["id"]]
    assert [i["status"] for i in on_record] == ["completed", "running"]


async def test_updated_trigger_with_a_condition(client, admin, sessions, people) -> None:
    big = triggered(
        "big",
        {"on": "updated", "condition": {">": [{"var": "record.amount"}, 1000]}},
    )
    app = await publish_flows(client, admin, [big])
    agent = people["agent1"]
    record = await app.record(agent, amount=5000)  # created, not updated
    assert await instances(app) == []
    record = await patch(app, agent, record, amount=10)
    assert await instances(app) == []
    record = await patch(app, agent, record, amount=2000)
    [started] = await instances(app)
    assert started["record_id"] == record["id"]


async def test_a_service_task_write_triggers_another_flow(
    client, admin, sessions, settings: Settings, people
) -> None:
    """Fields set by a service task (in a job) are record events like any other write."""
    nodes = [
        {"id": "start", "type": "start"},
        {
            "id": "close",
            "type": "service_task",
            "action": {"kind": "set_fields", "values": {"status": "closed"}},
        },
        {"id": "end", "type": "end"},
    ]
    closer = flow("closer", nodes, chain("start", "close", "end"))
    closing = triggered("closing", {"on": "field_changed", "field": "status", "to": "closed"})
    app = await publish_flows(client, admin, [closer, closing])
    record = await app.record(people["agent1"], status="open")
    started = await app.start(people["agent1"], "closer", record["id"])
    assert started.status_code == 201, started.text

    async with working(sessions, settings):
        await app.until(started.json()["id"], lambda d: d["status"] == "completed", "the closer")
    [closing_instance] = await instances(app, "closing")
    assert closing_instance["record_id"] == record["id"]
    assert closing_instance["status"] == "running"


async def test_a_flows_own_service_write_does_not_restart_it(
    client, admin, sessions, settings: Settings, people
) -> None:
    """The instance is still running when its own write is seen: no second start (a flow
    ending in set_fields, triggered by updates, would otherwise restart itself forever)."""
    nodes = [
        {"id": "start", "type": "start"},
        {
            "id": "bump",
            "type": "service_task",
            "action": {
                "kind": "set_fields",
                "values": {"amount": {"+": [{"var": "record.amount"}, 1]}},
            },
        },
        {"id": "end", "type": "end"},
    ]
    bumper = flow("bumper", nodes, chain("start", "bump", "end"), triggers=[{"on": "updated"}])
    app = await publish_flows(client, admin, [bumper])
    record = await app.record(people["agent1"], amount=1)
    record = await patch(app, people["agent1"], record, amount=10)
    [first] = await instances(app)

    async with working(sessions, settings):
        await app.until(first["id"], lambda d: d["status"] == "completed", "the bump")
    assert [i["id"] for i in await instances(app)] == [first["id"]]
    stored = (await client.get(f"{app.records}/{record['id']}", headers=admin.headers)).json()
    assert stored["values"]["amount"] == 11


async def test_a_flows_own_task_write_does_not_restart_it(client, admin, sessions, people) -> None:
    handle = {
        "id": "work",
        "type": "user_task",
        "assignee": {"kind": "user", "key": "agent1"},
        "fields": {"resolution": "editable"},
    }
    nodes = [{"id": "start", "type": "start"}, handle, {"id": "end", "type": "end"}]
    review = flow("review", nodes, chain("start", "work", "end"), triggers=[{"on": "updated"}])
    app = await publish_flows(client, admin, [review])
    agent = people["agent1"]
    record = await app.record(agent)
    await patch(app, agent, record, amount=10)
    [first] = await instances(app)
    [task] = await app.tasks(agent)
    done = await app.complete(agent, task["id"], fields={"resolution": "fixed"})
    assert done.status_code == 200, done.text
    assert [(i["id"], i["status"]) for i in await instances(app)] == [(first["id"], "completed")]
