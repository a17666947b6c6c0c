"""A ticket through the Customer Center end to end, through the API: keyword routing, SLA
warning and breach on the China 9×5 calendar, complaint escalation after 24 hours, the agent's
reply and first response, waiting on the customer, resolution, the CSAT survey, reopening on
the customer's reply and the auto-close after 7 days (the clock advanced by calling the SLA
escalation and the rules scan at a later instant, like tests/runtime/rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engines.rules.calendar import parse_calendar
from runtime.db import utcnow
from runtime.rules.scan import scan
from runtime.rules.sla import escalate
from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.flows.conftest import working
from tests.runtime.rules.conftest import make_group
from tests.support.jobs import eventually
from tests.templates.customer_center.conftest import Center
from tests.templates.customer_center.install import ROOT


def at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def minutes(start: str, end: str) -> int:
    """Whole wall-clock minutes between two API times (as the dashboards average them)."""
    elapsed = at(end) - at(start)  # type: ignore[operator]
    return int(elapsed.total_seconds() // 60)


def cn_9x5():
    import json

    [data] = json.loads((ROOT / "sla" / "calendars.json").read_text(encoding="utf-8"))
    return parse_calendar(data)


async def sla(center: Center, ticket_id: int) -> dict:
    got = await center.client.get(
        f"{center.url('ticket')}/{ticket_id}/sla", headers=center.admin.headers
    )
    assert got.status_code == 200, got.text
    return dict(got.json())


async def reply(
    center: Center,
    ticket: int,
    customer: int,
    body: str,
    direction: str = "inbound",
    who: str = "fay",
) -> dict:
    """A message on the ticket, recorded by its agent (as a channel integration would)."""
    return await center.create(
        who,
        "communication",
        ticket=ticket,
        customer=customer,
        direction=direction,
        channel="email",
        body=body,
        sender="wang.fang@qinghe.example",
        recipient="fay@tangram.example",
    )


async def flow_task(center: Center, tid: int, who: str, box: str, node: str) -> dict:
    """The open task at step ``node`` on ticket ``tid`` in ``who``'s ``box``, once the
    lifecycle flow (on the worker) has made it."""

    async def probe() -> dict | None:
        found = [
            t for t in await center.tasks(who, box) if t["record_id"] == tid and t["node"] == node
        ]
        return found[0] if found else None

    return dict(await eventually(probe, message=f"{node} for {who}"))


async def complete_task(center: Center, who: str, task: dict, **fields) -> None:
    done = await center.client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"action": "complete", "fields": fields},
        headers=center.people[who].headers,
    )
    assert done.status_code == 200, done.text


async def triaged(center: Center, subject: str, customer: int) -> tuple[dict, str]:
    """A ticket taken by sam and triaged on time by the supervisor (the flow's triage step),
    the flow's "Start work" then puts it in progress: the ticket and its agent's name."""
    ticket = await center.create("sam", "ticket", subject=subject, customer=customer)
    tid = ticket["id"]
    agent = (await center.until(tid, lambda v: v["assignee"]))["assignee"]
    who = next(name for name, account in center.people.items() if account.id == agent)
    triage = await flow_task(center, tid, "sol", "group", "triage")
    claimed = await center.client.post(
        f"/api/v1/tasks/{triage['id']}/claim", headers=center.people["sol"].headers
    )
    assert claimed.status_code == 200, claimed.text
    await complete_task(
        center,
        "sol",
        triage,
        category="repair",
        priority="normal",
        team="first_line",
        assignee=agent,
    )
    await flow_task(center, tid, who, "mine", "work")
    return ticket, who


async def test_the_first_response_is_the_agents_first_message(center: Center, sessions, settings):
    """Triage and the flow's "Start work" are no response (the SLA's response clock runs on);
    the agent's first outbound communication is, and a later one changes nothing; with
    nothing sent, the agent's putting the ticket to waiting on the customer is."""
    customer = await center.create("sam", "customer", name="李雷")
    async with working(sessions, settings):
        answered, answerer = await triaged(center, "打印机卡纸", customer["id"])
        silent, _ = await triaged(center, "扫描仪无法连接", customer["id"])
    for ticket in (answered, silent):
        values = await center.values(ticket["id"])
        assert values["status"] == "in_progress" and values["first_response_at"] is None
        assert (await sla(center, ticket["id"]))["responded_at"] is None

    # Neither the customer's message nor an internal note is a response.
    for direction in ("inbound", "internal"):
        await reply(center, answered["id"], customer["id"], "备注", direction, answerer)
    assert (await center.values(answered["id"]))["first_response_at"] is None

    # The agent writes to the customer: that is the first response.
    await center.create(
        answerer,
        "communication",
        ticket=answered["id"],
        customer=customer["id"],
        direction="outbound",
        channel="phone",
        body="请先清理搓纸轮再试一次。",
    )
    values = await center.until(answered["id"], lambda v: v["first_response_at"])
    first_response = (values["first_response_at"], values["first_response_minutes"])
    assert first_response[1] == minutes(answered["created_at"], first_response[0])
    assert (await sla(center, answered["id"]))["responded_at"]
    await center.create(
        answerer,
        "communication",
        ticket=answered["id"],
        customer=customer["id"],
        direction="outbound",
        channel="email",
        body="附上清理步骤。",
    )
    values = await center.values(answered["id"])
    assert (values["first_response_at"], values["first_response_minutes"]) == first_response

    # Past the response target (normal: 4 business hours): the answered ticket met it, the
    # silent one — triaged on time — is breached.
    due = at((await sla(center, silent["id"]))["response"]["due_at"])
    assert due is not None
    await escalate(sessions, due + timedelta(seconds=1))
    assert (await center.values(answered["id"]))["sla_breached"] is False
    assert (await sla(center, answered["id"]))["response"]["breached"] is False
    values = await center.values(silent["id"])
    assert values["sla_breached"] is True and values["first_response_at"] is None
    assert (await sla(center, silent["id"]))["response"]["breached"] is True

    # With nothing sent, the agent's putting it to waiting on the customer is the response.
    await center.patch("sam", silent["id"], status="waiting_customer")
    values = await center.values(silent["id"])
    assert values["first_response_at"]
    assert values["first_response_minutes"] == minutes(
        silent["created_at"], values["first_response_at"]
    )
    assert (await sla(center, silent["id"]))["responded_at"]


