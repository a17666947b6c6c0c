"""Working tasks through the API: pools and claiming, transfer, add signer, return to an
earlier step, rejection, assignees that resolve to nobody, concurrent transitions."""

from __future__ import annotations

import pytest

from runtime.flows import service, store
from tests.runtime.flows.conftest import chain, flow, org, publish_flows

pytestmark = pytest.mark.asyncio


def task(node_id: str, assignee: dict, **extra) -> dict:
    return {"id": node_id, "type": "user_task", "assignee": assignee, **extra}


def linear(key: str, *tasks: dict, **extra) -> dict:
    nodes = [{"id": "start", "type": "start"}, *tasks, {"id": "end", "type": "end"}]
    return flow(key, nodes, chain("start", *[t["id"] for t in tasks], "end"), **extra)


async def test_pool_tasks_are_claimed_released_and_completed(
    client, admin, sessions, people
) -> None:
    await org(sessions, people)
    app = await publish_flows(
        client, admin, [linear("pool", task("work", {"kind": "group", "key": "team_a"}))]
    )
    record = await app.record(people["requester"])
    started = await app.start(people["requester"], "pool", record["id"])
    assert started.status_code == 201, started.text
    a1, a2 = people["agent1"], people["agent2"]
    assert await app.tasks(a1) == []
    offered = await app.tasks(a1, "group")
    assert [t["node"] for t in offered] == ["work"]
    assert [t["id"] for t in await app.tasks(a2, "group")] == [offered[0]["id"]]
    assert await app.tasks(people["manager1"], "group") == []
    task_id = offered[0]["id"]

    outsider = await client.post(
        f"/api/v1/tasks/{task_id}/claim", headers=people["manager1"].headers
    )
    assert outsider.status_code == 403 and outsider.json()["code"] == "task_not_yours"
    claimed = await client.post(f"/api/v1/tasks/{task_id}/claim", headers=a1.headers)
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["assignee_id"] == a1.id and "release" in claimed.json()["actions"]
    assert await app.tasks(a2, "group") == []
    taken = await client.post(f"/api/v1/tasks/{task_id}/claim", headers=a2.headers)
    assert taken.status_code == 409 and taken.json()["code"] == "task_taken"
    assert (await app.complete(a2, task_id)).status_code == 403

    released = await client.post(f"/api/v1/tasks/{task_id}/release", headers=a1.headers)
    assert released.status_code == 200 and released.json()["assignee_id"] is None
    # completing an offered task claims it
    done = await app.complete(a2, task_id)
    assert done.status_code == 200, done.text
    assert done.json()["assignee_id"] == a2.id and done.json()["completed_by"] == a2.id
    counts = (await client.get("/api/v1/tasks/counts", headers=a1.headers)).json()
    assert counts == {"mine": 0, "group": 0, "cc": 0, "overdue": 0}
    actions = [h["action"] for h in await app.history(admin, started.json()["id"])]
    assert actions == [
        "started",
        "task_created",
        "claimed",
        "released",
        "task_completed",
        "completed",
    ]


async def test_role_and_department_pools_and_heads(client, admin, sessions, people) -> None:
    await org(sessions, people)
    flows = [
        linear(
            "chain",
            task("by_role", {"kind": "role", "key": "agents"}),
            task("by_dept", {"kind": "department", "key": "hq", "include_children": True}),
            task("by_head", {"kind": "department_head"}),
            task("by_head_up", {"kind": "department_head", "up": 1}),
            task("by_starter", {"kind": "starter"}),
            task(
                "by_rule",
                {
                    "kind": "rule",
                    "rule": {
                        "if": [{">": [{"var": "record.amount"}, 100]}, "director", "manager2"]
                    },
                },
            ),
        )
    ]
    app = await publish_flows(client, admin, flows)
    record = await app.record(people["requester"], amount=500)
    started = await app.start(people["requester"], "chain", record["id"])
    assert started.status_code == 201, started.text
    instance = started.json()

    async def step(worker: str, box: str = "mine") -> None:
        items = await app.tasks(people[worker], box)
        assert len(items) == 1, (worker, box, items)
        done = await app.complete(people[worker], items[0]["id"])
        assert done.status_code == 200, done.text

    await step("agent2", "group")  # role pool
    await step("requester", "group")  # support is below hq
    await step("manager1")  # head of the record's department (support)
    await step("director")  # one level up: hq
    await step("requester")  # the starter
    await step("director")  # the rule: amount > 100
    assert (await app.instance(admin, instance["id"]))["status"] == "completed"


