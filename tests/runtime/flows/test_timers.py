"""Timers fired by a real job worker: intermediate timers (a duration, a record's datetime),
boundary timers that interrupt a task (escalation) or run beside it, and a timer whose task
was completed first (its job then does nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runtime.config import Settings
from runtime.flows.service import TIMER_JOB
from tests.conftest import Account
from tests.runtime.flows.conftest import (
    FlowApp,
    chain,
    flow,
    jobs_named,
    org,
    publish_flows,
    timer_rows,
    working,
)
from tests.support.jobs import eventually

pytestmark = pytest.mark.asyncio

VISIT = {
    "key": "visit",
    "label": {"en": "Visit"},
    "fields": [
        {"id": 1, "key": "title", "type": "text", "label": {"en": "Title"}},
        {"id": 2, "key": "remind_at", "type": "datetime", "label": {"en": "Remind at"}},
    ],
}


def user_task(node_id: str, username: str, **extra: Any) -> dict:
    return {
        "id": node_id,
        "type": "user_task",
        "assignee": {"kind": "user", "key": username},
        **extra,
    }


def escalation(*, interrupting: bool, duration: str = "PT0.3S") -> dict:
    """agent1 handles the request; not handled within ``duration``, manager1 is asked."""
    nodes = [
        {"id": "start", "type": "start"},
        user_task("handle", "agent1"),
        {
            "id": "late",
            "type": "boundary_timer",
            "attached_to": "handle",
            "timer": {"duration": duration},
            "interrupting": interrupting,
        },
        user_task("escalate", "manager1"),
        {"id": "end", "type": "end"},
        {"id": "escalated", "type": "end"},
    ]
    edges = [*chain("start", "handle", "end"), *chain("late", "escalate", "escalated")]
    return flow("escalation", nodes, edges)


async def actions(app: FlowApp, instance_id: int) -> list[str]:
    return [h["action"] for h in await app.history(app.admin, instance_id)]


async def one_task(app: FlowApp, who: Account) -> dict:
    async def probe() -> list[dict]:
        return await app.tasks(who)

    [task] = await eventually(probe, message=f"a task for {who.username}")
    return task


async def test_intermediate_timer_fires_and_the_instance_moves_on(
    client, admin, sessions, settings: Settings, people
) -> None:
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "wait", "type": "timer", "timer": {"duration": "PT0.2S"}},
        user_task("after", "agent1"),
        {"id": "end", "type": "end"},
    ]
    app = await publish_flows(
        client, admin, [flow("wait", nodes, chain(*(n["id"] for n in nodes)))]
    )
    record = await app.record(people["requester"])
    started = await app.start(people["requester"], "wait", record["id"])
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    assert [p["node"] for p in started.json()["position"]] == ["wait"]
    [timer] = await timer_rows(sessions, instance_id)
    assert (timer.node, timer.status, timer.boundary_of) == ("wait", "pending", None)
    [job] = await jobs_named(sessions, TIMER_JOB)
    assert job.status == "queued" and job.run_at == timer.due_at

    async with working(sessions, settings):
        detail = await app.until(instance_id, lambda d: d["tasks"], "the task after the timer")
    assert [p["node"] for p in detail["position"]] == ["after"]
    assert [(t.status, t.node) for t in await timer_rows(sessions, instance_id)] == [
        ("fired", "wait")
    ]
    [job] = await jobs_named(sessions, TIMER_JOB)
    assert job.status == "done" and job.result == {"fired": True, "status": "running"}
    assert await actions(app, instance_id) == ["started", "timer_fired", "task_created"]
    task = await one_task(app, people["agent1"])
    assert (await app.complete(people["agent1"], task["id"])).status_code == 200
    assert (await app.instance(admin, instance_id))["status"] == "completed"


async def test_timer_at_a_record_datetime(
    client, admin, sessions, settings: Settings, people
) -> None:
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "remind", "type": "timer", "timer": {"at": {"var": "record.remind_at"}}},
        {"id": "end", "type": "end"},
    ]
    reminder = {**flow("remind", nodes, chain("start", "remind", "end")), "form": "visit"}
    app = await publish_flows(client, admin, [reminder], forms=[VISIT])
    remind_at = (datetime.now(UTC) + timedelta(seconds=0.5)).replace(microsecond=0)
    created = await client.post(
        app.app.url("visit"),
        json={"values": {"title": "v", "remind_at": remind_at.isoformat()}},
        headers=people["requester"].headers,
    )
    assert created.status_code == 201, created.text
    started = await app.start(people["requester"], "remind", created.json()["id"])
    assert started.status_code == 201, started.text
    instance_id = started.json()["id"]
    [timer] = await timer_rows(sessions, instance_id)
    assert timer.due_at == remind_at and timer.status == "pending"

    async with working(sessions, settings):
        await app.until(instance_id, lambda d: d["status"] == "completed", "the reminder")
    [job] = await jobs_named(sessions, TIMER_JOB)
    assert job.run_at == remind_at and job.result == {"fired": True, "status": "completed"}


async def test_interrupting_boundary_timer_escalates(
    client, admin, sessions, settings: Settings, people
) -> None:
    await org(sessions, people)
    app = await publish_flows(client, admin, [escalation(interrupting=True)])
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "escalation", record["id"])).json()["id"]
    handle = await one_task(app, people["agent1"])
    [timer] = await timer_rows(sessions, instance_id)
    assert (timer.node, timer.status) == ("late", "pending") and timer.boundary_of is not None

    async with working(sessions, settings):
        escalate = await one_task(app, people["manager1"])
    assert escalate["node"] == "escalate"
    # the task not handled in time is cancelled; agent1 can no longer work it
    assert await app.tasks(people["agent1"]) == []
    cancelled = await client.get(f"/api/v1/tasks/{handle['id']}", headers=admin.headers)
    assert cancelled.json()["status"] == "cancelled"
    late = await app.complete(people["agent1"], handle["id"])
    assert late.status_code == 409 and late.json()["code"] == "task_not_open"
    assert [t.status for t in await timer_rows(sessions, instance_id)] == ["fired"]
    detail = await app.instance(admin, instance_id)
    assert [p["node"] for p in detail["position"]] == ["escalate"]

    assert (await app.complete(people["manager1"], escalate["id"])).status_code == 200
    assert (await app.instance(admin, instance_id))["status"] == "completed"
    assert await actions(app, instance_id) == [
        "started",
        "task_created",
        "timer_fired",
        "task_created",
        "task_completed",
        "completed",
    ]


async def test_non_interrupting_boundary_timer_runs_beside_the_task(
    client, admin, sessions, settings: Settings, people
) -> None:
    await org(sessions, people)
    app = await publish_flows(client, admin, [escalation(interrupting=False)])
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "escalation", record["id"])).json()["id"]
    handle = await one_task(app, people["agent1"])

    async with working(sessions, settings):
        escalate = await one_task(app, people["manager1"])
    # the original task stays open beside the escalation path
    assert [t["id"] for t in await app.tasks(people["agent1"])] == [handle["id"]]
    detail = await app.instance(admin, instance_id)
    assert [p["node"] for p in detail["position"]] == ["escalate", "handle"]
    assert [t.status for t in await timer_rows(sessions, instance_id)] == ["fired"]

    assert (await app.complete(people["manager1"], escalate["id"])).status_code == 200
    assert (await app.instance(admin, instance_id))["status"] == "running"
    assert (await app.complete(people["agent1"], handle["id"])).status_code == 200
    assert (await app.instance(admin, instance_id))["status"] == "completed"


async def test_task_completed_before_its_timer_cancels_the_timer(
    client, admin, sessions, settings: Settings, people
) -> None:
    await org(sessions, people)
    app = await publish_flows(client, admin, [escalation(interrupting=True, duration="PT0.2S")])
    record = await app.record(people["requester"])
    instance_id = (await app.start(people["requester"], "escalation", record["id"])).json()["id"]
    handle = await one_task(app, people["agent1"])
    assert (await app.complete(people["agent1"], handle["id"])).status_code == 200
    assert (await app.instance(admin, instance_id))["status"] == "completed"
    assert [t.status for t in await timer_rows(sessions, instance_id)] == ["cancelled"]

    # the timer's job still comes due, finds the timer cancelled, and does nothing
    async with working(sessions, settings):

        async def job_done() -> bool:
            return [j.status for j in await jobs_named(sessions, TIMER_JOB)] == ["done"]

        await eventually(job_done, message="the timer job")
    [job] = await jobs_named(sessions, TIMER_JOB)
    assert job.result == {"fired": False, "status": "completed"}
    assert await app.tasks(people["manager1"]) == []
    assert "timer_fired" not in await actions(app, instance_id)
    assert [t.status for t in await timer_rows(sessions, instance_id)] == ["cancelled"]