async def test_resolving_unanswered_is_the_first_response(center: Center):
    ticket = await center.create("sam", "ticket", subject="密码忘了")
    tid = ticket["id"]
    await center.until(tid, lambda v: v["status"] == "triage")
    await center.patch("sam", tid, status="in_progress")
    assert (await center.values(tid))["first_response_at"] is None
    await center.patch("sam", tid, status="resolved")
    values = await center.values(tid)
    assert values["first_response_at"] and values["resolved_at"]
    assert (await sla(center, tid))["responded_at"]


async def test_keyword_routing(center: Center):
    p = center.people
    invoice = await center.create("sam", "ticket", subject="发票抬头开错了", channel="wechat")
    values = await center.until(invoice["id"], lambda v: v["assignee"])
    assert values["number"].startswith("TK-") and len(values["number"]) == len("TK-20261203-0001")
    assert (values["team"], values["assignee"], values["status"]) == (
        "finance",
        p["fay"].id,
        "triage",
    )
    english = await center.create("sam", "ticket", subject="Need a new INVOICE for May")
    assert (await center.until(english["id"], lambda v: v["assignee"]))["assignee"] == p["fay"].id
    parcel = await center.create(
        "sam", "ticket", subject="Kettle", description="I want to return it: it leaks"
    )
    routed = await center.until(parcel["id"], lambda v: v["assignee"])
    assert (routed["team"], routed["assignee"]) == ("warehouse", p["wes"].id)
    first = await center.create("sue", "ticket", subject="打印机卡纸")
    second = await center.create("sue", "ticket", subject="密码忘了")
    picked = [
        (await center.until(t["id"], lambda v: v["assignee"]))["assignee"] for t in (first, second)
    ]
    assert sorted(picked) == sorted([p["sam"].id, p["sue"].id])  # round robin, one each
    assert {(await center.values(t["id"]))["team"] for t in (first, second)} == {"first_line"}