async def test_nobody_resolves_falls_back_then_admins(client, admin, sessions, people) -> None:
    await org(sessions, people)
    flows = [
        linear(
            "fallback",
            task(
                "empty_group",
                {"kind": "user", "key": "manager2"},
                fallback={"kind": "user", "key": "director"},
            ),
            task("nobody", {"kind": "field", "key": "agent"}),
        )
    ]
    app = await publish_flows(client, admin, flows)
    # manager2 is deactivated: the node's fallback takes the task
    async with sessions() as db:
        from runtime.auth.models import User

        (await db.get(User, people["manager2"].id)).is_active = False
        await db.commit()
    record = await app.record(people["requester"])
    started = await app.start(people["requester"], "fallback", record["id"])
    [first] = await app.tasks(people["director"])
    assert first["node"] == "empty_group"
    assert (await app.complete(people["director"], first["id"])).status_code == 200
    # the record has no agent: the administrators' pool takes it, never lost
    [second] = await app.tasks(admin, "group")
    assert second["node"] == "nobody" and second["candidates"] == [["admins", ""]]
    assert (await app.complete(admin, second["id"])).status_code == 200
    assert (await app.instance(admin, started.json()["id"]))["status"] == "completed"


async def test_transfer_add_signer_and_return(client, admin, sessions, people) -> None:
    await org(sessions, people)
    sign = task(
        "sign",
        {"kind": "role", "key": "managers"},
        countersign={"mode": "all"},
        return_to=["draft"],
    )
    app = await publish_flows(
        client, admin, [linear("approval", task("draft", {"kind": "starter"}), sign)]
    )
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "approval", record["id"])).json()["id"]
    [draft] = await app.tasks(people["requester"])

    moved = await client.post(
        f"/api/v1/tasks/{draft['id']}/transfer",
        json={"to": people["agent1"].id},
        headers=people["requester"].headers,
    )
    assert moved.status_code == 200, moved.text
    assert await app.tasks(people["requester"]) == []
    [draft] = await app.tasks(people["agent1"])
    bad = await client.post(
        f"/api/v1/tasks/{draft['id']}/transfer",
        json={"to": 999999},
        headers=people["agent1"].headers,
    )
    assert bad.status_code == 422
    assert (await app.complete(people["agent1"], draft["id"])).status_code == 200

    [m1] = await app.tasks(people["manager1"])
    added = await client.post(
        f"/api/v1/tasks/{m1['id']}/signers",
        json={"user": people["director"].id},
        headers=people["manager1"].headers,
    )
    assert added.status_code == 200, added.text
    assert added.json()["countersign"]["signers"] == [
        people["manager1"].id,
        people["manager2"].id,
        people["director"].id,
    ]
    twice = await client.post(
        f"/api/v1/tasks/{m1['id']}/signers",
        json={"user": people["director"].id},
        headers=people["manager1"].headers,
    )
    assert twice.status_code == 422 and twice.json()["reason_code"] == "already_signer"
    assert (await app.complete(people["manager1"], m1["id"], action="approve")).status_code == 200
    [d] = await app.tasks(people["director"])
    assert (await app.complete(people["director"], d["id"], action="approve")).status_code == 200

    # the last signer sends it back to the draft step instead
    [m2] = await app.tasks(people["manager2"])
    nowhere = await client.post(
        f"/api/v1/tasks/{m2['id']}/return",
        json={"target": "end"},
        headers=people["manager2"].headers,
    )
    assert nowhere.status_code == 422 and nowhere.json()["code"] == "flow_action_invalid"
    back = await client.post(
        f"/api/v1/tasks/{m2['id']}/return",
        json={"target": "draft", "comment": "more detail"},
        headers=people["manager2"].headers,
    )
    assert back.status_code == 200, back.text
    detail = await app.instance(admin, instance_id)
    assert [p["node"] for p in detail["position"]] == ["draft"]
    # the draft goes to the starter again (the transfer was for that task only)
    [again] = await app.tasks(people["requester"])
    assert again["node"] == "draft"
    history = await app.history(admin, instance_id)
    returned = [h for h in history if h["action"] == "returned"]
    assert returned[0]["data"] == {"to": "draft", "comment": "more detail"}
    assert returned[0]["actor_id"] == people["manager2"].id


