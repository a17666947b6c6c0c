"""Every kind of rule action end to end, and the three scenarios of issue 7: an unresolved
complaint escalated to the department head (the escalation part; its 24-hour timer belongs to
time-based rules), a ticket mentioning 发票 going to the finance group, and a satisfaction
survey mailed once a ticket is resolved (real SMTP server on localhost) — on both databases."""

from __future__ import annotations

from email.header import decode_header, make_header

from sqlalchemy import select

from runtime.config import Settings
from runtime.flows.models import FlowInstance
from runtime.jobs.models import Job
from runtime.net.webhooks import signing_secret, verify_signature
from runtime.rules.actions import ACTION_JOB
from tests.runtime.flows.conftest import chain, working
from tests.runtime.rules.conftest import Desk
from tests.runtime.rules.test_rules import rule
from tests.support.jobs import eventually
from tests.support.servers import http_server, smtp_server

INVOICE_ROUTE = {
    "type": "assign",
    "field": "assignee",
    "keywords": [{"words": ["发票", "invoice"], "group": {"group": "finance"}}],
    "search": ["subject", "description"],
}


async def test_invoice_tickets_go_to_the_finance_group_in_turn(desk: Desk):
    await desk.rules(
        [
            rule("invoices", {"on": "created"}, [INVOICE_ROUTE]),
            rule(
                "others",
                {"on": "created"},
                [
                    {
                        "type": "assign",
                        "field": "assignee",
                        "keep_existing": True,
                        "group": {
                            "group": "support",
                            "strategy": "least_open",
                            "open": {"in": [{"var": "status"}, ["new", "open"]]},
                        },
                    }
                ],
            ),
        ]
    )
    fay, fred = desk.people["fay"].id, desk.people["fred"].id
    sam, sue = desk.people["sam"].id, desk.people["sue"].id
    first = await desk.ticket(subject="请开发票", status="new")
    second = await desk.ticket(subject="need an INVOICE copy", status="new")
    third = await desk.ticket(subject="x", description="发票抬头错了", status="new")
    assignees = [(await desk.get(t["id"]))["values"]["assignee"] for t in (first, second, third)]
    assert assignees == [fay, fred, fay]  # round robin within the group

    # Not about invoices: the support member with the fewest open tickets.
    a = await desk.ticket(subject="printer", status="open")
    b = await desk.ticket(subject="mouse", status="open")
    assert [(await desk.get(t["id"]))["values"]["assignee"] for t in (a, b)] == [sam, sue]
    closed = await desk.patch(await desk.get(a["id"]), status="closed")
    assert closed.status_code == 200
    c = await desk.ticket(subject="keyboard", status="open")
    assert (await desk.get(c["id"]))["values"]["assignee"] == sam  # sam has 0 open now
    runs = await desk.runs(rule="invoices", record_id=first["id"])
    assert runs[0]["actions"][0]["detail"]["how"] == "keyword 0"


