"""Public web forms: the designers' API, submissions through the one write path (and the
intake for the ticket form), the challenge, the honeypot, rate limits and tracking links."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest
from sqlalchemy import select

from runtime.channels.models import Channel, ChannelMessage
from runtime.jobs.models import Job
from runtime.publicforms import challenge as challenges
from runtime.publicforms.models import PublicSubmission
from runtime.publicforms.service import MAIL_JOB
from tests.runtime.flows.conftest import working
from tests.runtime.publicforms.conftest import challenge, publish, send, solve
from tests.support.jobs import eventually
from tests.support.servers import smtp_server

pytestmark = pytest.mark.asyncio


async def test_designers_publish_a_form_and_stale_edits_get_409(center):
    base = f"/api/v1/apps/{center.app['id']}/public-forms"
    made = await publish(center, "ticket", "support", title={"en": "Submit a ticket"})
    assert made["url"] == "/p/support" and made["intake"] is True
    # The default for the intake's ticket form: its subject and description, never the
    # fields the intake sets (customer, channel, status, number) or system ones.
    assert made["shown"] == ["subject", "description"]
    again = await center.client.post(
        base, json={"form": "survey", "slug": "support"}, headers=center.admin.headers
    )
    assert again.status_code == 409 and again.json()["code"] == "public_form_slug_taken"
    bad = await center.client.post(
        base,
        json={"form": "survey", "slug": "survey", "fields": ["agent", "score", "nope"]},
        headers=center.admin.headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"fields[0]", "fields[2]"}
    unknown = await center.client.post(
        base, json={"form": "nope", "slug": "nope"}, headers=center.admin.headers
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "public_form_unusable"
    changed = await center.client.patch(
        f"{base}/{made['id']}",
        json={"row_version": 1, "fields": ["subject", "description", "category"]},
        headers=center.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["shown"] == ["subject", "description", "category"]
    stale = await center.client.patch(
        f"{base}/{made['id']}",
        json={"row_version": 1, "enabled": False},
        headers=center.admin.headers,
    )
    assert stale.status_code == 409 and stale.json()["row_version"] == 2
    agent = await center.client.get(base, headers=center.people["sam"].headers)
    assert agent.status_code == 403
    listed = await center.client.get(base, headers=center.admin.headers)
    assert [i["slug"] for i in listed.json()["items"]] == ["support"]


async def test_a_ticket_through_the_intake_matches_the_customer(center, sessions):
    await publish(center, "ticket", "support", fields=["subject", "description", "category"])
    customer = await center.create(
        "sam", "customer", name="李娜", email="li.na@example.cn", phone="+86 138 0013 8000"
    )
    sent = await send(
        center.client,
        "support",
        {"subject": "发票抬头错误", "description": "请重新开票", "category": "consult"},
        contact={"name": "Li Na", "email": "LI.NA@example.cn"},
    )
    assert sent.status_code == 201, sent.text
    body = sent.json()
    ticket = await center.values(body["record_id"])
    assert ticket["customer"] == customer["id"]  # matched by e-mail, no new customer
    assert ticket["channel"] == "web" and ticket["category"] == "consult"
    assert ticket["subject"] == "发票抬头错误" and body["ticket_number"] == ticket["number"]
    # A new person by phone: a customer is made.
    other = await send(
        center.client,
        "support",
        {"subject": "Where is my order?"},
        contact={"name": "Wang", "phone": "13900139000"},
    )
    assert other.status_code == 201, other.text
    made = await center.values(other.json()["record_id"])
    assert made["customer"] != customer["id"]
    assert (await center.values(made["customer"], "customer"))["name"] == "Wang"
    async with sessions() as db:
        channel = (await db.execute(select(Channel).where(Channel.key == "web_form"))).scalar_one()
        logged = (
            (
                await db.execute(
                    select(ChannelMessage).where(ChannelMessage.channel_id == channel.id)
                )
            )
            .scalars()
            .all()
        )
    assert channel.kind == "web_form" and len(logged) == 2
    # Neither e-mail nor phone: refused per field, nothing written.
    nobody = await send(center.client, "support", {"subject": "hello"}, contact={"name": "X"})
    assert nobody.status_code == 422
    assert [e["field"] for e in nobody.json()["errors"]] == ["contact.email"]


async def test_bad_values_are_refused_per_field_and_write_nothing(center, sessions):
    await publish(center, "ticket", "support", fields=["subject", "description", "category"])
    before = len(await center.listed("sol", "customer"))
    sent = await send(
        center.client,
        "support",
        {"subject": "", "category": "nonsense", "status": "closed"},
        contact={"email": "a@example.com"},
    )
    assert sent.status_code == 422
    assert sent.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in sent.json()["errors"]] == ["status"]  # not on the form
    sent = await send(
        center.client,
        "support",
        {"subject": "", "category": "nonsense"},
        contact={"email": "a@example.com"},
    )
    assert sent.status_code == 422
    assert {e["field"] for e in sent.json()["errors"]} == {"subject", "category"}
    assert len(await center.listed("sol", "customer")) == before
    async with sessions() as db:
        assert (await db.execute(select(PublicSubmission))).scalars().all() == []


async def test_a_plain_form_is_written_as_the_public_principal(center, sessions):
    await publish(
        center, "customer", "register", fields=["name", "company", "level"], collect_email=True
    )
    described = await center.client.get("/api/v1/public/forms/register")
    assert [f["key"] for f in described.json()["fields"]] == ["name", "company", "level"]
    assert described.json()["contact"] == ["email"]
    sent = await send(
        center.client,
        "register",
        {"name": "Acme 采购部", "company": "Acme"},
        contact={"email": "buyer@acme.example"},
    )
    assert sent.status_code == 201, sent.text
    record = await center.get(sent.json()["record_id"], "customer")
    assert record["values"]["name"] == "Acme 采购部" and record["created_by"] is None
    assert record["values"]["email"] is None  # the contact e-mail is not a field of the form
    seen = await center.client.get(f"/api/v1/public/forms/register/tracking/{sent.json()['token']}")
    assert seen.json()["values"] == {"name": "Acme 采购部", "company": "Acme", "level": "standard"}
    async with sessions() as db:
        [job] = (await db.execute(select(Job).where(Job.name == MAIL_JOB))).scalars().all()
    assert job.payload["to"] == "buyer@acme.example"
    # A field the link does not show cannot be set, even if the form has it.
    hidden = await send(center.client, "register", {"name": "X", "wechat_openid": "o-1"})
    assert hidden.status_code == 422
    assert [e["field"] for e in hidden.json()["errors"]] == ["wechat_openid"]
    # The survey's ticket is required and not on its link: the writer says so, per field.
    await publish(center, "survey", "feedback", fields=["score", "comment"], collect_email=False)
    refused = await send(center.client, "feedback", {"score": 5, "comment": "很好"})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["ticket"]


async def test_challenge_honeypot_and_replays(center):
    await publish(center, "ticket", "support")
    values = {"subject": "Printer jam"}
    contact = {"email": "kim@example.com"}
    asked = await challenge(center.client, "support")
    wrong = {**asked, "answer": str(int(asked["answer"]) + 1)}
    url = "/api/v1/public/forms/support"
    refused = await center.client.post(
        url, json={"values": values, "contact": contact, "challenge": wrong}
    )
    assert refused.status_code == 422 and refused.json()["code"] == "public_form_challenge"
    bot = await center.client.post(
        url,
        json={"values": values, "contact": contact, "challenge": asked, "website": "x"},
    )
    assert bot.status_code == 422 and bot.json()["code"] == "public_form_spam"
    ok = await center.client.post(
        url, json={"values": values, "contact": contact, "challenge": asked}
    )
    assert ok.status_code == 201, ok.text
    replay = await center.client.post(
        url, json={"values": values, "contact": contact, "challenge": asked}
    )
    assert replay.status_code == 422 and replay.json()["code"] == "public_form_challenge_used"
    # A token is bound to its form and expires.
    token = challenges.make("s", 1, now=1000)
    answer = str(eval(token.question.split("=")[0]))
    assert challenges.check("s", 1, token.token, answer, now=1001).ok
    assert not challenges.check("s", 2, token.token, answer, now=1001).ok
    assert not challenges.check("s", 1, token.token, answer, now=1000 + 31 * 60).ok
    assert not challenges.check("other", 1, token.token, answer, now=1001).ok


async def test_submissions_are_rate_limited_per_address(center):
    await publish(center, "ticket", "support", rate_limit="2/hour")
    for n in range(2):
        sent = await send(
            center.client, "support", {"subject": f"n{n}"}, contact={"email": "a@example.com"}
        )
        assert sent.status_code == 201, sent.text
    third = await send(
        center.client, "support", {"subject": "n3"}, contact={"email": "a@example.com"}
    )
    assert third.status_code == 429 and third.json()["code"] == "public_form_rate_limited"
    assert int(third.headers["Retry-After"]) > 0
    zh = await center.client.post(
        "/api/v1/public/forms/support",
        json={"values": {}, "challenge": {"token": "x", "answer": "1"}},
        headers={"Accept-Language": "zh-CN"},
    )
    assert zh.status_code == 429 and "提交过于频繁" in zh.json()["title"]


async def test_tracking_shows_status_and_replies_and_can_be_revoked(center):
    made = await publish(center, "ticket", "support")
    sent = await send(
        center.client, "support", {"subject": "Broken screen"}, contact={"email": "b@example.com"}
    )
    body = sent.json()
    token = body["token"]
    assert body["tracking_url"].endswith(f"/p/support/t/{token}")
    await center.create(
        "sam",
        "communication",
        ticket=body["record_id"],
        direction="outbound",
        channel="web",
        body="We will replace it.",
    )
    await center.create(
        "sam",
        "communication",
        ticket=body["record_id"],
        direction="inbound",
        channel="web",
        body="not shown",
    )
    seen = await center.client.get(f"/api/v1/public/forms/support/tracking/{token}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] and seen.json()["number"] == body["ticket_number"]
    assert [r["body"] for r in seen.json()["replies"]] == ["We will replace it."]
    page = await center.client.get(f"/p/support/t/{token}", params={"lang": "zh-CN"})
    assert page.status_code == 200 and "We will replace it." in page.text
    assert body["ticket_number"] in page.text and "not shown" not in page.text
    assert "工单编号" in page.text
    guessed = await center.client.get("/p/support/t/" + "A" * 32)
    assert guessed.status_code == 404
    revoked = await center.client.delete(
        f"/api/v1/apps/{center.app['id']}/public-forms/{made['id']}/tracking/{body['record_id']}",
        headers=center.admin.headers,
    )
    assert revoked.status_code == 204
    gone = await center.client.get(f"/api/v1/public/forms/support/tracking/{token}")
    assert gone.status_code == 404 and gone.json()["code"] == "tracking_not_found"


async def test_the_tracking_link_is_mailed(center, sessions, settings):
    await publish(center, "ticket", "support", title={"en": "Submit a ticket"})
    sent = await send(
        center.client, "support", {"subject": "Refund"}, contact={"email": "c@example.com"}
    )
    token = sent.json()["token"]

    async def mailed():
        async with sessions() as db:
            job = (await db.execute(select(Job).where(Job.name == MAIL_JOB))).scalar_one()
            return job if job.status == "done" else None

    with smtp_server() as mailbox:
        async with working(sessions, settings, smtp_host="127.0.0.1", smtp_port=mailbox.port):
            await eventually(mailed, message="the tracking link to be mailed")
    [message] = mailbox.messages
    assert str(make_header(decode_header(message["Subject"]))) == "Your submission: Submit a ticket"
    assert f"/p/support/t/{token}" in message.get_payload(decode=True).decode()
    assert mailbox.envelopes[0][1] == ["c@example.com"]


async def test_pages_render_validate_and_redirect_to_tracking(center):
    await publish(
        center,
        "ticket",
        "support",
        fields=["subject", "description", "category"],
        title={"en": "Submit a ticket", "zh-CN": "提交工单"},
    )
    page = await center.client.get("/p/support", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "提交工单" in page.text
    assert 'name="website"' in page.text and 'name="challenge_token"' in page.text
    assert 'name="status"' not in page.text and 'name="customer"' not in page.text
    en = await center.client.get("/p/support?lang=en", headers={"Accept-Language": "zh-CN"})
    assert "Submit a ticket" in en.text
    question = en.text.split("Check question: ", 1)[1].split("<", 1)[0]
    token = en.text.split('name="challenge_token" value="', 1)[1].split('"', 1)[0]
    form = {
        "_fields": ["subject", "description", "category"],
        "subject": "",
        "category": "consult",
        "contact.email": "not-an-address",
        "challenge_token": token,
        "challenge_answer": solve(question),
    }
    bad = await center.client.post("/p/support?lang=en", data=form)
    assert bad.status_code == 422
    assert "Enter a valid e-mail address." in bad.text and "field--invalid" in bad.text
    form.update({"subject": "Screen flickers", "contact.email": "d@example.com"})
    good = await center.client.post("/p/support?lang=en", data=form)
    assert good.status_code == 303, good.text
    tracked = await center.client.get(good.headers["location"])
    assert tracked.status_code == 200 and "Screen flickers" in tracked.text
    assert "data-submitted" in tracked.text
    missing = await center.client.get("/p/nothing-here")
    assert missing.status_code == 404
