"""Rules that reach other records: ``update_related`` (a task writes its ticket, the ticket's
own rules then fire), records created by rules belonging to the triggering record's
department and owner, and group picks per field value — on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from runtime.records.models import RecordHistory
from tests.runtime.rules.conftest import Desk
from tests.runtime.rules.test_rules import rule


def task_rule(key: str, trigger: dict, actions: list[dict], condition=None) -> dict:
    return {**rule(key, trigger, actions, condition), "form": "task"}


async def task(desk: Desk, who=None, **values: Any) -> dict[str, Any]:
    created = await desk.client.post(
        desk.app.url("task"), json={"values": values}, headers=(who or desk.admin).headers
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


REOPEN = {
    "type": "update_related",
    "relation": "ticket",
    "condition": {"==": [{"var": "related.status"}, "resolved"]},
    "values": {
        "status": "open",
        "bumps": {"+": [{"if": [{"var": "related.bumps"}, {"var": "related.bumps"}, 0]}, 1]},
        "description": {"cat": ["reopened by: ", {"var": "record.title"}]},
    },
}


async def test_publish_refuses_bad_related_updates_in_the_callers_language(desk: Desk):
    bad = [
        task_rule(
            "a",
            {"on": "created"},
            [
                {"type": "update_related", "relation": "nope", "values": {"status": "open"}},
                {"type": "update_related", "relation": "title", "values": {"status": "open"}},
                {
                    "type": "update_related",
                    "relation": "ticket",
                    "condition": {"==": [{"var": "related.ghost"}, 1]},
                    "values": {
                        "ghost": 1,
                        "bumps": "many",
                        "status": "no_such_status",
                        "escalated": {"var": "record.title"},
                        "subject": {"var": "related.nothing"},
                    },
                },
            ],
        )
    ]
    draft = await desk.app.draft()
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "rules": bad},
        },
        headers=desk.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    draft = await desk.app.draft()
    published = await desk.client.post(
        f"{desk.app.base}/publish",
        json={"row_version": draft["row_version"]},
        headers={**desk.admin.headers, "Accept-Language": "zh-CN"},
    )
    assert published.status_code == 422, published.text
    errors = {(e["field"], e["code"]): e["message"] for e in published.json()["errors"]}
    where = "rules[a].actions"
    assert {
        (f"{where}[0].relation", "unknown_field"),
        (f"{where}[1].relation", "not_a_relation"),
        (f"{where}[2].condition", "unknown_var"),
        (f"{where}[2].values.ghost", "unknown_field"),
        (f"{where}[2].values.bumps", "type_mismatch"),
        (f"{where}[2].values.status", "type_mismatch"),
        (f"{where}[2].values.escalated", "type_mismatch"),
        (f"{where}[2].values.subject", "unknown_var"),
    } <= set(errors)
    assert (
        errors[(f"{where}[1].relation", "not_a_relation")] == "'title' 不是关联到其他记录的关联字段"
    )
    assert "类型不符" in errors[(f"{where}[2].values.bumps", "type_mismatch")]

    # Good ones publish (a ``var`` of a field of the same kind fits).
    fine = REOPEN | {"values": {**REOPEN["values"], "subject": {"var": "record.note"}}}
    await desk.rules([task_rule("b", {"on": "created"}, [fine])])


async def test_a_task_reopens_its_ticket_and_the_tickets_rules_fire(desk: Desk, sessions):
    await desk.rules(
        [
            task_rule("reopen", {"on": "created"}, [REOPEN]),
            # The ticket's own rule fires on the change the task's rule made.
            rule(
                "reopened",
                {"on": "field_changed", "field": "status", "from": "resolved", "to": "open"},
                [{"type": "set_fields", "values": {"escalated": True}}],
            ),
        ]
    )
    ticket = await desk.ticket(subject="printer", status="resolved", bumps=2)
    first = await task(desk, title="it broke again", ticket=ticket["id"])
    values = (await desk.get(ticket["id"]))["values"]
    assert values["status"] == "open" and values["bumps"] == 3 and values["escalated"] is True
    assert values["description"] == "reopened by: it broke again"

    # The ticket is open now: the condition on the related record does not hold.
    await task(desk, title="me too", ticket=ticket["id"])
    assert (await desk.get(ticket["id"]))["values"]["bumps"] == 3
    # No related record: nothing to do, the firing still succeeds.
    await task(desk, title="alone")

    runs = await desk.runs(rule="reopen")
    assert [r["status"] for r in runs] == ["done", "done", "done"]
    detail = runs[0]["actions"][0]["detail"]
    assert detail["form"] == "ticket" and detail["updated"][0]["record_id"] == ticket["id"]
    assert detail["updated"][0]["set"]["bumps"] == 3
    assert runs[1]["actions"][0]["detail"]["skipped"] == [
        {"record_id": ticket["id"], "why": "condition"}
    ]
    [chained] = await desk.runs(rule="reopened")
    assert chained["record_id"] == ticket["id"] and chained["depth"] == 1
    async with sessions() as db:
        history = (
            await db.execute(
                select(RecordHistory)
                .where(
                    RecordHistory.form_id == desk.app.ids["ticket"],
                    RecordHistory.record_id == ticket["id"],
                )
                .order_by(RecordHistory.id)
            )
        ).scalars()
        rows = [(h.action, h.source, h.actor_id) for h in history]
    assert rows[1] == ("update", "rule", None)  # the system, on the task rule's behalf
    assert first["values"]["title"] == "it broke again"


async def test_a_related_update_that_loops_back_is_bounded(desk: Desk):
    # A new task bumps its ticket; the ticket's change makes a new task, which bumps the ticket
    # again; the ticket's rule firing a second time on the ticket is the loop that stops it.
    await desk.rules(
        [
            task_rule(
                "touch_ticket",
                {"on": "created"},
                [
                    {
                        "type": "update_related",
                        "relation": "ticket",
                        "values": {"bumps": {"+": [{"var": "related.bumps"}, 1]}},
                    }
                ],
            ),
            rule(
                "touch_task",
                {"on": "updated"},
                [
                    {
                        "type": "create_record",
                        "form": "task",
                        "values": {"title": "again", "ticket": {"var": "record.id"}},
                    }
                ],
            ),
        ]
    )
    ticket = await desk.ticket(subject="loop", bumps=0)
    await task(desk, title="first", ticket=ticket["id"])
    assert (await desk.get(ticket["id"]))["values"]["bumps"] == 2
    assert [r["status"] for r in await desk.runs(rule="touch_task")] == ["done", "loop"]
    tasks = await desk.client.get(desk.app.url("task"), headers=desk.admin.headers)
    assert sorted(t["values"]["title"] for t in tasks.json()["items"]) == ["again", "first"]


async def test_records_created_by_rules_belong_to_the_triggering_records_department(
    desk: Desk, client, admin
):
    from tests.runtime.org.api import department, join

    sales = await department(client, admin, "SALES")
    sam = desk.people["sam"]
    await join(client, admin, sales["id"], sam.id, is_primary=True)
    await desk.rules(
        [
            rule(
                "follow_up",
                {"on": "created"},
                [
                    {
                        "type": "create_record",
                        "form": "task",
                        "values": {"title": "call back", "ticket": {"var": "record.id"}},
                    },
                    {
                        "type": "create_record",
                        "form": "task",
                        "values": {"title": "nobody's"},
                        "department": None,
                        "owner": None,
                    },
                ],
            )
        ]
    )
    ticket = await desk.ticket(sam, subject="from sales")
    assert ticket["department_id"] == sales["id"] and ticket["owner_id"] == sam.id
    tasks = await client.get(desk.app.url("task"), headers=admin.headers)
    found = {t["values"]["title"]: t for t in tasks.json()["items"]}
    assert found["call back"]["department_id"] == sales["id"]
    assert found["call back"]["owner_id"] == sam.id
    assert found["nobody's"]["department_id"] is None and found["nobody's"]["owner_id"] is None


async def test_a_group_is_picked_per_field_value(desk: Desk):
    await desk.rules(
        [
            rule(
                "route",
                {"on": "created"},
                [
                    {
                        "type": "assign",
                        "field": "assignee",
                        "group": {
                            "group": "support",
                            "per": "priority",
                            "groups": {"urgent": "finance", "high": "finance", "low": "ghosts"},
                        },
                    }
                ],
            )
        ]
    )
    people = {name: desk.people[name].id for name in ("fay", "fred", "sam", "sue")}
    urgent = await desk.ticket(subject="a", priority="urgent")
    high = await desk.ticket(subject="b", priority="high")
    normal = await desk.ticket(subject="c", priority="normal")
    plain = await desk.ticket(subject="d")
    assignees = [(await desk.get(t["id"]))["values"]["assignee"] for t in (urgent, high, normal)]
    assert assignees == [people["fay"], people["fred"], people["sam"]]
    assert (await desk.get(plain["id"]))["values"]["assignee"] == people["sue"]
    # A value whose group does not exist: the default group.
    low = await desk.ticket(subject="e", priority="low")
    assert (await desk.get(low["id"]))["values"]["assignee"] == people["sam"]
    runs = await desk.runs(rule="route")
    assert runs[0]["actions"][0]["detail"]["how"] == "round_robin in finance"
    assert runs[-1]["actions"][0]["detail"]["how"] == "round_robin in support"

    bad = await desk.publish_rules(
        [
            rule(
                "bad",
                {"on": "created"},
                [
                    {
                        "type": "assign",
                        "field": "assignee",
                        "group": {"group": "support", "per": "priority", "groups": {"x": "a"}},
                    },
                    {
                        "type": "assign",
                        "field": "assignee",
                        "group": {"group": "support", "per": "bumps", "groups": {"1": "a"}},
                    },
                ],
            )
        ]
    )
    assert bad.status_code == 422, bad.text
    found = {(e["field"], e["code"]) for e in bad.json()["errors"]}
    assert {
        ("rules[bad].actions[0].group.groups.x", "unknown_option"),
        ("rules[bad].actions[1].group.per", "group_field"),
    } <= found
