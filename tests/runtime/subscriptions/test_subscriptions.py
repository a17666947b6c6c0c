"""Outbound webhook subscriptions: CRUD for designers (409 on a stale row version), record
events delivered signed to a real local HTTP receiver by a job (retried after a 500), every
attempt in the delivery log, and a replay with the same body and idempotency key."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.net.webhooks import verify_signature
from runtime.records.forms import resolve_app
from tests.runtime.flows.conftest import working
from tests.support.jobs import eventually
from tests.support.servers import http_server

pytestmark = pytest.mark.asyncio
SECRET = "subscriber-secret-0123456789"


def base(center) -> str:
    return f"/api/v1/apps/{center.app['id']}/webhook-subscriptions"


async def form_id(sessions, key: str) -> int:
    async with sessions() as db:
        return (await resolve_app(db, "customer_center")).handles[key].form.id


async def subscribe(center, url: str, **values: Any) -> dict[str, Any]:
    body = {"name": "CRM", "events": ["created"], "url": url, "secret": SECRET, **values}
    made = await center.client.post(base(center), json=body, headers=center.admin.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


async def deliveries(center, **params: Any) -> list[dict[str, Any]]:
    got = await center.client.get(
        f"{base(center)}/deliveries", params=params, headers=center.admin.headers
    )
    assert got.status_code == 200, got.text
    return list(got.json()["items"])


async def test_designers_manage_subscriptions(center, sessions):
    made = await center.client.post(
        base(center),
        json={"name": "ERP", "events": ["created", "deleted"], "url": "https://erp.example/in"},
        headers=center.admin.headers,
    )
    assert made.status_code == 201, made.text
    created = made.json()
    assert len(created["secret"]) >= 32  # generated, shown this once
    got = await center.client.get(f"{base(center)}/{created['id']}", headers=center.admin.headers)
    assert got.status_code == 200 and got.json()["secret"] is None
    assert got.json()["events"] == ["created", "deleted"] and got.json()["form_id"] is None
    changed = await center.client.patch(
        f"{base(center)}/{created['id']}",
        json={"row_version": 1, "active": False, "form_id": await form_id(sessions, "ticket")},
        headers=center.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["active"] is False and changed.json()["row_version"] == 2
    stale = await center.client.patch(
        f"{base(center)}/{created['id']}",
        json={"row_version": 1, "name": "x"},
        headers=center.admin.headers,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    assert stale.json()["row_version"] == 2
    listed = await center.client.get(base(center), headers=center.admin.headers)
    assert [s["name"] for s in listed.json()["items"]] == ["ERP"]
    # agents are not designers
    denied = await center.client.get(base(center), headers=center.people["sam"].headers)
    assert denied.status_code == 403, denied.text
    bad = await center.client.post(
        base(center),
        json={"name": "x", "events": ["moved"], "url": "ftp://x", "form_id": 99999},
        headers=center.admin.headers,
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"events[0]", "url"}
    unknown = await center.client.post(
        base(center),
        json={"name": "x", "events": ["created"], "url": "https://a.example", "form_id": 99999},
        headers=center.admin.headers,
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "form_id"
    gone = await center.client.delete(
        f"{base(center)}/{created['id']}", headers=center.admin.headers
    )
    assert gone.status_code == 204
    missing = await center.client.get(
        f"{base(center)}/{created['id']}", headers=center.admin.headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "subscription_not_found"


async def test_events_are_delivered_signed_retried_logged_and_replayed(center, sessions, settings):
    with http_server((500, {"busy": True}), (200, {"ok": True})) as hook:
        customers = await form_id(sessions, "customer")
        made = await subscribe(center, hook.url, form_id=customers)
        other = await subscribe(center, hook.url, form_id=await form_id(sessions, "ticket"))
        quiet = await subscribe(center, hook.url, events=["deleted"])
        record = await center.create("sam", "customer", name="赵敏")
        async with working(sessions, settings):

            async def delivered():
                rows = await deliveries(center, subscription=made["id"])
                return rows if any(r["outcome"] == "delivered" for r in rows) else None

            rows = await eventually(delivered, message="the event to be delivered")
        assert [(r["outcome"], r["attempt"], r["status_code"]) for r in rows] == [
            ("delivered", 2, 200),
            ("failed", 1, 500),
        ]
        assert rows[1]["response_excerpt"] == '{"busy": true}'
        assert {r["source_kind"] for r in rows} == {"subscription"}
        assert len(hook.requests) == 2  # the ticket and the deleted-only ones did not fire
        for request in hook.requests:
            assert verify_signature(
                SECRET,
                request.headers["X-Tangram-Timestamp"],
                request.raw,
                request.headers["X-Tangram-Signature"],
            )
        [key] = {r.headers["Idempotency-Key"] for r in hook.requests}
        body = hook.requests[0].body
        assert body["event"] == "record.created" and body["form"] == "customer"
        assert body["app"] == "customer_center" and body["record_id"] == record["id"]
        assert body["subscription_id"] == made["id"] and body["changes"]["name"][1] == "赵敏"
        assert await deliveries(center, subscription=other["id"]) == []
        assert await deliveries(center, subscription=quiet["id"]) == []

        replayed = await center.client.post(
            f"{base(center)}/deliveries/{rows[0]['id']}/replay", headers=center.admin.headers
        )
        assert replayed.status_code == 200, replayed.text
        again = replayed.json()
        assert again["outcome"] == "delivered" and again["attempt"] == 3
        assert len(hook.requests) == 3
        assert hook.requests[2].headers["Idempotency-Key"] == key
        assert hook.requests[2].body == body
        assert [r["attempt"] for r in await deliveries(center)] == [3, 2, 1]
        assert [r["outcome"] for r in await deliveries(center, outcome="failed")] == ["failed"]


async def test_a_refusing_receiver_is_not_retried_and_replay_is_checked(center, sessions, settings):
    with http_server((404, {"error": "no such hook"})) as hook:
        made = await subscribe(center, hook.url, events=["created", "updated"])
        record = await center.create("sam", "customer", name="周芷若")
        await center.patch("sam", record["id"], "customer", company="峨眉")
        async with working(sessions, settings):

            async def both():
                rows = await deliveries(center, subscription=made["id"])
                return rows if len(rows) == 2 else None

            rows = await eventually(both, message="both events to be tried")
        assert {(r["outcome"], r["attempt"]) for r in rows} == {("rejected", 1)}
        events = sorted(r.body["event"] for r in hook.requests)
        assert events == ["record.created", "record.updated"]
    missing = await center.client.post(
        f"{base(center)}/deliveries/99999/replay", headers=center.admin.headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "delivery_not_found"
