"""Rules fired by flows: a task created or completed (in the transition's transaction), and
an open task past its due time (found by the scan, once per task) — on both databases."""

from __future__ import annotations

from datetime import timedelta

from runtime.db import utcnow
from runtime.rules.flow_events import scan_overdue
from runtime.rules.scan import run_scan  # noqa: F401  (the scan job is registered)
from tests.runtime.flows.conftest import chain
from tests.runtime.rules.conftest import Desk
from tests.runtime.rules.test_rules import rule

HANDLE = {
    "key": "handle",
    "name": {"en": "Handle"},
    "form": "ticket",
    "triggers": [{"on": "created"}],
    "nodes": [
        {"id": "start", "type": "start"},
        {
            "id": "work",
            "type": "user_task",
            "assignee": {"kind": "user", "key": "sam"},
            "due": "PT4H",
        },
        {"id": "end", "type": "end"},
    ],
    "edges": chain("start", "work", "end"),
}


async def test_task_events_fire_rules_on_the_flows_record(desk: Desk, client, sessions):
    await desk.rules(
        [
            rule(
                "on_task",
                {"on": "flow_event", "event": "task_created", "flow": "handle", "node": "work"},
                [
                    {"type": "set_fields", "values": {"status": "open"}},
                    {
                        "type": "notify",
                        "rule": {"var": "event.flow.assignee"},
                        "title": "New task on {{ record.subject }}",
                    },
                ],
            ),
            rule(
                "on_done",
                {"on": "flow_event", "event": "task_completed", "flow": "handle"},
                [{"type": "set_fields", "values": {"status": "resolved"}}],
            ),
            rule(
                "on_overdue",
                {"on": "flow_event", "event": "task_overdue", "flow": "handle"},
                [{"type": "set_fields", "values": {"escalated": True}}],
                condition={"!=": [{"var": "record.priority"}, "low"]},
            ),
        ],
        flows=[HANDLE],
    )
    sam = desk.people["sam"]
    ticket = await desk.ticket(subject="boiler", priority="high")
    assert (await desk.get(ticket["id"]))["values"]["status"] == "open"
    inbox = (await client.get("/api/v1/notifications", headers=sam.headers)).json()
    assert [n["title"] for n in inbox["items"]] == ["New task on boiler"]
    low = await desk.ticket(subject="drip", priority="low")

    assert all(v == 0 for v in (await scan_overdue(sessions, utcnow())).values())
    later = utcnow() + timedelta(hours=5)
    fired = await scan_overdue(sessions, later)
    assert list(fired.values()) == [1]  # the low-priority ticket's task fails the condition
    assert (await desk.get(ticket["id"]))["values"]["escalated"] is True
    assert not (await desk.get(low["id"]))["values"].get("escalated")
    assert not any((await scan_overdue(sessions, later)).values())  # once per task
    raised = await desk.patch(await desk.get(low["id"]), priority="normal")
    assert raised.status_code == 200, raised.text
    assert list((await scan_overdue(sessions, later)).values()) == [1]  # holds now: fires
    assert (await desk.get(low["id"]))["values"]["escalated"] is True

    tasks = await client.get("/api/v1/tasks", params={"box": "mine"}, headers=sam.headers)
    assert tasks.status_code == 200, tasks.text
    task = next(t for t in tasks.json()["items"] if t["record_id"] == ticket["id"])
    done = await client.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"action": "complete"}, headers=sam.headers
    )
    assert done.status_code == 200, done.text
    assert (await desk.get(ticket["id"]))["values"]["status"] == "resolved"
    runs = await desk.runs(record_id=ticket["id"])
    assert [r["rule"] for r in runs] == ["on_task", "on_overdue", "on_done"]


async def test_flow_event_rules_name_a_flow_of_their_form(desk: Desk):
    bad = [
        rule(
            "x",
            {"on": "flow_event", "event": "task_created", "flow": "nope"},
            [{"type": "set_fields", "values": {"status": "open"}}],
        )
    ]
    published = await desk.publish_rules(bad)
    assert published.status_code == 422
    assert ("rules[x].trigger.flow", "unknown_flow") in {
        (e["field"], e["code"]) for e in published.json()["errors"]
    }
