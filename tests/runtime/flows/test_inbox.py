"""The task inbox beyond working tasks: due dates and overdue tasks (flag, counts, filter),
and CC 抄送 (rows, the cc box, reading the instance but not working the task)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Account
from tests.runtime.flows.conftest import FlowApp, cc_rows, chain, flow, org, publish_flows
from tests.support.jobs import eventually

pytestmark = pytest.mark.asyncio


def task(node_id: str, assignee: dict[str, Any], **extra: Any) -> dict:
    return {"id": node_id, "type": "user_task", "assignee": assignee, **extra}


async def inbox(app: FlowApp, who: Account, **params: Any) -> list[dict]:
    got = await app.client.get("/api/v1/tasks", params=params, headers=who.headers)
    assert got.status_code == 200, got.text
    return got.json()["items"]


async def counts(app: FlowApp, who: Account) -> dict[str, int]:
    got = await app.client.get("/api/v1/tasks/counts", headers=who.headers)
    assert got.status_code == 200, got.text
    return got.json()


async def test_overdue_tasks_are_flagged_counted_and_filtered(
    client, admin, sessions, people
) -> None:
    agent = {"kind": "user", "key": "agent1"}
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "split", "type": "parallel_gateway"},
        task("late", agent, due="PT0.05S"),
        task("timely", agent, due="PT24H"),
        task("whenever", agent),
        {"id": "join", "type": "parallel_gateway"},
        {"id": "end", "type": "end"},
    ]
    edges = [
        *chain("start", "split"),
        *(e for n in ("late", "timely", "whenever") for e in chain("split", n, "join")),
        *chain("join", "end"),
    ]
    app = await publish_flows(client, admin, [flow("dues", nodes, edges)])
    record = await app.record(people["requester"])
    assert (await app.start(people["requester"], "dues", record["id"])).status_code == 201
    a1 = people["agent1"]

    async def late_is_overdue() -> list[dict]:
        items = await inbox(app, a1)
        return items if any(t["overdue"] for t in items) else []

    items = await eventually(late_is_overdue, message="the late task to be overdue")
    flags = {t["node"]: (t["overdue"], t["due_at"] is not None) for t in items}
    assert flags == {"late": (True, True), "timely": (False, True), "whenever": (False, False)}
    assert await counts(app, a1) == {"mine": 3, "group": 0, "cc": 0, "overdue": 1}
    assert [t["node"] for t in await inbox(app, a1, overdue="true")] == ["late"]
    assert sorted(t["node"] for t in await inbox(app, a1, overdue="false")) == [
        "timely",
        "whenever",
    ]
    # someone else's overdue task is not mine
    assert await counts(app, people["agent2"]) == {"mine": 0, "group": 0, "cc": 0, "overdue": 0}

    [late] = await inbox(app, a1, overdue="true")
    assert (await app.complete(a1, late["id"])).status_code == 200
    assert (await counts(app, a1))["overdue"] == 0
    assert await inbox(app, a1, overdue="true") == []
    # a task done late is no longer overdue, and the filter agrees with the flag
    [done] = await inbox(app, a1, box="done")
    assert done["node"] == "late" and done["overdue"] is False
    assert [t["node"] for t in await inbox(app, a1, box="done", overdue="false")] == ["late"]
    assert await inbox(app, a1, box="done", overdue="true") == []


async def test_cc_users_read_the_instance_but_cannot_work_the_task(
    client, admin, sessions, people
) -> None:
    await org(sessions, people)
    cc = [{"kind": "user", "key": "director"}, {"kind": "group", "key": "team_a"}]
    nodes = [
        {"id": "start", "type": "start"},
        task("review", {"kind": "user", "key": "manager1"}, cc=cc),
        {"id": "end", "type": "end"},
    ]
    app = await publish_flows(
        client, admin, [flow("copied", nodes, chain("start", "review", "end"))]
    )
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "copied", record["id"])).json()["id"]
    [review] = await app.tasks(people["manager1"])

    rows = await cc_rows(sessions, instance_id)
    assert {r.user_id for r in rows} == {people[n].id for n in ("director", "agent1", "agent2")}
    assert {r.task_id for r in rows} == {review["id"]}
    director = people["director"]
    assert [t["id"] for t in await inbox(app, director, box="cc")] == [review["id"]]
    assert [t["id"] for t in await inbox(app, people["agent2"], box="cc")] == [review["id"]]
    assert await inbox(app, people["manager1"], box="cc") == []
    assert await counts(app, director) == {"mine": 0, "group": 0, "cc": 1, "overdue": 0}

    # the CC'd user reads the instance and the task, but may not work it
    detail = await app.instance(director, instance_id)
    assert [t["id"] for t in detail["tasks"]] == [review["id"]]
    seen = await client.get(f"/api/v1/tasks/{review['id']}", headers=director.headers)
    assert seen.status_code == 200 and seen.json()["actions"] == []
    refused = await app.complete(director, review["id"])
    assert refused.status_code == 403 and refused.json()["code"] == "task_not_yours"
    outsider = await client.get(
        f"/api/v1/flow-instances/{instance_id}", headers=people["manager2"].headers
    )
    assert outsider.status_code == 404

    assert (await app.complete(people["manager1"], review["id"])).status_code == 200
    # still listed in the cc box (now completed), no longer counted
    [copied] = await inbox(app, director, box="cc")
    assert copied["status"] == "completed"
    assert (await counts(app, director))["cc"] == 0
    assert (await app.instance(director, instance_id))["status"] == "completed"


async def test_a_countersign_copies_once(client, admin, sessions, people) -> None:
    await org(sessions, people)
    sign = task(
        "sign",
        {"kind": "role", "key": "managers"},
        countersign={"mode": "all"},
        cc=[{"kind": "user", "key": "director"}],
    )
    nodes = [{"id": "start", "type": "start"}, sign, {"id": "end", "type": "end"}]
    app = await publish_flows(client, admin, [flow("signed", nodes, chain("start", "sign", "end"))])
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "signed", record["id"])).json()["id"]
    [row] = await cc_rows(sessions, instance_id)
    assert row.user_id == people["director"].id
    assert len(await inbox(app, people["director"], box="cc")) == 1