async def test_complaints_escalate_to_the_department_head_with_a_notification(
    desk: Desk, client, admin
):
    from tests.runtime.org.api import department, join

    head = desk.people["ann"]
    sales = await department(client, admin, "SALES")
    await join(client, admin, sales["id"], head.id, position="head", is_primary=True)
    await desk.rules(
        [
            rule(
                "escalate",
                {"on": "field_changed", "field": "priority", "to": "urgent"},
                [
                    {"type": "set_fields", "values": {"escalated": True}},
                    {"type": "assign", "field": "assignee", "user": "ann"},
                    {
                        "type": "notify",
                        "rule": {"var": "record.assignee"},
                        "group": "finance",
                        "title": "Escalated: {{ record.subject }}",
                        "body": "Ticket #{{ record.id }} needs you",
                    },
                ],
                condition={"in": ["complaint", {"var": "record.subject"}]},
            )
        ]
    )
    ticket = await desk.ticket(subject="complaint about delivery", priority="normal")
    changed = await desk.patch(ticket, priority="urgent")
    assert changed.status_code == 200, changed.text
    values = (await desk.get(ticket["id"]))["values"]
    assert values["escalated"] is True and values["assignee"] == head.id

    inbox = await client.get("/api/v1/notifications", headers=head.headers)
    assert inbox.status_code == 200, inbox.text
    [note] = inbox.json()["items"]
    assert note["title"] == "Escalated: complaint about delivery"
    assert note["subject"]["record_id"] == ticket["id"] and inbox.json()["unread"] == 1
    fay = desk.people["fay"]
    assert (await client.get("/api/v1/notifications", headers=fay.headers)).json()["unread"] == 1
    read = await client.post(f"/api/v1/notifications/{note['id']}/read", headers=head.headers)
    assert read.status_code == 204
    assert (await client.get("/api/v1/notifications", headers=head.headers)).json()["unread"] == 0
    other = await client.post(f"/api/v1/notifications/{note['id']}/read", headers=fay.headers)
    assert other.status_code == 404  # someone else's notification
    all_read = await client.post("/api/v1/notifications/read-all", headers=fay.headers)
    assert all_read.status_code == 204
    assert (await client.get("/api/v1/notifications", headers=fay.headers)).json()["unread"] == 0


async def test_a_satisfaction_survey_is_mailed_once_when_a_ticket_is_resolved(
    desk: Desk, sessions, settings: Settings
):
    survey = {
        "type": "send_mail",
        "to": {"var": "record.contact"},
        "subject": "How did we do on “{{ record.subject }}”?",
        "body": "Rate ticket #{{ record.id }}: https://desk.example/csat/{{ record.id }}",
    }
    await desk.rules(
        [rule("csat", {"on": "field_changed", "field": "status", "to": "resolved"}, [survey])]
    )
    ticket = await desk.ticket(subject="wifi down", status="open", contact="kim@example.com")
    resolved = await desk.patch(ticket, status="resolved")
    assert resolved.status_code == 200, resolved.text
    [run] = await desk.runs(rule="csat")
    assert run["actions"][0]["detail"]["job"] > 0

    async def job_done() -> Job | None:
        async with sessions() as db:
            found = (await db.execute(select(Job).where(Job.name == ACTION_JOB))).scalar_one()
            return found if found.status == "done" else None

    with smtp_server(refuse=1) as mailbox:
        async with working(sessions, settings, smtp_host="127.0.0.1", smtp_port=mailbox.port):
            job = await eventually(job_done, message="the survey to be sent")
    [message] = mailbox.messages
    assert str(make_header(decode_header(message["Subject"]))) == "How did we do on “wifi down”?"
    assert f"https://desk.example/csat/{ticket['id']}" in message.get_payload()
    assert mailbox.envelopes == [(settings.mail_from, ["kim@example.com"])]
    # The refused first attempt and the retry carried the same Message-ID.
    assert len(set(mailbox.attempts)) == 1 and len(mailbox.attempts) == 2
    assert job.attempts == 2
    [run] = await desk.runs(rule="csat")
    assert run["status"] == "done" and run["actions"][0]["ok"] is True
    assert run["actions"][0]["detail"] == {"sent": ["kim@example.com"]}


