"""Call activities: a parent flow starts a child flow with mapped inputs, waits for the
child's user task, and continues with its outputs; cancelling the parent (or a boundary
timer on the call) cancels the running child; a child that ends badly fails its parent."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import Settings
from tests.conftest import Account
from tests.runtime.flows.conftest import FlowApp, chain, flow, org, publish_flows, working
from tests.support.jobs import eventually

pytestmark = pytest.mark.asyncio


def approval() -> dict:
    """The child: manager1 decides, a script sizes the request from the input ``limit``."""
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "decide", "type": "user_task", "assignee": {"kind": "user", "key": "manager1"}},
        {
            "id": "size",
            "type": "script",
            "assign": {"verdict": {"if": [{">": [{"var": "limit"}, 100]}, "big", "small"]}},
        },
        {"id": "end", "type": "end"},
    ]
    child = flow("approval", nodes, chain("start", "decide", "size", "end"))
    child["form"] = None
    return child


def order(boundary: dict | None = None) -> dict:
    """The parent: calls ``approval``, then the starter confirms."""
    call = {
        "id": "review",
        "type": "call_activity",
        "flow": "approval",
        "inputs": {"limit": {"var": "record.amount"}, "title": {"var": "record.title"}},
        "outputs": {
            "decision": {"var": "verdict"},
            "note": {"var": "note"},
            "child_status": {"var": "status"},
        },
    }
    nodes: list[dict[str, Any]] = [
        {"id": "start", "type": "start"},
        call,
        {"id": "confirm", "type": "user_task", "assignee": {"kind": "starter"}},
        {"id": "end", "type": "end"},
    ]
    edges = chain("start", "review", "confirm", "end")
    if boundary is not None:
        nodes += [
            boundary,
            {"id": "chase", "type": "user_task", "assignee": {"kind": "user", "key": "director"}},
            {"id": "chased", "type": "end"},
        ]
        edges += chain(boundary["id"], "chase", "chased")
    return flow("order", nodes, edges)


async def start_order(app: FlowApp, who: Account, amount: int) -> tuple[int, int]:
    record = await app.record(who, title="desk", amount=amount)
    started = await app.start(who, "order", record["id"])
    assert started.status_code == 201, started.text
    parent = started.json()
    assert parent["status"] == "running" and [p["node"] for p in parent["position"]] == ["review"]
    [child_id] = parent["children"]
    return parent["id"], child_id


async def test_parent_waits_for_the_child_and_takes_its_outputs(
    client, admin, sessions, people
) -> None:
    await org(sessions, people)
    app = await publish_flows(client, admin, [order(), approval()])
    requester = people["requester"]
    parent_id, child_id = await start_order(app, requester, 500)

    child = await app.instance(admin, child_id)
    assert child["parent_id"] == parent_id and child["flow"] == "approval"
    assert child["variables"] == {"limit": 500, "title": "desk"}
    assert child["started_by"] == requester.id and child["record_id"] is None
    [decide] = await app.tasks(people["manager1"])
    assert decide["instance_id"] == child_id
    assert await app.tasks(requester) == []  # the parent waits

    done = await app.complete(people["manager1"], decide["id"], variables={"note": "fine"})
    assert done.status_code == 200, done.text
    assert (await app.instance(admin, child_id))["status"] == "completed"
    parent = await app.instance(requester, parent_id)
    assert parent["status"] == "running"
    assert [p["node"] for p in parent["position"]] == ["confirm"]
    assert parent["variables"] == {
        "decision": "big",
        "note": "fine",
        "child_status": "completed",
    }
    history = await app.history(admin, parent_id)
    [call_done] = [h for h in history if h["action"] == "call_done"]
    assert call_done["node"] == "review"
    assert call_done["data"]["outputs"] == parent["variables"]

    [confirm] = await app.tasks(requester)
    assert (await app.complete(requester, confirm["id"])).status_code == 200
    assert (await app.instance(requester, parent_id))["status"] == "completed"


async def test_cancelling_the_parent_cancels_the_running_child(
    client, admin, sessions, people
) -> None:
    await org(sessions, people)
    app = await publish_flows(client, admin, [order(), approval()])
    requester = people["requester"]
    parent_id, child_id = await start_order(app, requester, 5)
    [decide] = await app.tasks(people["manager1"])

    cancelled = await client.post(
        f"/api/v1/flow-instances/{parent_id}/cancel",
        json={"reason": "not needed"},
        headers=requester.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    child = await app.instance(admin, child_id)
    assert child["status"] == "cancelled" and child["tasks"] == [] and child["position"] == []
    assert await app.tasks(people["manager1"]) == []
    late = await app.complete(people["manager1"], decide["id"])
    assert late.status_code == 409, late.text
    child_actions = [h["action"] for h in await app.history(admin, child_id)]
    assert child_actions[-1] == "cancelled"


async def test_a_cancelled_child_fails_its_parent(client, admin, sessions, people) -> None:
    await org(sessions, people)
    app = await publish_flows(client, admin, [order(), approval()])
    requester = people["requester"]
    parent_id, child_id = await start_order(app, requester, 5)
    # the child runs for the parent's starter, who may cancel it directly
    cancelled = await client.post(
        f"/api/v1/flow-instances/{child_id}/cancel", json={}, headers=requester.headers
    )
    assert cancelled.status_code == 200, cancelled.text
    parent = await app.instance(admin, parent_id)
    assert parent["status"] == "failed"
    assert parent["error"]["code"] == "call_failed" and parent["error"]["node"] == "review"


async def test_boundary_timer_on_a_call_cancels_the_child(
    client, admin, sessions, settings: Settings, people
) -> None:
    await org(sessions, people)
    boundary = {
        "id": "too_slow",
        "type": "boundary_timer",
        "attached_to": "review",
        "timer": {"duration": "PT0.2S"},
    }
    app = await publish_flows(client, admin, [order(boundary), approval()])
    parent_id, child_id = await start_order(app, people["requester"], 5)

    async with working(sessions, settings):

        async def chase() -> list[dict]:
            return await app.tasks(people["director"])

        [task] = await eventually(chase, message="the chase task")
    assert task["instance_id"] == parent_id and task["node"] == "chase"
    child = await app.instance(admin, child_id)
    assert child["status"] == "cancelled"
    assert await app.tasks(people["manager1"]) == []
    parent = await app.instance(admin, parent_id)
    assert parent["status"] == "running" and [p["node"] for p in parent["position"]] == ["chase"]
