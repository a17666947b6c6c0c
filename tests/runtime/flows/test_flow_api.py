"""A ticket flow end to end through the API: triggers, assignment, field rights, inbox,
history, countersign and approval outcomes."""

from __future__ import annotations

import pytest

from tests.runtime.flows.conftest import chain, flow, org, publish_flows

pytestmark = pytest.mark.asyncio

HANDLE = {
    "id": "handle",
    "type": "user_task",
    "name": {"en": "Handle", "zh-CN": "处理"},
    "assignee": {"kind": "field", "key": "agent"},
    "fields": {"resolution": "required", "status": "editable", "secret": "hidden"},
    "due": "PT24H",
}
APPROVE = {
    "id": "approve",
    "type": "user_task",
    "name": {"en": "Approve"},
    "assignee": {"kind": "role", "key": "managers"},
    "countersign": {"mode": "all"},
}
CLOSE = {
    "id": "close",
    "type": "service_task",
    "action": {"kind": "set_fields", "values": {"status": "closed"}},
}


def lifecycle() -> dict:
    nodes = [
        {"id": "start", "type": "start"},
        HANDLE,
        APPROVE,
        {"id": "ok", "type": "exclusive_gateway", "default": "e_ok_end"},
        {"id": "end", "type": "end"},
        {"id": "rejected", "type": "end"},
    ]
    edges = [
        *chain("start", "handle", "approve", "ok"),
        {"id": "e_ok_end", "source": "ok", "target": "end"},
        {
            "id": "e_ok_rej",
            "source": "ok",
            "target": "rejected",
            "condition": {"==": [{"var": "outcome"}, "rejected"]},
        },
    ]
    return flow("lifecycle", nodes, edges, triggers=[{"on": "created"}])


async def test_ticket_lifecycle(client, admin, sessions, people) -> None:
    await org(sessions, people)
    app = await publish_flows(client, admin, [lifecycle()])
    record = await app.record(
        people["requester"], title="printer broken", agent=people["agent1"].id, secret="s3"
    )

    mine = await app.tasks(people["agent1"])
    assert [t["node"] for t in mine] == ["handle"]
    task = mine[0]
    assert task["record_id"] == record["id"] and task["due_at"] and not task["overdue"]
    assert await app.tasks(people["agent2"]) == []

    detail = (
        await client.get(f"/api/v1/tasks/{task['id']}", headers=people["agent1"].headers)
    ).json()
    assert detail["fields"]["resolution"] == "required"
    assert "secret" not in detail["record"] and detail["record"]["title"] == "printer broken"
    assert "complete" in detail["actions"]

    # field rights: a read-only field refused, a required field missing refused
    refused = await app.complete(
        people["agent1"], task["id"], fields={"title": "x", "status": "open"}
    )
    assert refused.status_code == 422, refused.text
    codes = {e["field"]: e["code"] for e in refused.json()["errors"]}
    assert codes == {"fields.title": "field_not_editable", "fields.resolution": "required"}
    # not yours
    other = await app.complete(people["agent2"], task["id"], fields={"resolution": "done"})
    assert other.status_code == 403 and other.json()["code"] == "task_not_yours"

    done = await app.complete(people["agent1"], task["id"], fields={"resolution": "replaced toner"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed"
    again = await app.complete(people["agent1"], task["id"], fields={"resolution": "x"})
    assert again.status_code == 409 and again.json()["code"] == "task_not_open"

    stored = (await client.get(f"{app.records}/{record['id']}", headers=admin.headers)).json()
    assert stored["values"]["resolution"] == "replaced toner"

    # countersign: both managers get a task; both must approve
    m1 = await app.tasks(people["manager1"])
    m2 = await app.tasks(people["manager2"])
    assert [t["node"] for t in m1] == ["approve"] and [t["node"] for t in m2] == ["approve"]
    first = await app.complete(people["manager1"], m1[0]["id"], action="approve")
    assert first.status_code == 200, first.text
    instance_id = m1[0]["instance_id"]
    assert (await app.instance(admin, instance_id))["status"] == "running"
    second = await app.complete(people["manager2"], m2[0]["id"], action="approve")
    assert second.status_code == 200, second.text
    final = await app.instance(people["requester"], instance_id)
    assert final["status"] == "completed" and final["position"] == []
    assert final["variables"]["outcome"] == "approved"

    actions = [h["action"] for h in await app.history(people["requester"], instance_id)]
    assert actions[0] == "started" and actions[-1] == "completed"
    assert actions.count("approve") == 2 and "countersign_decided" in actions

    done_box = await app.tasks(people["agent1"], "done")
    assert [t["node"] for t in done_box] == ["handle"]
    started = await client.get("/api/v1/flow-instances", headers=people["requester"].headers)
    assert [i["id"] for i in started.json()["items"]] == [instance_id]