async def test_webhooks_run_as_jobs_and_refusals_are_logged(desk: Desk, sessions, settings):
    with http_server((500, {}), (200, {"ok": True})) as hook:
        await desk.rules(
            [
                rule(
                    "notify_crm",
                    {"on": "created"},
                    [
                        {
                            "type": "webhook",
                            "url": f"http://127.0.0.1:{hook.port}/tickets",
                            "body": {"cat": [{"var": "record.subject"}]},
                        }
                    ],
                )
            ]
        )
        ticket = await desk.ticket(subject="crm")
        async with working(sessions, settings):

            async def done():
                [run] = await desk.runs(rule="notify_crm")
                return run["actions"][0]["detail"] == {"status": 200}

            await eventually(done, message="the webhook to be called")
        assert [r.body for r in hook.requests] == ["crm", "crm"]
        keys = {r.headers["Idempotency-Key"] for r in hook.requests}
        assert len(keys) == 1
        secret = signing_secret(settings)
        for request in hook.requests:  # signed like every webhook
            assert verify_signature(
                secret,
                request.headers["X-Tangram-Timestamp"],
                request.raw,
                request.headers["X-Tangram-Signature"],
            )
        log = await desk.client.get(
            "/api/v1/webhook-deliveries",
            params={"source_kind": "rule"},
            headers=desk.admin.headers,
        )
        assert log.status_code == 200, log.text
        assert sorted(d["outcome"] for d in log.json()["items"]) == ["delivered", "failed"]
        [run] = await desk.runs(record_id=ticket["id"])
        assert run["actions"][0]["detail"] == {"status": 200}

    with http_server((404, {"error": "no"})) as hook:
        await desk.rules(
            [
                rule(
                    "refused",
                    {"on": "created"},
                    [{"type": "webhook", "url": f"http://127.0.0.1:{hook.port}/x"}],
                )
            ]
        )
        ticket = await desk.ticket(subject="refused")
        async with working(sessions, settings):

            async def failed():
                runs = await desk.runs(rule="refused")
                return runs and runs[0]["status"] == "failed"

            await eventually(failed, message="the refusal to be logged")
        [run] = await desk.runs(rule="refused")
        assert "webhook answered 404" in run["error"] and len(hook.requests) == 1
        body = hook.requests[0].body
        assert body["record"]["id"] == ticket["id"] and body["event"]["kind"] == "created"


async def test_records_and_flows_are_created_and_deletes_fire(desk: Desk, sessions):
    follow_up = {
        "key": "follow_up",
        "name": {"en": "Follow up"},
        "form": "ticket",
        "nodes": [
            {"id": "start", "type": "start"},
            {"id": "call", "type": "user_task", "assignee": {"kind": "user", "key": "sam"}},
            {"id": "end", "type": "end"},
        ],
        "edges": chain("start", "call", "end"),
    }
    await desk.rules(
        [
            rule(
                "spawn",
                {"on": "created"},
                [
                    {
                        "type": "create_record",
                        "form": "task",
                        "values": {
                            "title": {"cat": ["Call back: ", {"var": "record.subject"}]},
                            "ticket_id": {"var": "record.id"},
                        },
                    },
                    {"type": "start_flow", "flow": "follow_up", "variables": {"why": "new"}},
                ],
            ),
            rule(
                "deleted",
                {"on": "deleted"},
                [
                    {
                        "type": "create_record",
                        "form": "task",
                        "values": {"title": {"cat": ["Deleted: ", {"var": "record.subject"}]}},
                    }
                ],
            ),
        ],
        flows=[follow_up],
    )
    ticket = await desk.ticket(subject="router")
    tasks = await desk.client.get(desk.app.url("task"), headers=desk.admin.headers)
    assert [(t["values"]["title"], t["values"]["ticket_id"]) for t in tasks.json()["items"]] == [
        ("Call back: router", ticket["id"])
    ]
    async with sessions() as db:
        [instance] = (await db.execute(select(FlowInstance))).scalars().all()
    assert instance.record_id == ticket["id"] and instance.flow_key == "follow_up"
    assert instance.variables["why"] == "new"

    deleted = await desk.client.delete(
        f"{desk.app.url('ticket')}/{ticket['id']}", headers=desk.admin.headers
    )
    assert deleted.status_code == 200, deleted.text
    tasks = await desk.client.get(desk.app.url("task"), headers=desk.admin.headers)
    assert sorted(t["values"]["title"] for t in tasks.json()["items"]) == [
        "Call back: router",
        "Deleted: router",
    ]
