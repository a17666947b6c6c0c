"""SLA policies: due times in business hours per priority, stored with every write and
recomputed when the priority or status changes, paused while waiting on the customer,
warnings and breaches escalated once by the scan, the record's SLA read through its scope —
on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from engines.rules.calendar import load_calendar
from runtime.rules.models import SlaState
from runtime.rules.sla import escalate, refresh
from tests.runtime.rules.conftest import Desk

POLICY = {
    "key": "standard",
    "form": "ticket",
    "calendar": "standard_weekdays",
    "priority_field": "priority",
    "targets": {
        "urgent": {"first_response": {"hours": 1}, "resolution": {"hours": 4}},
        "*": {"first_response": {"hours": 8}, "resolution": {"hours": 40}},
    },
    "responded_when": {"!!": {"var": "record.assignee"}},
    "resolved_when": {"in": [{"var": "record.status"}, ["resolved", "closed"]]},
    "paused_when": {"==": [{"var": "record.status"}, "pending"]},
    "warn_before": {"minutes": 30},
    "on_warning": [{"type": "notify", "users": ["ann"], "title": "SLA soon: {{ record.subject }}"}],
    "on_breach": [
        {"type": "set_fields", "values": {"escalated": True}},
        {
            "type": "notify",
            "users": ["ann"],
            "title": "SLA {{ event.sla.target }} breached: {{ record.subject }}",
        },
    ],
}


#: An app calendar that always works: business time is clock time.
ALWAYS = {
    "key": "always",
    "timezone": "UTC",
    "weekly": {str(day): [["00:00", "24:00"]] for day in range(7)},
}


async def publish(desk: Desk, policy: dict | None = None) -> None:
    draft = await desk.app.draft()
    definition = {**draft["definition"], "sla": [policy or POLICY]}
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=desk.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await desk.app.publish()
    assert published.status_code == 200, published.text


async def sla(desk: Desk, record_id: int, who=None) -> dict:
    got = await desk.client.get(
        f"{desk.app.url('ticket')}/{record_id}/sla", headers=(who or desk.admin).headers
    )
    assert got.status_code == 200, got.text
    return dict(got.json())


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


async def test_due_times_follow_priority_and_business_hours(desk: Desk):
    await publish(desk)
    ticket = await desk.ticket(subject="printer", status="new", priority="normal")
    clock = await sla(desk, ticket["id"])
    calendar = load_calendar("standard_weekdays")
    started = datetime.fromisoformat(ticket["created_at"])
    assert clock["policy"] == "standard"
    assert at(clock["response"]["due_at"]) == calendar.add_business(
        started, timedelta(hours=8)
    ).astimezone(UTC)
    assert at(clock["resolution"]["due_at"]) == calendar.add_business(
        started, timedelta(hours=40)
    ).astimezone(UTC)

    urgent = await desk.patch(ticket, priority="urgent")
    assert urgent.status_code == 200, urgent.text
    clock = await sla(desk, ticket["id"])
    assert at(clock["response"]["due_at"]) == calendar.add_business(
        started, timedelta(hours=1)
    ).astimezone(UTC)
    warn = at(clock["response"]["warn_at"])
    assert warn == at(clock["response"]["due_at"]) - timedelta(minutes=30)

    # Assigned: responded; the response target is met, the resolution one still runs.
    assigned = await desk.patch(urgent.json(), assignee=desk.people["sam"].id)
    clock = await sla(desk, ticket["id"])
    assert clock["responded_at"] and clock["response"]["due_at"] is None
    assert clock["resolution"]["due_at"] is not None
    resolved = await desk.patch(assigned.json(), status="resolved")
    clock = await sla(desk, ticket["id"])
    assert clock["resolved_at"] and clock["resolution"]["due_at"] is None
    # Reopened: the resolution clock runs again from where it stood.
    await desk.patch(resolved.json(), status="open")
    clock = await sla(desk, ticket["id"])
    assert clock["resolved_at"] is None and clock["resolution"]["due_at"] is not None

    # The SLA reads through the record's scope.
    outsider = desk.people["fay"]
    await desk.app.own_records_only()  # republished: everyone works their own records only
    denied = await desk.client.get(
        f"{desk.app.url('ticket')}/{ticket['id']}/sla", headers=outsider.headers
    )
    assert denied.status_code == 404


async def test_waiting_on_the_customer_pauses_the_clock(desk: Desk, sessions):
    await publish(desk)
    ticket = await desk.ticket(subject="refund", status="open", priority="normal")
    before = await sla(desk, ticket["id"])
    waiting = await desk.patch(ticket, status="pending")
    clock = await sla(desk, ticket["id"])
    assert clock["paused"] is True and clock["resolution"]["due_at"] is None
    # Pretend the pause began earlier (a business day ago on the calendar).
    async with sessions() as db:
        await db.execute(
            update(SlaState)
            .where(SlaState.record_id == ticket["id"])
            .values(paused_since=datetime.now(UTC) - timedelta(days=7))
        )
        await db.commit()
    await desk.patch(waiting.json(), status="open")
    clock = await sla(desk, ticket["id"])
    assert clock["paused"] is False and clock["paused_seconds"] >= 5 * 8 * 3600 - 60
    assert at(clock["resolution"]["due_at"]) > at(before["resolution"]["due_at"])


async def test_warnings_and_breaches_escalate_once(desk: Desk, sessions, client):
    await publish(desk)
    ticket = await desk.ticket(subject="outage", status="new", priority="urgent")
    calm = await desk.ticket(subject="fine", status="new", priority="normal")
    clock = await sla(desk, ticket["id"])
    due = at(clock["response"]["due_at"])
    warn_at = at(clock["response"]["warn_at"])

    counts = await escalate(sessions, warn_at + timedelta(seconds=1))
    assert {k.split(":", 1)[1]: v for k, v in counts.items()} == {"standard:response:warning": 1}
    counts = await escalate(sessions, due + timedelta(seconds=1))
    assert {k.split(":", 1)[1]: v for k, v in counts.items()} == {"standard:response:breach": 1}
    assert await escalate(sessions, due + timedelta(minutes=5)) == {}  # once
    values = (await desk.get(ticket["id"]))["values"]
    assert values["escalated"] is True
    assert not (await desk.get(calm["id"]))["values"].get("escalated")
    assert (await sla(desk, ticket["id"]))["response"]["breached"] is True
    ann = desk.people["ann"]
    titles = [
        n["title"]
        for n in (await client.get("/api/v1/notifications", headers=ann.headers)).json()["items"]
    ]
    assert titles == ["SLA response breached: outage", "SLA soon: outage"]
    runs = await desk.runs(record_id=ticket["id"])
    assert [r["rule"] for r in runs if r["rule"].startswith("sla_")] == [
        "sla_standard_response_warning",
        "sla_standard_response_breach",
    ]


async def test_bad_policies_are_refused_at_publish(desk: Desk):
    bad = {
        **POLICY,
        "calendar": "nowhere",
        "priority_field": "subject",
        "targets": {"urgent": {"resolution": {"hours": 1}}},
        "resolved_when": {"==": [{"var": "record.nosuch"}, 1]},
        "on_breach": [{"type": "set_fields", "values": {"ghost": 1}}],
    }
    draft = await desk.app.draft()
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "sla": [bad]},
        },
        headers=desk.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await desk.app.publish()
    assert published.status_code == 422
    found = {(e["field"], e["code"]) for e in published.json()["errors"]}
    assert {
        ("sla[standard].calendar", "unknown_calendar"),
        ("sla[standard].priority_field", "not_a_select"),
        ("sla[standard].resolved_when", "unknown_var"),
        ("sla[standard].on_breach[0].values.ghost", "unknown_field"),
    } <= found


async def test_an_app_calendar_is_checked_at_save_and_used_by_its_policy(desk: Desk):
    overlapping = {
        "key": "shifts",
        "timezone": "Asia/Shanghai",
        "weekly": {"0": [["09:00", "12:00"], ["11:00", "18:00"]]},
    }
    draft = await desk.app.draft()
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "calendars": [overlapping]},
        },
        headers=desk.admin.headers,
    )
    assert saved.status_code == 422, saved.text
    assert any(e["field"].startswith("definition.calendars") for e in saved.json()["errors"])

    draft = await desk.app.draft()
    policy = {**POLICY, "calendar": "always"}
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "calendars": [ALWAYS], "sla": [policy]},
        },
        headers=desk.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    assert (await desk.app.publish()).status_code == 200
    ticket = await desk.ticket(subject="round the clock", status="new", priority="urgent")
    clock = await sla(desk, ticket["id"])
    started = datetime.fromisoformat(ticket["created_at"]).astimezone(UTC)
    assert at(clock["resolution"]["due_at"]) == started + timedelta(hours=4)


async def test_a_republished_policy_recomputes_open_clocks(desk: Desk, sessions):
    await publish(desk)
    ticket = await desk.ticket(subject="moved", status="new", priority="urgent")
    done = await desk.ticket(subject="done", status="resolved", priority="urgent")
    draft = await desk.app.draft()
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {
                **draft["definition"],
                "calendars": [ALWAYS],
                "sla": [{**POLICY, "calendar": "always"}],
            },
        },
        headers=desk.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    assert (await desk.app.publish()).status_code == 200
    assert await refresh(sessions) == 1  # the open one; a resolved clock stays as it was
    after = await sla(desk, ticket["id"])
    started = datetime.fromisoformat(ticket["created_at"]).astimezone(UTC)
    assert at(after["resolution"]["due_at"]) == started + timedelta(hours=4)
    assert await refresh(sessions) == 0
    assert (await sla(desk, done["id"]))["resolved_at"] is not None