async def test_a_ticket_from_creation_to_auto_close(center: Center, sessions):
    p = center.people
    customer = await center.create(
        "sam",
        "customer",
        name="王芳",
        company="上海青禾贸易有限公司",
        level="vip",
        email="wang.fang@qinghe.example",
    )
    ticket = await center.create(
        "sam",
        "ticket",
        subject="发票金额有误",
        description="请重开发票",
        priority="high",
        customer=customer["id"],
        channel="email",
    )
    tid = ticket["id"]
    assert (await center.until(tid, lambda v: v["assignee"]))["assignee"] == p["fay"].id

    # SLA: high priority, 2 business hours to respond on the 9×5 China calendar.
    clock = await sla(center, tid)
    assert clock["policy"] == "ticket_sla"
    started = datetime.fromisoformat(ticket["created_at"])
    due = at(clock["response"]["due_at"])
    assert due == cn_9x5().add_business(started, timedelta(hours=2)).astimezone(UTC)
    warn_at = at(clock["response"]["warn_at"])
    assert warn_at == due - timedelta(minutes=30)

    counts = await escalate(sessions, warn_at + timedelta(seconds=1))
    assert {k.split(":", 1)[1]: v for k, v in counts.items()} == {"ticket_sla:response:warning": 1}
    assert (await center.values(tid))["sla_warned"] is True
    assert any(t.startswith("SLA 即将超时") for t in await center.titles("fay"))
    counts = await escalate(sessions, due + timedelta(seconds=1))
    assert {k.split(":", 1)[1]: v for k, v in counts.items()} == {"ticket_sla:response:breach": 1}
    values = await center.values(tid)
    assert values["sla_breached"] is True and values["escalated"] is True
    assert any(t.startswith("SLA 已超时") for t in await center.titles("sol"))

    # Starting work is no response: nothing is stamped, the response clock stays open.
    await center.patch("fay", tid, status="in_progress")
    values = await center.values(tid)
    assert values["status"] == "in_progress" and values["first_response_at"] is None
    assert (await sla(center, tid))["responded_at"] is None

    # The agent's first message to the customer (an outbound communication) is the first
    # response: stamped on the ticket by the communication's rule, in wall-clock minutes.
    await center.create(
        "fay",
        "communication",
        ticket=tid,
        customer=customer["id"],
        direction="outbound",
        channel="email",
        body="您好，已为您重开发票。",
        sender="fay@tangram.example",
        recipient="wang.fang@qinghe.example",
    )
    values = await center.until(tid, lambda v: v["first_response_at"])
    first_response = values["first_response_at"]
    assert values["first_response_minutes"] == minutes(ticket["created_at"], first_response)
    assert (await sla(center, tid))["responded_at"]

    # Waiting on the customer pauses the resolution clock; their reply (an inbound
    # communication on the ticket) resumes it.
    await center.patch("fay", tid, status="waiting_customer")
    assert (await sla(center, tid))["paused"] is True
    await reply(center, tid, customer["id"], "发票抬头是：上海青禾贸易有限公司")
    values = await center.until(tid, lambda v: v["status"] == "in_progress")
    assert values["customer_replied_at"] and values["reopen_count"] == 0
    assert (await sla(center, tid))["paused"] is False

    # Resolved: stamped, a satisfaction survey is waiting for the customer.
    await center.patch("fay", tid, status="resolved")
    values = await center.until(tid, lambda v: v["resolved_at"])
    assert values["resolved_at"] and values["first_contact_resolution"] is True
    [survey] = await center.listed("fay", "survey")
    assert survey["values"]["ticket"] == tid and survey["values"]["customer"] == customer["id"]
    assert survey["values"]["status"] == "sent" and survey["values"]["agent"] == p["fay"].id
    assert (await sla(center, tid))["resolved_at"]

    # The survey belongs to the ticket's department: its manager sees it, another
    # department's agent does not; the customer's score lands on the ticket.
    assert survey["department_id"] == center.departments["SUPPORT"]
    assert [s["id"] for s in await center.listed("dan", "survey")] == [survey["id"]]
    assert await center.listed("cara", "survey") == []
    answered = await center.patch("fay", survey["id"], "survey", score=4, comment="很快")
    assert answered["score"] == 4
    values = await center.until(tid, lambda v: v["satisfaction"] == 4)
    assert values["status"] == "resolved"  # the score changes nothing else
    assert (await center.values(survey["id"], "survey"))["status"] == "answered"

    # The customer writes again within 7 days: the resolved ticket is reopened.
    replied = values["customer_replied_at"]
    await reply(center, tid, customer["id"], "发票还是不对")
    values = await center.until(tid, lambda v: v["status"] == "in_progress")
    assert values["reopen_count"] == 1 and values["customer_replied_at"] > replied
    assert any(t.startswith("客户回复，工单已重开") for t in await center.titles("fay"))
    # An outbound message or an internal note reopens nothing.
    for direction in ("outbound", "internal"):
        await reply(center, tid, customer["id"], "稍等", direction=direction)
    values = await center.values(tid)
    assert values["reopen_count"] == 1
    assert values["first_response_at"] == first_response  # a later message changes nothing
    resolved = await center.patch("fay", tid, status="resolved")
    assert resolved["status"] == "resolved"
    await center.until(tid, lambda v: v["first_contact_resolution"] is False)
    assert len(await center.listed("fay", "survey")) == 1  # one survey per ticket

    # A second resolve and a second reply: reopen_count counts on.
    await reply(center, tid, customer["id"], "又出问题了")
    values = await center.until(tid, lambda v: v["reopen_count"] == 2)
    assert values["status"] == "in_progress"
    await center.patch("fay", tid, status="resolved")
    await center.until(tid, lambda v: v["status"] == "resolved")

    # Seven days after resolving, the scan closes it.
    await scan(sessions, utcnow() + timedelta(days=6))
    assert (await center.values(tid))["status"] == "resolved"
    await scan(sessions, utcnow() + timedelta(days=7, hours=1))
    values = await center.values(tid)
    assert values["status"] == "closed" and values["first_response_at"] == first_response