async def test_reject_ends_the_instance(client, admin, sessions, people) -> None:
    await org(sessions, people)
    review = task("review", {"kind": "user", "key": "manager1"}, on_reject="end")
    app = await publish_flows(
        client, admin, [linear("review", review, task("after", {"kind": "starter"}))]
    )
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "review", record["id"])).json()["id"]
    [t] = await app.tasks(people["manager1"])
    assert (
        await app.complete(people["manager1"], t["id"], action="reject", comment="no budget")
    ).status_code == 200
    detail = await app.instance(people["requester"], instance_id)
    assert detail["status"] == "rejected" and detail["tasks"] == []
    assert await app.tasks(people["requester"]) == []


async def test_concurrent_transitions_conflict(client, admin, sessions, people) -> None:
    """Two transitions loaded from the same version: the second one to save gets 409."""
    await org(sessions, people)
    parallel = flow(
        "par",
        [
            {"id": "start", "type": "start"},
            {"id": "split", "type": "parallel_gateway"},
            task("a", {"kind": "user", "key": "agent1"}),
            task("b", {"kind": "user", "key": "agent2"}),
            {"id": "join", "type": "parallel_gateway"},
            {"id": "end", "type": "end"},
        ],
        chain("start", "split")
        + chain("split", "a", "join")
        + chain("split", "b", "join")[:1]
        + [
            {"id": "e_b_join", "source": "b", "target": "join"},
        ]
        + chain("join", "end"),
    )
    app = await publish_flows(client, admin, [parallel])
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "par", record["id"])).json()["id"]
    [ta] = await app.tasks(people["agent1"])
    [tb] = await app.tasks(people["agent2"])
    readers = app.client._transport.app.state.read_sessions  # type: ignore[attr-defined]
    async with readers() as read_a, readers() as read_b:
        run_a = await service.open_run(read_a, instance_id)
        run_b = await service.open_run(read_b, instance_id)
    seq_a = next(s for s, t in run_a.inst.tasks.items() if t.id == ta["id"])
    seq_b = next(s for s, t in run_b.inst.tasks.items() if t.id == tb["id"])
    async with sessions() as one:
        service.ENGINE.complete(run_a.inst, seq_a, user=people["agent1"].id)
        await service.settle(one, run_a)
        await one.commit()
    async with sessions() as two:
        service.ENGINE.complete(run_b.inst, seq_b, user=people["agent2"].id)
        with pytest.raises(store.Conflict):
            await service.settle(two, run_b)
        await two.rollback()
    # through the API the loser just retries with fresh state
    done = await app.complete(people["agent2"], tb["id"])
    assert done.status_code == 200, done.text
    assert (await app.instance(admin, instance_id))["status"] == "completed"


async def test_cached_assignees_follow_changes_to_users(client, admin, sessions, people) -> None:
    """Who an assignee names is cached under the organisation version; deactivating or
    renaming a user raises that version (a trigger on users), so the next task sees it."""
    from sqlalchemy import select

    from runtime.auth.models import User
    from runtime.db import utcnow
    from runtime.flows import assign
    from runtime.org.models import OrgVersion

    await org(sessions, people)
    steps = [task(name, {"kind": "user", "key": "manager2"}) for name in ("one", "two", "three")]
    app = await publish_flows(client, admin, [linear("cached", *steps)])
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "cached", record["id"])).json()["id"]
    [one] = await app.tasks(people["manager2"])
    assert (await app.complete(people["manager2"], one["id"])).status_code == 200
    [two] = await app.tasks(people["manager2"])
    assert two["node"] == "two"
    assert any(key[2:4] == ("user", "manager2") for key in assign._cache)

    async def version() -> int:
        async with sessions() as db:
            return (await db.execute(select(OrgVersion.version))).scalar_one()

    before = await version()
    async with sessions() as db:
        (await db.get(User, people["manager2"].id)).last_login_at = utcnow()  # not an org change
        await db.commit()
    assert await version() == before
    async with sessions() as db:
        (await db.get(User, people["manager2"].id)).is_active = False
        await db.commit()
    assert await version() > before
    assert (await app.complete(admin, two["id"])).status_code == 200
    # manager2 no longer resolves: the administrators' pool takes the step
    [three] = await app.tasks(admin, "group")
    assert three["node"] == "three" and three["candidates"] == [["admins", ""]]
    assert (await app.complete(admin, three["id"])).status_code == 200
    assert (await app.instance(admin, instance_id))["status"] == "completed"
    # active again under another name: "manager2" still names nobody
    async with sessions() as db:
        user = await db.get(User, people["manager2"].id)
        user.is_active, user.username = True, "manager2b"
        await db.commit()
    again = await app.start(people["requester"], "cached", record["id"])
    assert again.status_code == 201, again.text
    [first] = await app.tasks(admin, "group")
    assert first["node"] == "one" and await app.tasks(people["manager2"]) == []
