"""Time-triggered rules: a set-based scan finds the records that are due, fires each once per
period (a new value of the field starts a new one), skips records whose condition no longer
holds, and runs on the workers' schedule — on both databases. The first scenario of issue 7:
a complaint not closed within 24 hours is escalated and its department head notified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from runtime.config import Settings
from runtime.db import utcnow
from runtime.jobs.models import Job
from runtime.jobs.worker import RULES_SCAN_JOB
from runtime.rules.scan import scan
from tests.runtime.flows.conftest import working
from tests.runtime.org.api import department, join
from tests.runtime.rules.conftest import Desk
from tests.runtime.rules.test_rules import rule
from tests.support.jobs import eventually

ESCALATE = rule(
    "escalate_24h",
    {"on": "time", "field": "created_at", "after": {"hours": 24}},
    [
        {"type": "set_fields", "values": {"escalated": True, "priority": "urgent"}},
        {
            "type": "notify",
            "department_head": True,
            "title": "Not closed in 24 h: {{ record.subject }}",
        },
    ],
    condition={
        "and": [
            {"in": ["complaint", {"var": "record.subject"}]},
            {"!": {"in": [{"var": "record.status"}, ["resolved", "closed"]]}},
        ]
    },
)


async def test_unclosed_complaints_escalate_after_24_hours(desk: Desk, sessions, client, admin):
    head = desk.people["ann"]
    sales = await department(client, admin, "SALES")
    await join(client, admin, sales["id"], head.id, position="head", is_primary=True)
    await desk.rules([ESCALATE])
    agent = desk.people["sam"]  # in SALES: the tickets he opens are SALES tickets
    await join(client, admin, sales["id"], agent.id, is_primary=True)
    late = await desk.ticket(agent, subject="complaint: late parcel", status="open")
    done = await desk.ticket(agent, subject="complaint: wrong size", status="open")
    other = await desk.ticket(agent, subject="question", status="open")
    closed = await desk.patch(done, status="closed")
    assert closed.status_code == 200

    assert all(v == 0 for v in (await scan(sessions, utcnow() + timedelta(hours=23))).values())
    fired = await scan(sessions, utcnow() + timedelta(hours=25))
    assert list(fired.values()) == [1]
    values = (await desk.get(late["id"]))["values"]
    assert values["escalated"] is True and values["priority"] == "urgent"
    for untouched in (done, other):
        assert not (await desk.get(untouched["id"]))["values"].get("escalated")
    inbox = (await client.get("/api/v1/notifications", headers=head.headers)).json()
    assert [n["title"] for n in inbox["items"]] == ["Not closed in 24 h: complaint: late parcel"]
    [run] = await desk.runs(rule="escalate_24h")
    assert run["trigger"] == "time" and run["status"] == "done"

    # Once per period: a later pass finds nothing more to do.
    assert list((await scan(sessions, utcnow() + timedelta(hours=48))).values()) == [0]
    assert len(await desk.runs(rule="escalate_24h")) == 1


async def test_a_new_field_value_starts_a_new_period(desk: Desk, sessions):
    await desk.rules(
        [
            rule(
                "overdue",
                {"on": "time", "field": "due_at", "after": {"minutes": 30}},
                [{"type": "set_fields", "values": {"bumps": {"+": [{"var": "record.bumps"}, 1]}}}],
                condition={"!=": [{"var": "record.status"}, "closed"]},
            )
        ]
    )
    now = datetime.now(UTC).replace(microsecond=0)
    ticket = await desk.ticket(subject="t", bumps=0, due_at=(now - timedelta(hours=2)).isoformat())
    never = await desk.ticket(subject="no due date", bumps=0)
    await scan(sessions, now)
    await scan(sessions, now)
    record = await desk.get(ticket["id"])
    assert record["values"]["bumps"] == 1
    assert (await desk.get(never["id"]))["values"]["bumps"] == 0
    moved = await desk.patch(record, due_at=(now - timedelta(hours=1)).isoformat())
    assert moved.status_code == 200, moved.text
    await scan(sessions, now)
    assert (await desk.get(ticket["id"]))["values"]["bumps"] == 2
    later = (now + timedelta(hours=1)).isoformat()
    future = await desk.patch(await desk.get(ticket["id"]), due_at=later)
    assert future.status_code == 200
    await scan(sessions, now)
    assert (await desk.get(ticket["id"]))["values"]["bumps"] == 2  # not due yet

    # A switched-off rule is not scanned.
    off = await desk.client.put(
        f"{desk.rules_url}/overdue/enabled", json={"enabled": False}, headers=desk.admin.headers
    )
    assert off.status_code == 200
    assert list((await scan(sessions, now + timedelta(hours=3))).values()) == [0]


async def test_workers_scan_on_their_schedule(desk: Desk, sessions, settings: Settings):
    await desk.rules(
        [
            rule(
                "overdue",
                {"on": "time", "field": "due_at", "after": {"minutes": 1}},
                [{"type": "set_fields", "values": {"escalated": True}}],
            )
        ]
    )
    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    ticket = await desk.ticket(subject="t", due_at=past)
    async with working(sessions, settings, rule_scan_seconds=1):

        async def escalated() -> bool:
            return bool((await desk.get(ticket["id"]))["values"].get("escalated"))

        await eventually(escalated, message="the scan to escalate the ticket")
    async with sessions() as db:
        scans = (await db.execute(select(Job).where(Job.name == RULES_SCAN_JOB))).scalars().all()
    assert scans and all(j.status in ("done", "queued") for j in scans)


async def test_time_rules_are_checked_at_publish(desk: Desk):
    bad = [
        rule(
            "a",
            {"on": "time", "field": "subject", "after": {"hours": 1}},
            [{"type": "set_fields", "values": {"escalated": True}}],
        ),
        rule(
            "b",
            {"on": "time", "field": "due_at", "after": {"hours": 1}},
            [{"type": "set_fields", "values": {"escalated": True}}],
            condition={"==": [{"var": "changes.status"}, 1]},
        ),
    ]
    published = await desk.publish_rules(bad)
    assert published.status_code == 422, published.text
    found = {(e["field"], e["code"]) for e in published.json()["errors"]}
    assert ("rules[a].trigger.field", "not_a_datetime") in found
    assert ("rules[b].condition", "not_scannable") in found
    zero = [
        rule(
            "c",
            {"on": "time", "field": "due_at", "after": {"minutes": 0}},
            [{"type": "set_fields", "values": {"escalated": True}}],
        )
    ]
    assert (await desk.publish_rules(zero)).status_code == 422


async def test_scheduled_rules_fire_once_per_occurrence_on_every_matching_record(
    desk: Desk, sessions
):
    await desk.rules(
        [
            rule(
                "morning_reminder",
                {"on": "schedule", "cron": "0 9 * * MON-FRI", "timezone": "Asia/Shanghai"},
                [
                    {
                        "type": "set_fields",
                        "values": {"bumps": {"+": [{"var": "record.bumps"}, 1]}},
                    },
                    {"type": "comment", "body": "Still waiting: {{ record.subject }}"},
                ],
                condition={"==": [{"var": "record.status"}, "pending"]},
            )
        ]
    )
    waiting = [await desk.ticket(subject=f"w{i}", status="pending", bumps=0) for i in range(3)]
    moving = await desk.ticket(subject="m", status="open", bumps=0)
    # Wednesday 2026-12-02 09:30 in Shanghai is 01:30 UTC. A day and an hour earlier
    # (Tuesday 08:30) the latest occurrence is Monday's 09:00, within the day: caught up.
    wednesday = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    assert list((await scan(sessions, wednesday - timedelta(days=1, hours=1))).values()) == [3]
    assert list((await scan(sessions, wednesday)).values()) == [3]
    assert list((await scan(sessions, wednesday + timedelta(minutes=20))).values()) == [0]
    for ticket in waiting:
        assert (await desk.get(ticket["id"]))["values"]["bumps"] == 2
    assert (await desk.get(moving["id"]))["values"]["bumps"] == 0
    saturday = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)  # 04:00 Saturday in Shanghai: …
    assert list((await scan(sessions, saturday)).values()) == [3]  # … but Friday's, caught up
    sunday = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # no occurrence at the weekend, and
    assert list((await scan(sessions, sunday)).values()) == [0]  # Friday's is over a day ago
    bad = [rule("x", {"on": "schedule", "cron": "61 * * * *"}, [{"type": "comment", "body": "x"}])]
    published = await desk.publish_rules(bad)
    assert published.status_code == 422, published.text


async def test_business_hours_delays_count_in_the_calendar(desk: Desk, sessions):
    await desk.rules(
        [
            rule(
                "follow_up",
                {
                    "on": "time",
                    "field": "due_at",
                    "after": {"business_hours": 2},
                    "calendar": "standard_weekdays",
                },
                [{"type": "set_fields", "values": {"escalated": True}}],
            )
        ]
    )
    friday = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # Mon-Fri 09-17 UTC: 1 h left that day
    ticket = await desk.ticket(subject="t", due_at=friday.isoformat())
    for now in (friday + timedelta(hours=3), datetime(2026, 12, 7, 9, 59, tzinfo=UTC)):
        assert list((await scan(sessions, now)).values()) == [0]  # the weekend does not count
    assert list((await scan(sessions, datetime(2026, 12, 7, 10, 1, tzinfo=UTC))).values()) == [1]
    assert (await desk.get(ticket["id"]))["values"]["escalated"] is True
    both = [
        rule(
            "x",
            {"on": "time", "field": "due_at", "after": {"hours": 1, "business_hours": 1}},
            [{"type": "set_fields", "values": {"escalated": True}}],
        )
    ]
    assert (await desk.publish_rules(both)).status_code == 422
