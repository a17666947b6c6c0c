"""One customer identity on the Customer Center, both databases: a person who wrote by mail and
by WeChat is two customers until a duplicate check finds them and a merge makes them one —
tickets, messages and the channel log move, the openid goes to the survivor so the next WeChat
message lands there — and undo puts everything back; tickets merge the same way."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from runtime.audit.models import AuditEntry
from runtime.channels.intake import Identity, Inbound
from runtime.channels.models import ChannelMessage
from tests.runtime.channels.test_intake import make_channel, take

pytestmark = pytest.mark.asyncio
BASE = "/api/v1/records/customer_center"


def wechat(body: str, msg_id: str, openid: str = "oWang123") -> Inbound:
    return Inbound(
        channel="wechat",
        identity=Identity(openid=openid, name="王伟"),
        body=body,
        external_id=msg_id,
        join_open=True,
    )


def email(body: str, message_id: str) -> Inbound:
    return Inbound(
        channel="email",
        identity=Identity(email="wang.wei@example.cn", name="王伟 "),
        subject="发票问题",
        body=body,
        external_id=message_id,
        thread_key=message_id,
        join_open=False,
    )


async def test_duplicates_merge_and_undo_across_channels(center, sessions):
    client, admin = center.client, center.admin
    mailbox = await make_channel(sessions, center, "email", "mailbox")
    account = await make_channel(sessions, center, "wechat", "mp")
    by_mail = await take(sessions, mailbox, email("请开发票", "<a1@example.cn>"))
    by_wechat = await take(sessions, account, wechat("发票什么时候到？", "w1"))
    survivor, merged = by_mail.customer_id, by_wechat.customer_id
    assert survivor != merged

    found = await client.get(f"{BASE}/customer/duplicates", headers=admin.headers)
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["by"] == ["wechat_openid", "email", "phone", "name"]
    [group] = body["groups"]
    assert group["field"] == "name" and group["value"] == "王伟"
    assert [r["id"] for r in group["records"]] == [survivor, merged]
    mine = await client.get(
        f"{BASE}/customer/duplicates", params={"record": merged}, headers=admin.headers
    )
    assert len(mine.json()["groups"]) == 1
    bad = await client.get(
        f"{BASE}/customer/duplicates",
        params={"by": "nope"},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "by"

    # Agents may not merge (it deletes a record); a record is not merged into itself.
    denied = await client.post(
        f"{BASE}/customer/{survivor}/merge",
        json={"merge": merged},
        headers=center.people["sam"].headers,
    )
    assert denied.status_code == 403
    itself = await client.post(
        f"{BASE}/customer/{survivor}/merge", json={"merge": survivor}, headers=admin.headers
    )
    assert itself.status_code == 422 and itself.json()["errors"][0]["code"] == "same_record"

    done = await client.post(
        f"{BASE}/customer/{survivor}/merge", json={"merge": merged}, headers=admin.headers
    )
    assert done.status_code == 200, done.text
    merge = done.json()
    assert merge["moved"] == {"ticket.customer": 1, "communication.customer": 1}
    assert merge["filled"] == ["wechat_openid"]
    assert (await center.values(survivor, "customer"))["wechat_openid"] == "oWang123"
    gone = await client.get(f"{BASE}/customer/{merged}", headers=admin.headers)
    assert gone.status_code == 200 and gone.json()["deleted_at"] is not None
    assert (await center.values(by_wechat.ticket_id))["customer"] == survivor
    comm = await center.values(by_wechat.communication_id, "communication")
    assert comm["customer"] == survivor
    async with sessions() as db:
        log = {
            m.external_id: m.customer_id
            for m in (await db.execute(select(ChannelMessage))).scalars()
        }
        assert log == {"<a1@example.cn>": survivor, "w1": survivor}
        actions = [a.action for a in (await db.execute(select(AuditEntry))).scalars()]
        assert "record.merge" in actions

    # The next WeChat message finds the one customer and joins their open ticket.
    later = await take(sessions, account, wechat("还没收到", "w2"))
    assert later.customer_id == survivor and not later.created_customer
    overview = await client.get(f"{BASE}/customer/{survivor}/overview", headers=admin.headers)
    assert overview.status_code == 200
    channels = {e["values"].get("channel") for e in overview.json()["items"]}
    assert {"email", "wechat"} <= channels

    history = await client.get(f"{BASE}/customer/{merged}/merges", headers=admin.headers)
    assert [m["id"] for m in history.json()] == [merge["id"]]

    undone = await client.post(f"{BASE}/customer/merges/{merge['id']}/undo", headers=admin.headers)
    assert undone.status_code == 200, undone.text
    assert undone.json()["undone_at"] is not None
    back = await center.values(merged, "customer")
    assert back["wechat_openid"] == "oWang123"
    assert (await center.values(survivor, "customer"))["wechat_openid"] is None
    assert (await center.values(by_wechat.ticket_id))["customer"] == merged
    assert (await center.values(by_mail.ticket_id))["customer"] == survivor
    async with sessions() as db:
        log = {
            m.external_id: m.customer_id
            for m in (await db.execute(select(ChannelMessage))).scalars()
        }
    assert log["w1"] == merged and log["<a1@example.cn>"] == survivor
    again = await client.post(
        f"{BASE}/customer/merges/{merge['id']}/undo",
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert again.status_code == 409 and again.json()["code"] == "merge_undone"
    assert again.json()["title"] == "该合并已被撤销。"


async def test_merging_tickets_moves_their_messages(center, sessions):
    client, admin = center.client, center.admin
    mailbox = await make_channel(sessions, center, "email", "mailbox")
    first = await take(sessions, mailbox, email("第一封", "<t1@example.cn>"))
    second = await take(sessions, mailbox, email("另开一封", "<t2@example.cn>"))
    assert first.ticket_id != second.ticket_id
    done = await client.post(
        f"{BASE}/ticket/{first.ticket_id}/merge",
        json={"merge": second.ticket_id, "fill": []},
        headers=admin.headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["moved"]["communication.ticket"] == 1 and done.json()["filled"] == []
    comm = await center.values(second.communication_id, "communication")
    assert comm["ticket"] == first.ticket_id
    # A reply to the merged ticket's mail threads to the survivor.
    reply = await take(
        sessions,
        mailbox,
        Inbound(
            channel="email",
            identity=Identity(email="wang.wei@example.cn"),
            subject="Re: 发票问题",
            body="补充",
            external_id="<t3@example.cn>",
            thread_key="<t3@example.cn>",
            thread_keys=("<t2@example.cn>",),
        ),
    )
    assert reply.ticket_id == first.ticket_id
    unknown = await client.post(f"{BASE}/ticket/merges/999999/undo", headers=admin.headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "merge_not_found"
    stale = await client.post(
        f"{BASE}/ticket/{first.ticket_id}/merge",
        json={"merge": second.ticket_id},
        headers=admin.headers,
    )
    assert stale.status_code == 404  # the merged ticket is gone already


async def test_merge_and_undo_from_the_pages(center, sessions):
    from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD
    from tests.runtime.web.pages import hidden, sign_in

    client = center.client
    mailbox = await make_channel(sessions, center, "email", "mailbox")
    account = await make_channel(sessions, center, "wechat", "mp")
    survivor = (await take(sessions, mailbox, email("请开发票", "<p1@example.cn>"))).customer_id
    merged = (await take(sessions, account, wechat("发票呢", "pw1"))).customer_id
    await sign_in(client, "admin", ADMIN_PASSWORD, "/")
    record = f"/apps/customer_center/forms/customer/records/{survivor}"
    page = await client.get(record)
    assert f'href="{record}/merge"' in page.text
    listing = await client.get("/apps/customer_center/forms/customer/duplicates")
    assert listing.status_code == 200 and listing.text.count("data-group=") == 1
    assert f'href="{record}/merge"' in listing.text

    form = await client.get(f"{record}/merge", headers={"Accept-Language": "zh-CN"})
    assert form.status_code == 200 and "可能的重复记录" in form.text
    assert f'name="merge" value="{merged}"' in form.text
    bad = await client.post(
        f"{record}/merge", data={"csrf_token": hidden(form.text, "csrf_token"), "other": "99999"}
    )
    assert bad.status_code == 404 and "#99999" in bad.text
    done = await client.post(
        f"{record}/merge", data={"csrf_token": hidden(form.text, "csrf_token"), "merge": merged}
    )
    assert done.status_code == 303
    shown = await client.get(done.headers["location"])
    assert "data-merged=" in shown.text and "data-no-candidates" in shown.text
    merge_id = int(done.headers["location"].rsplit("=", 1)[1])
    undone = await client.post(
        f"/apps/customer_center/forms/customer/merges/{merge_id}/undo",
        data={"csrf_token": hidden(form.text, "csrf_token")},
    )
    assert undone.status_code == 303 and "undone=" in undone.headers["location"]
    assert (await center.get(merged, "customer"))["deleted_at"] is None
    after = await client.get(undone.headers["location"])
    assert f'name="merge" value="{merged}"' in after.text  # a duplicate again

    client.cookies.clear()
    await sign_in(client, "sam", USER_PASSWORD, "/")
    assert (await client.get(f"{record}/merge")).status_code == 403
    page = await client.get(record)
    assert f'href="{record}/merge"' not in page.text
