"""Signed call events in: refused when unsigned, forged, stale or unknown; one call log per call
on the customer and ticket, updated as the events arrive; replays write nothing."""

from __future__ import annotations

import time

import pytest

from runtime.channels.models import ACCEPTED, IGNORED, QUARANTINED
from runtime.net.webhooks import signature
from tests.runtime.channels.cti.support import (
    SECRET,
    URL,
    event,
    logged,
    make_cti,
    messages_on,
    post_event,
    signed,
)

pytestmark = pytest.mark.asyncio


async def test_unsigned_forged_and_stale_events_are_refused_and_logged(center, client, sessions):
    channel = await make_cti(center)
    body = event("ringing")
    raw, headers = signed(body)
    unsigned = await client.post(URL, content=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"].startswith("application/problem+json")
    assert unsigned.json()["code"] == "cti_bad_signature"
    forged = await post_event(client, body, secret="another-secret-0123456789")
    assert forged.status_code == 401
    stale = await post_event(client, body, stamp=int(time.time()) - 600)
    assert stale.status_code == 401
    tampered = await client.post(URL, content=raw.replace(b"c-1", b"c-2"), headers=headers)
    assert tampered.status_code == 401
    zh = await client.post(
        URL, content=raw, headers={"Content-Type": "application/json", "Accept-Language": "zh-CN"}
    )
    assert zh.status_code == 401 and "签名" in zh.json()["title"]
    log = await logged(sessions, channel["id"])
    assert len(log) == 5
    assert {(m.status, m.code) for m in log} == {(QUARANTINED, "cti.bad_signature")}
    assert log[0].detail == "unsigned" and log[0].raw == raw
    assert await messages_on(sessions, 1) == 0  # nothing was taken in


async def test_unknown_and_invalid_events_get_422_and_are_logged(center, client, sessions):
    channel = await make_cti(center)
    unknown = await post_event(client, event("transferred"))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "cti_unknown_event"
    assert "transferred" in unknown.json()["title"]
    broken = await post_event(
        client, event("ended", duration=-4, call_id="", at="2026-12-04T10:00:00")
    )
    assert broken.status_code == 422
    problem = broken.json()
    assert problem["code"] == "validation_failed"
    assert {e["field"] for e in problem["errors"]} == {"call_id", "duration", "at"}
    _raw, headers = signed({"event": "ringing"})
    not_json = await client.post(URL, content=b"{not json", headers=headers)
    assert not_json.status_code == 401  # the signature covers the bytes sent
    stamp = int(time.time())
    garbled = await client.post(
        URL,
        content=b"{not json",
        headers={
            "X-Tangram-Timestamp": str(stamp),
            "X-Tangram-Signature": signature(SECRET, stamp, b"{not json"),
        },
    )
    assert garbled.status_code == 400 and garbled.json()["code"] == "malformed_json"
    codes = [(m.status, m.code) for m in await logged(sessions, channel["id"])]
    assert codes == [
        (IGNORED, "cti.unknown_event"),
        (QUARANTINED, "cti.invalid"),
        (QUARANTINED, "cti.bad_signature"),
        (QUARANTINED, "cti.malformed"),
    ]
    missing = await client.post(
        "/api/v1/public/cti/customer_center/nosuch", content=b"{}", headers=headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "channel_not_found"


async def test_a_call_logs_one_communication_updated_as_events_arrive(center, client, sessions):
    channel = await make_cti(center)
    ringing = await post_event(client, event("ringing"))
    assert ringing.status_code == 200, ringing.text
    first = ringing.json()
    assert first["status"] == "accepted" and first["popped"] == [center.people["sam"].id]
    customer = await center.values(first["customer_id"], "customer")
    assert customer["phone"] == "+8613800138000"
    ticket = await center.values(first["ticket_id"])
    assert ticket["customer"] == first["customer_id"] and ticket["channel"] == "phone"
    log = await center.values(first["communication_id"], "communication")
    assert log["direction"] == "inbound" and log["channel"] == "phone"
    assert "振铃中 ringing" in log["body"] and "+86 138 0013 8000" in log["body"]
    assert log["sender"] == "+86 138 0013 8000" and log["recipient"] == "4008001234"

    answered = await post_event(client, event("answered", at="2026-12-04T10:00:09+08:00"))
    assert answered.json()["communication_id"] == first["communication_id"]
    ended = await post_event(client, event("ended", at="2026-12-04T10:02:14+08:00", duration=125))
    assert ended.status_code == 200 and ended.json()["ticket_id"] == first["ticket_id"]
    recording = await post_event(
        client, event("recording", recording_url="https://pbx.example.cn/rec/c-1.mp3")
    )
    assert recording.status_code == 200
    body = (await center.values(first["communication_id"], "communication"))["body"]
    assert "已接听 answered" in body
    assert "2:05 (125 s)" in body
    assert "https://pbx.example.cn/rec/c-1.mp3" in body
    assert "分机 Extension: 801" in body

    replay = await post_event(client, event("ringing"))
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert replay.json()["popped"] == []
    again = await post_event(client, event("ended", duration=125))
    assert again.json()["status"] == "duplicate"
    assert await messages_on(sessions, first["ticket_id"]) == 1
    log_rows = await logged(sessions, channel["id"])
    assert [m.external_id for m in log_rows] == [
        "c-1:ringing",
        "c-1:answered",
        "c-1:ended",
        "c-1:recording",
    ]
    assert {m.status for m in log_rows} == {ACCEPTED}
    assert {m.communication_id for m in log_rows} == {first["communication_id"]}


async def test_a_missed_call_of_a_known_customer_joins_their_open_ticket(center, client, sessions):
    await make_cti(center)
    known = await center.create("sam", "customer", name="李娜", phone="13900139000")
    open_ticket = await center.create("sam", "ticket", customer=known["id"], subject="退货")
    ringing = await post_event(
        client, event("ringing", call_id="c-9", **{"from": "139-0013-9000"}, extension="899")
    )
    assert ringing.status_code == 200, ringing.text
    got = ringing.json()
    assert got["customer_id"] == known["id"] and got["ticket_id"] == open_ticket["id"]
    # an extension mapped to nobody pops every agent's page
    assert sorted(got["popped"]) == sorted([center.people["sam"].id, center.people["sue"].id])
    ended = await post_event(
        client, event("ended", call_id="c-9", **{"from": "139-0013-9000"}, duration=0)
    )
    assert ended.status_code == 200
    body = (await center.values(got["communication_id"], "communication"))["body"]
    assert "未接 missed" in body
    assert await messages_on(sessions, open_ticket["id"]) == 1


async def test_a_new_ticket_per_call_when_the_channel_says_so(center, client, sessions):
    await make_cti(center, ticket="new")
    one = (await post_event(client, event("ringing", call_id="a"))).json()
    two = (await post_event(client, event("ringing", call_id="b"))).json()
    assert one["customer_id"] == two["customer_id"]
    assert one["ticket_id"] != two["ticket_id"]


async def test_an_outbound_call_logs_an_outbound_communication_without_a_pop(center, client):
    await make_cti(center)
    made = await post_event(
        client,
        event(
            "ringing",
            call_id="o-1",
            direction="outbound",
            **{"from": "801"},
            to="+86 137 0000 0001",
        ),
    )
    assert made.status_code == 200, made.text
    got = made.json()
    assert got["popped"] == []
    log = await center.values(got["communication_id"], "communication")
    assert log["direction"] == "outbound" and "去电 Outbound call" in log["body"]
    assert (await center.values(got["customer_id"], "customer"))["phone"] == "+8613700000001"


async def test_settings_are_checked_and_secrets_never_shown(center, client):
    bad = await client.post(
        f"/api/v1/apps/{center.app['id']}/channels",
        json={
            "kind": "cti",
            "key": "phone",
            "name": "x",
            "settings": {"secret": "short", "extensions": {"801": "nobody"}},
        },
        headers=center.admin.headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"settings.secret"}
    unknown = await client.post(
        f"/api/v1/apps/{center.app['id']}/channels",
        json={
            "kind": "cti",
            "key": "phone",
            "name": "x",
            "settings": {"secret": SECRET, "extensions": {"801": "nobody"}},
        },
        headers=center.admin.headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "settings.extensions.801"
    assert unknown.json()["errors"][0]["code"] == "unknown_user"
    made = await make_cti(center, call_url="http://127.0.0.1:9/call")
    assert made["secrets_set"] == ["call_secret", "secret"]
    assert "secret" not in made["settings"] and "call_secret" not in made["settings"]
    assert made["settings"]["extensions"] == {"801": "sam", "802": "sue"}


async def test_an_event_the_app_cannot_take_is_quarantined_and_reprocessable(
    center, client, sessions
):
    channel = await make_cti(center)
    base = f"/api/v1/apps/{center.app['id']}/channels/phone"
    wrong = await client.patch(
        base,
        json={"row_version": channel["row_version"], "intake": "nosuch"},
        headers=center.admin.headers,
    )
    assert wrong.status_code == 200, wrong.text
    refused = await post_event(client, event("ringing", call_id="q-1"))
    assert refused.status_code == 422 and refused.json()["code"] == "no_intake"
    forged = await post_event(client, event("ringing"), secret="forged-secret-0123456789")
    assert forged.status_code == 401
    kept, bad = await logged(sessions, channel["id"])
    assert (kept.status, kept.code, kept.external_id) == (
        QUARANTINED,
        "cti.no_intake",
        "q-1:ringing",
    )
    fixed = await client.patch(
        base,
        json={"row_version": wrong.json()["row_version"], "intake": None},
        headers=center.admin.headers,
    )
    assert fixed.status_code == 200, fixed.text
    again = await client.post(f"{base}/messages/{kept.id}/reprocess", headers=center.admin.headers)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == ACCEPTED and again.json()["communication_id"]
    refused_forgery = await client.post(
        f"{base}/messages/{bad.id}/reprocess", headers=center.admin.headers
    )
    assert refused_forgery.status_code == 409
    assert refused_forgery.json()["code"] == "not_reprocessable"
    replay = await post_event(client, event("ringing", call_id="q-1"))
    assert replay.json()["status"] == "duplicate"


async def test_a_retried_event_after_its_quarantine_is_taken_in_once(center, client, sessions):
    channel = await make_cti(center)
    base = f"/api/v1/apps/{center.app['id']}/channels/phone"
    first = (await post_event(client, event("ringing", call_id="r-1"))).json()
    wrong = await client.patch(
        base,
        json={"row_version": channel["row_version"], "intake": "nosuch"},
        headers=center.admin.headers,
    )
    assert (await post_event(client, event("answered", call_id="r-1"))).status_code == 422
    await client.patch(
        base,
        json={"row_version": wrong.json()["row_version"], "intake": None},
        headers=center.admin.headers,
    )
    retried = await post_event(client, event("answered", call_id="r-1"))
    assert retried.status_code == 200, retried.text
    assert retried.json()["communication_id"] == first["communication_id"]
    rows = await logged(sessions, channel["id"])
    assert [(m.external_id, m.status) for m in rows] == [
        ("r-1:ringing", ACCEPTED),
        ("r-1:answered", ACCEPTED),
    ]
    body = (await center.values(first["communication_id"], "communication"))["body"]
    assert "通话中 in progress" in body
