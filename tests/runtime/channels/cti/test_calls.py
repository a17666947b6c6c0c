"""Click-to-call: a signed request to the telephony system's call API, with the agent's
extension; the answer shown, failures logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from runtime.channels.models import FAILED, OUT, SENT
from runtime.net.models import WebhookDelivery
from runtime.net.webhooks import verify_signature
from tests.runtime.channels.cti.support import CALL_SECRET, logged, make_cti
from tests.support.servers import http_server

pytestmark = pytest.mark.asyncio


def calls(center) -> str:
    return f"/api/v1/apps/{center.app['id']}/channels/phone/calls"


async def test_click_to_call_reaches_the_telephony_system(center, client, sessions):
    with http_server((200, {"accepted": True, "pbx_call": "p-77"})) as pbx:
        channel = await make_cti(center, call_url=pbx.url)
        placed = await client.post(
            calls(center),
            json={"to": "+86 139 0013 9000", "record": True},
            headers=center.people["sam"].headers,
        )
        assert placed.status_code == 200, placed.text
        answer = placed.json()
        assert answer["status"] == "sent" and answer["extension"] == "801"
        assert answer["status_code"] == 200 and answer["answer"]["pbx_call"] == "p-77"
        [request] = pbx.requests
        assert request.method == "POST" and request.path == "/hook"
        assert request.body["extension"] == "801" and request.body["to"] == "+86 139 0013 9000"
        assert request.body["record"] is True and request.body["requested_by"] == "sam"
        assert request.body["call_id"] == answer["call_id"]
        assert verify_signature(
            CALL_SECRET,
            request.headers["X-Tangram-Timestamp"],
            request.raw,
            request.headers["X-Tangram-Signature"],
        )
    [entry] = await logged(sessions, channel["id"])
    assert (entry.direction, entry.status, entry.external_id) == (
        OUT,
        SENT,
        f"call:{answer['call_id']}",
    )
    async with sessions() as db:
        delivery = (await db.execute(select(WebhookDelivery))).scalar_one()
    assert delivery.outcome == "delivered" and delivery.source_key == "customer_center/phone"


async def test_a_failed_call_is_shown_and_logged(center, client, sessions):
    with http_server((503, {"error": "busy"})) as pbx:
        channel = await make_cti(center, call_url=pbx.url)
        failed = await client.post(
            calls(center), json={"to": "13900139000"}, headers=center.people["sue"].headers
        )
        assert failed.status_code == 502, failed.text
        assert failed.json()["code"] == "cti_call_failed"
        assert "503" in failed.json()["detail"]
    [entry] = await logged(sessions, channel["id"])
    assert entry.status == FAILED and entry.code == "cti.call_failed"
    assert "13900139000 from 802" in entry.detail


async def test_click_to_call_needs_an_extension_a_url_and_a_number(center, client):
    await make_cti(center)
    no_url = await client.post(
        calls(center), json={"to": "13900139000"}, headers=center.people["sam"].headers
    )
    assert no_url.status_code == 409 and no_url.json()["code"] == "cti_no_call_url"
    channel = await client.get(
        f"/api/v1/apps/{center.app['id']}/channels/phone", headers=center.admin.headers
    )
    patched = await client.patch(
        f"/api/v1/apps/{center.app['id']}/channels/phone",
        json={
            "row_version": channel.json()["row_version"],
            "settings": {"call_url": "http://127.0.0.1:9/call"},
        },
        headers=center.admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["secrets_set"] == ["secret"]  # the stored secret was kept
    nobody = await client.post(
        calls(center), json={"to": "13900139000"}, headers=center.people["cara"].headers
    )
    assert nobody.status_code == 403 and nobody.json()["code"] == "cti_no_extension"
    garbage = await client.post(
        calls(center), json={"to": "call me; rm -rf"}, headers=center.people["sam"].headers
    )
    assert garbage.status_code == 422
    assert garbage.json()["errors"][0]["field"] == "to"
    anonymous = await client.post(calls(center), json={"to": "13900139000"})
    assert anonymous.status_code == 401
