"""Inbound webhooks: signed JSON becomes a record through the one write path; unsigned,
forged, stale, malformed, oversize and unmappable deliveries are refused and logged; a
repeated delivery id answers with the first result and writes nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from runtime.channels.models import ChannelMessage
from runtime.channels.webhook.kind import resolve_pointer
from runtime.net.webhooks import signature

pytestmark = pytest.mark.asyncio
SECRET = "hook-secret-0123456789"
URL = "/api/v1/hooks/customer_center/crm"


async def make_hook(center, **settings: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "form": "customer",
        "fields": {
            "name": {"pointer": "/contact/name"},
            "email": {"pointer": "/contact/emails/0"},
            "company": {"pointer": "/org", "default": "个人客户"},
        },
        "secret": SECRET,
        "idempotency_header": "X-Delivery-Id",
    }
    values.update(settings)
    made = await center.client.post(
        f"/api/v1/apps/{center.app['id']}/channels",
        json={"kind": "webhook", "key": "crm", "name": "CRM", "settings": values},
        headers=center.admin.headers,
    )
    assert made.status_code == 201, made.text
    assert "secret" not in made.json()["settings"] and made.json()["secrets_set"] == ["secret"]
    return dict(made.json())


def signed(body: bytes, *, at: int | None = None, secret: str = SECRET, **extra: str):
    stamp = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json",
        "X-Tangram-Timestamp": str(stamp),
        "X-Tangram-Signature": signature(secret, stamp, body),
        **extra,
    }


def payload(name: str = "王芳", email: str = "wang.fang@example.cn", **more: Any) -> bytes:
    return json.dumps({"contact": {"name": name, "emails": [email]}, **more}).encode()


async def log(sessions) -> list[ChannelMessage]:
    async with sessions() as db:
        return list(
            (await db.execute(select(ChannelMessage).order_by(ChannelMessage.id))).scalars()
        )


async def customers(sessions, center) -> int:
    items = await center.listed("sam", "customer")
    return len(items)


async def test_a_signed_delivery_creates_the_mapped_record(center, sessions):
    await make_hook(center)
    body = payload()
    sent = await center.client.post(URL, content=body, headers=signed(body))
    assert sent.status_code == 201, sent.text
    result = sent.json()
    assert result["duplicate"] is False
    values = await center.values(result["record_id"], "customer")
    assert values["name"] == "王芳" and values["email"] == "wang.fang@example.cn"
    assert values["company"] == "个人客户"  # the constant, the body has no /org
    [entry] = await log(sessions)
    assert entry.status == "accepted" and entry.communication_id == result["record_id"]
    assert entry.raw == body and entry.id == result["message_id"]


async def test_a_replayed_delivery_answers_with_the_first_result(center, sessions):
    await make_hook(center)
    body = payload(org="华东贸易")
    headers = signed(body, **{"X-Delivery-Id": "evt-1"})
    first = await center.client.post(URL, content=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await center.client.post(
        URL, content=body, headers=signed(body, **{"X-Delivery-Id": "evt-1"})
    )
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "duplicate": True}
    assert await customers(sessions, center) == 1
    assert [e.status for e in await log(sessions)] == ["accepted"]
    other = await center.client.post(
        URL, content=body, headers=signed(body, **{"X-Delivery-Id": "evt-2"})
    )
    assert other.status_code == 201 and other.json()["record_id"] != first.json()["record_id"]


@pytest.mark.parametrize(
    ("headers", "code", "logged"),
    [
        (lambda b: {"Content-Type": "application/json"}, "webhook_unsigned", "webhook.unsigned"),
        (
            lambda b: signed(b, secret="another-secret-000000"),
            "webhook_bad_signature",
            "webhook.bad_signature",
        ),
        (lambda b: signed(b, at=int(time.time()) - 301), "webhook_stale", "webhook.stale"),
        (
            lambda b: {**signed(b), "X-Tangram-Timestamp": "soon"},
            "webhook_bad_signature",
            "webhook.bad_signature",
        ),
    ],
    ids=["unsigned", "forged", "stale", "bad-timestamp"],
)
async def test_unsigned_forged_and_stale_deliveries_are_refused_and_logged(
    center, sessions, headers, code, logged
):
    await make_hook(center)
    body = payload()
    sent = await center.client.post(
        URL, content=body, headers={**headers(body), "X-Delivery-Id": "evt-9"}
    )
    assert sent.status_code == 401, sent.text
    assert sent.headers["content-type"].startswith("application/problem+json")
    assert sent.json()["code"] == code
    [entry] = await log(sessions)
    assert (entry.status, entry.code, entry.raw) == ("quarantined", logged, body)
    assert entry.external_id is None  # an unauthenticated request claims no delivery id
    assert await customers(sessions, center) == 0
    # the genuine delivery with that id still goes through
    ok = await center.client.post(
        URL, content=body, headers=signed(body, **{"X-Delivery-Id": "evt-9"})
    )
    assert ok.status_code == 201, ok.text


async def test_a_changed_body_breaks_the_signature(center, sessions):
    await make_hook(center)
    body = payload()
    headers = signed(body)
    sent = await center.client.post(URL, content=payload(name="李雷"), headers=headers)
    assert sent.status_code == 401 and sent.json()["code"] == "webhook_bad_signature"


async def test_malformed_and_oversize_bodies(center, sessions):
    await make_hook(center, max_body_bytes=2000)
    body = b'{"contact": '
    sent = await center.client.post(URL, content=body, headers=signed(body))
    assert sent.status_code == 400 and sent.json()["code"] == "malformed_json", sent.text
    big = payload(note="x" * 3000)
    sent = await center.client.post(URL, content=big, headers=signed(big))
    assert sent.status_code == 413 and sent.json()["code"] == "payload_too_large", sent.text
    entries = await log(sessions)
    assert [(e.status, e.code) for e in entries] == [
        ("quarantined", "webhook.malformed"),
        ("quarantined", "webhook.too_large"),
    ]
    assert await customers(sessions, center) == 0


async def test_mapping_errors_are_422_per_field_logged_and_nothing_is_written(center, sessions):
    made = await make_hook(center)
    body = json.dumps({"contact": {"emails": ["not-an-email"]}}).encode()
    sent = await center.client.post(
        URL, content=body, headers=signed(body, **{"X-Delivery-Id": "e-5"})
    )
    assert sent.status_code == 422, sent.text
    fields = {e["field"] for e in sent.json()["errors"]}
    assert fields == {"name"}  # the pointer found nothing and there is no constant
    body = payload(email="not-an-email")
    sent = await center.client.post(
        URL, content=body, headers=signed(body, **{"X-Delivery-Id": "e-6"})
    )
    assert sent.status_code == 422, sent.text
    assert [e["field"] for e in sent.json()["errors"]] == ["email"]  # the form's validation
    entries = await log(sessions)
    assert [(e.status, e.code, e.external_id) for e in entries] == [
        ("quarantined", "webhook.invalid", "e-5"),
        ("quarantined", "webhook.invalid", "e-6"),
    ]
    assert await customers(sessions, center) == 0
    # fix the mapping (email comes from elsewhere) and reprocess the logged delivery
    changed = await center.client.patch(
        f"/api/v1/apps/{center.app['id']}/channels/crm",
        json={
            "row_version": made["row_version"],
            "settings": {"fields": {"name": {"pointer": "/contact/name"}}},
        },
        headers=center.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    again = await center.client.post(
        f"/api/v1/apps/{center.app['id']}/channels/crm/messages/{entries[1].id}/reprocess",
        headers=center.admin.headers,
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "accepted"
    assert await customers(sessions, center) == 1


async def test_settings_are_checked_against_the_form(center):
    async def create(fields: dict[str, Any], secret: str) -> list[str]:
        made = await center.client.post(
            f"/api/v1/apps/{center.app['id']}/channels",
            json={
                "kind": "webhook",
                "key": "bad",
                "name": "bad",
                "settings": {"form": "customer", "fields": fields, "secret": secret},
            },
            headers=center.admin.headers,
        )
        assert made.status_code == 422, made.text
        return sorted(e["field"] for e in made.json()["errors"])

    assert await create({"nope": {"pointer": "/x"}}, SECRET) == ["settings.fields.nope"]
    assert await create({"name": {"pointer": "x"}}, "short") == [
        "settings.fields.name.pointer",
        "settings.secret",
    ]


async def test_a_nul_character_is_a_422_not_a_500(center, sessions):
    await make_hook(center)
    body = payload(name="a\u0000b")
    sent = await center.client.post(URL, content=body, headers=signed(body))
    assert sent.status_code == 422 and sent.json()["errors"][0]["field"] == "body", sent.text
    [entry] = await log(sessions)
    assert (entry.status, entry.code) == ("quarantined", "webhook.invalid")


async def test_unknown_hook_is_404(center):
    body = payload()
    sent = await center.client.post(
        "/api/v1/hooks/customer_center/nope", content=body, headers=signed(body)
    )
    assert sent.status_code == 404 and sent.json()["code"] == "channel_not_found"


async def test_json_pointer():
    doc = {"a": {"b/c": [10, {"~k": 2}]}, "": 1}
    assert resolve_pointer(doc, "/a/b~1c/0") == 10
    assert resolve_pointer(doc, "/a/b~1c/1/~0k") == 2
    assert resolve_pointer(doc, "") == doc
    assert resolve_pointer(doc, "/") == 1
    from runtime.channels.webhook.kind import _MISSING

    assert resolve_pointer(doc, "/a/b~1c/01") is _MISSING
    assert resolve_pointer(doc, "/a/b~1c/5") is _MISSING
    assert resolve_pointer(doc, "/a/x") is _MISSING