async def test_complaints_open_24_hours_escalate(center: Center, client, admin, sessions):
    p = center.people
    # First-line support has its own supervisor; finance has none (the general pool serves).
    lea = await make_account(client, sessions, "lea", USER_PASSWORD)
    await make_group(client, admin, "supervisors_first_line", [lea.id])
    center.people["lea"] = lea
    complaint = await center.create(
        "sam", "ticket", subject="快递员态度恶劣", category="complaint", priority="normal"
    )
    invoice = await center.create(
        "cara", "ticket", subject="发票投诉：三次开错", category="complaint", priority="normal"
    )
    handled = await center.create("sam", "ticket", subject="投诉已处理", category="complaint")
    question = await center.create("sam", "ticket", subject="营业时间？", category="consult")
    await center.patch("sam", handled["id"], status="closed")

    await scan(sessions, utcnow() + timedelta(hours=23))
    assert (await center.values(complaint["id"]))["escalated"] is False
    await scan(sessions, utcnow() + timedelta(hours=25))
    values = await center.values(complaint["id"])
    assert values["escalated"] is True and values["priority"] == "urgent"
    assert values["team"] == "first_line" and values["escalated_to"] == lea.id  # its supervisor
    routed = await center.values(invoice["id"])
    assert routed["team"] == "finance" and routed["escalated_to"] == p["sol"].id
    for other in (handled, question):
        assert (await center.values(other["id"]))["escalated"] is False
    assert [t for t in await center.titles("lea") if t.startswith("投诉升级")] == [
        f"投诉升级 Complaint escalated: {values['number']} 快递员态度恶劣"
    ]
    assert [t for t in await center.titles("sol") if t.startswith("投诉升级")] == [
        f"投诉升级 Complaint escalated: {routed['number']} 发票投诉：三次开错"
    ]
    # The head of the ticket's department: SUPPORT's (dan) for sam's ticket; SALES has
    # none, so cara's ticket tells nobody else.
    heads = [t for t in await center.titles("dan") if t.startswith("投诉 24 小时未关闭")]
    assert heads == [f"投诉 24 小时未关闭 Complaint open 24 h: {values['number']}"]


async def test_the_lifecycle_flow_goes_along_with_a_reply_that_reopened_the_ticket(
    center: Center, sessions, settings
):
    """The flow's reopen window, after the customer's reply reopened the ticket (rule
    reply_reopens): completing the window's task goes back to work without counting a
    second reopen."""

    async def task_of(who: str, box: str, node: str) -> dict:
        return await flow_task(center, tid, who, box, node)

    async def complete(who: str, task: dict, **fields) -> None:
        await complete_task(center, who, task, **fields)

    customer = await center.create("sam", "customer", name="李雷")
    async with working(sessions, settings):
        ticket, who = await triaged(center, "打印机卡纸", customer["id"])
        tid = ticket["id"]
        work = await task_of(who, "mine", "work")
        assert (await center.values(tid))["status"] == "in_progress"
        await complete(who, work, status="resolved")
        window = await task_of(who, "mine", "reopen_window")
        await center.until(tid, lambda v: v["resolved_at"])

        await center.create(
            who,
            "communication",
            ticket=tid,
            customer=customer["id"],
            direction="inbound",
            channel="phone",
            body="还是卡纸",
        )
        values = await center.until(tid, lambda v: v["status"] == "in_progress")
        assert values["reopen_count"] == 1
        await complete(who, window)
        again = await task_of(who, "mine", "work")
        assert again["id"] != work["id"]
    values = await center.values(tid)
    assert values["status"] == "in_progress" and values["reopen_count"] == 1
