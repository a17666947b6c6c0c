"""Service tasks run as jobs by a real worker against real servers on localhost: set the
record's fields, create a record in another form, send mail over SMTP, call a webhook
(retried on 5xx with a stable Idempotency-Key; a 4xx or too many failures fail the
instance)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import Settings
from runtime.flows.service import SERVICE_JOB
from tests.runtime.flows.conftest import FlowApp, chain, flow, jobs_named, publish_flows, working
from tests.support.jobs import eventually
from tests.support.servers import http_server, smtp_server

pytestmark = pytest.mark.asyncio

LOG = {
    "key": "log",
    "label": {"en": "Log"},
    "fields": [
        {"id": 1, "key": "note", "type": "text", "label": {"en": "Note"}},
        {"id": 2, "key": "request_id", "type": "integer", "label": {"en": "Request"}},
    ],
}


def service_flow(key: str, action: dict, **node: Any) -> dict:
    """start → act (the service task) → after (a user task for the starter) → end."""
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "act", "type": "service_task", "action": action, **node},
        {"id": "after", "type": "user_task", "assignee": {"kind": "starter"}},
        {"id": "end", "type": "end"},
    ]
    return flow(key, nodes, chain("start", "act", "after", "end"))


async def start(
    app: FlowApp, flow_key: str, variables: dict[str, Any] | None = None, **values: Any
) -> int:
    record = await app.record(app.admin, **values)
    started = await app.start(app.admin, flow_key, record["id"], **(variables or {}))
    assert started.status_code == 201, started.text
    assert [p["node"] for p in started.json()["position"]] == ["act"]
    return int(started.json()["id"])


def waiting_at_after(detail: dict) -> bool:
    return [p["node"] for p in detail["position"]] == ["after"]


def finished(detail: dict) -> bool:
    return detail["status"] != "running"


async def test_set_fields_updates_the_record(
    client, admin, sessions, settings: Settings, people
) -> None:
    action = {
        "kind": "set_fields",
        "values": {"status": "closed", "amount": {"*": [{"var": "record.amount"}, 2]}},
    }
    app = await publish_flows(client, admin, [service_flow("close", action)])
    instance_id = await start(app, "close", title="broken", amount=21)
    [job] = await jobs_named(sessions, SERVICE_JOB)
    assert job.idempotency_key == f"flow-service:{instance_id}:{job.payload['job']}"

    async with working(sessions, settings):
        detail = await app.until(instance_id, waiting_at_after, "the service task")
    record = (
        await client.get(f"{app.records}/{detail['record_id']}", headers=admin.headers)
    ).json()
    assert record["values"]["status"] == "closed" and record["values"]["amount"] == 42
    [done] = [h for h in await app.history(admin, instance_id) if h["action"] == "service_done"]
    assert done["node"] == "act"
    assert done["data"] == {"record": {"status": "closed", "amount": 42}}
    [job] = await jobs_named(sessions, SERVICE_JOB)
    assert job.status == "done" and job.result == {"done": True, "status": "running"}


async def test_create_record_in_another_form(
    client, admin, sessions, settings: Settings, people
) -> None:
    action = {
        "kind": "create_record",
        "form": "log",
        "values": {
            "note": {"cat": ["logged: ", {"var": "record.title"}]},
            "request_id": {"var": "record.id"},
        },
        "result": "log_id",
    }
    app = await publish_flows(client, admin, [service_flow("log", action)], forms=[LOG])
    instance_id = await start(app, "log", title="printer")

    async with working(sessions, settings):
        detail = await app.until(instance_id, waiting_at_after, "the service task")
    log_id = detail["variables"]["log_id"]
    assert isinstance(log_id, int)
    created = await client.get(f"{app.app.url('log')}/{log_id}", headers=admin.headers)
    assert created.status_code == 200, created.text
    values = created.json()["values"]
    assert values == {"note": "logged: printer", "request_id": detail["record_id"]}


async def test_send_mail_renders_templates_and_keeps_its_message_id(
    client, admin, sessions, settings: Settings, people
) -> None:
    action = {
        "kind": "send_mail",
        "to": {"var": "notify"},
        "subject": "Request {{ record.title }} for {{ record.amount }}",
        "body": "Instance {{ instance.id }}: {{ note | upper }}",
    }
    app = await publish_flows(client, admin, [service_flow("mail", action)])
    record = await app.record(admin, title="laptop", amount=900)
    started = await app.start(
        admin, "mail", record["id"], notify=["boss@example.com", "ops@example.com"], note="urgent"
    )
    instance_id = started.json()["id"]
    [job] = await jobs_named(sessions, SERVICE_JOB)

    # the server refuses the first attempt (451): the job is retried, same Message-ID
    with smtp_server(refuse=1) as mailbox:
        async with working(sessions, settings, smtp_host="127.0.0.1", smtp_port=mailbox.port):
            await app.until(instance_id, waiting_at_after, "the mail to be sent")
    [message] = mailbox.messages
    message_id = f"<tangram-flow-{instance_id}-{job.payload['job']}@localhost>"
    assert mailbox.attempts == [message_id, message_id]
    assert message["Message-ID"] == message_id
    assert message["Subject"] == "Request laptop for 900"
    assert message["From"] == settings.mail_from
    assert message.get_payload().strip() == f"Instance {instance_id}: URGENT"
    assert mailbox.envelopes == [(settings.mail_from, ["boss@example.com", "ops@example.com"])]
    [job] = await jobs_named(sessions, SERVICE_JOB)
    assert job.status == "done" and job.attempts == 2


async def test_send_mail_without_a_mail_server_fails_the_instance(
    client, admin, sessions, settings: Settings, people
) -> None:
    action = {"kind": "send_mail", "to": "boss@example.com", "subject": "hi"}
    app = await publish_flows(client, admin, [service_flow("mail", action)])
    instance_id = await start(app, "mail")
    async with working(sessions, settings, smtp_host=None):
        detail = await app.until(instance_id, finished, "the instance to fail")
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "service_failed" and detail["error"]["node"] == "act"
    assert "no mail server" in detail["error"]["message"]


def webhook(url: str, **extra: Any) -> dict:
    # A body rule is JsonLogic: an object of several keys is a literal (its values are not
    # evaluated), so a computed body comes from a variable.
    return {
        "kind": "webhook",
        "url": url,
        "headers": {"X-Source": "tangram"},
        "body": {"var": "order"},
        "result": "reply",
        **extra,
    }


async def test_webhook_retried_after_500_then_its_answer_is_kept(
    client, admin, sessions, settings: Settings, people
) -> None:
    with http_server((500, {"error": "busy"}), (200, {"ticket": "T-1"})) as hook:
        app = await publish_flows(client, admin, [service_flow("hook", webhook(hook.url))])
        order = {"title": "printer", "amount": 3}
        instance_id = await start(app, "hook", {"order": order})
        async with working(sessions, settings):
            detail = await app.until(instance_id, waiting_at_after, "the webhook to succeed")
    assert detail["variables"]["reply"] == {"ticket": "T-1"}
    [job] = await jobs_named(sessions, SERVICE_JOB)
    assert job.status == "done" and job.attempts == 2
    key = f"tangram-flow-{instance_id}-{job.payload['job']}"
    assert [(r.method, r.path) for r in hook.requests] == [("POST", "/hook")] * 2
    assert [r.headers["Idempotency-Key"] for r in hook.requests] == [key, key]
    assert all(r.headers["X-Source"] == "tangram" for r in hook.requests)
    assert [r.body for r in hook.requests] == [order, order]


async def test_webhook_4xx_fails_the_instance_without_retries(
    client, admin, sessions, settings: Settings, people
) -> None:
    with http_server((422, {"error": "bad title"})) as hook:
        action = {**webhook(hook.url), "body": None}  # the default body: the flow context
        app = await publish_flows(client, admin, [service_flow("hook", action)])
        instance_id = await start(app, "hook", {"note": "n"}, title="scanner")
        async with working(sessions, settings):
            detail = await app.until(instance_id, finished, "the instance to fail")
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "service_failed" and detail["error"]["node"] == "act"
    assert "422" in detail["error"]["message"]
    [request] = hook.requests
    assert request.body["note"] == "n" and request.body["record"]["title"] == "scanner"
    assert request.body["instance"] == {"id": instance_id}
    [job] = await jobs_named(sessions, SERVICE_JOB)
    assert job.attempts == 1 and job.status == "done"
    actions = [h["action"] for h in await app.history(admin, instance_id)]
    assert actions == ["started", "failed"]


async def test_service_task_exhausting_its_attempts_fails_the_instance(
    client, admin, sessions, settings: Settings, people
) -> None:
    with http_server((503, {"error": "down"})) as hook:
        action = webhook(hook.url)
        app = await publish_flows(client, admin, [service_flow("hook", action, max_attempts=3)])
        instance_id = await start(app, "hook")
        async with working(sessions, settings):
            detail = await app.until(instance_id, finished, "the instance to fail")

            async def job_finished() -> bool:
                [job] = await jobs_named(sessions, SERVICE_JOB)
                return job.status in ("done", "dead")

            await eventually(job_finished, message="the service job to finish")
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "service_failed"
    assert "503" in detail["error"]["message"]
    assert len(hook.requests) == 3
    [job] = await jobs_named(sessions, SERVICE_JOB)
    # The queue allows one attempt more, for a worker killed during the last one.
    assert job.attempts == 3 and job.max_attempts == 4
    # the task never ran: no user task was created after it
    assert detail["tasks"] == [] and [p["node"] for p in detail["position"]] == ["act"]


async def failed_at_once(
    app: FlowApp, sessions: Any, settings: Settings, instance_id: int, **overrides: Any
) -> dict:
    """Run the worker until the instance ends; it must have failed on the first attempt."""
    async with working(sessions, settings, **overrides):
        detail = await app.until(instance_id, finished, "the instance to fail")
    assert detail["status"] == "failed", detail
    assert detail["error"]["code"] == "service_failed" and detail["error"]["node"] == "act"
    [job] = await jobs_named(sessions, SERVICE_JOB)
    assert job.attempts == 1 and job.status == "done"
    return detail


async def test_set_fields_refused_by_the_form_fails_without_retries(
    client, admin, sessions, settings: Settings, people
) -> None:
    action = {"kind": "set_fields", "values": {"amount": "lots"}}
    app = await publish_flows(client, admin, [service_flow("bad", action)])
    instance_id = await start(app, "bad", amount=1)
    detail = await failed_at_once(app, sessions, settings, instance_id)
    assert "amount" in detail["error"]["message"]
    record = (
        await client.get(f"{app.records}/{detail['record_id']}", headers=admin.headers)
    ).json()
    assert record["values"]["amount"] == 1


async def test_mail_template_failing_at_render_fails_without_retries(
    client, admin, sessions, settings: Settings, people
) -> None:
    # (An unknown filter is refused at publish; reading through an undefined value fails only
    # when the template renders.)
    action = {"kind": "send_mail", "to": "a@example.com", "subject": "{{ no_such.thing }}"}
    app = await publish_flows(client, admin, [service_flow("mail", action)])
    instance_id = await start(app, "mail")
    with smtp_server() as mailbox:
        detail = await failed_at_once(
            app, sessions, settings, instance_id, smtp_host="127.0.0.1", smtp_port=mailbox.port
        )
    assert "no_such" in detail["error"]["message"]
    assert mailbox.attempts == []


async def test_mail_subject_from_several_lines_is_one_line(
    client, admin, sessions, settings: Settings, people
) -> None:
    action = {
        "kind": "send_mail",
        "to": "a@example.com",
        "subject": "Done: {{ record.resolution }}",
    }
    app = await publish_flows(client, admin, [service_flow("mail", action)])
    instance_id = await start(app, "mail", resolution="replaced the toner\r\nand the drum")
    with smtp_server() as mailbox:
        async with working(sessions, settings, smtp_host="127.0.0.1", smtp_port=mailbox.port):
            await app.until(instance_id, waiting_at_after, "the mail to be sent")
    [message] = mailbox.messages
    assert message["Subject"] == "Done: replaced the toner and the drum"


async def test_webhook_redirect_fails_the_instance(
    client, admin, sessions, settings: Settings, people
) -> None:
    with http_server((307, {"moved": True})) as hook:
        app = await publish_flows(client, admin, [service_flow("hook", webhook(hook.url))])
        instance_id = await start(app, "hook", {"order": {}})
        detail = await failed_at_once(app, sessions, settings, instance_id)
    assert "307" in detail["error"]["message"]
    assert len(hook.requests) == 1
