"""The builder's webhooks page: subscriptions created and edited through forms (secret shown
once, 409 on a stale edit), the delivery log with a replay button, and inbound hooks whose
revealed secret and curl recipe sign a delivery that is taken in."""

from __future__ import annotations

import json
import re
import time
from html import unescape

import pytest

from runtime.net.webhooks import signature
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD
from tests.runtime.flows.conftest import working
from tests.runtime.web.pages import sign_in
from tests.support.jobs import eventually
from tests.support.servers import http_server

pytestmark = pytest.mark.asyncio
PAGE = "/build/apps/customer_center/webhooks"


def revealed(html: str) -> str | None:
    found = re.search(r"<code data-secret>([^<]+)</code>", html)
    return unescape(found.group(1)) if found else None


async def test_subscriptions_and_the_delivery_log(center, sessions, settings):
    client = center.client
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD, PAGE)
    page = await client.get(PAGE)
    assert page.status_code == 200 and "No subscriptions yet." in page.text
    assert f'href="{PAGE}"' in page.text  # in the builder's navigation
    missing = await client.post(PAGE, data={"csrf_token": csrf, "name": "CRM", "events": "created"})
    assert missing.status_code == 422 and 'id="url-errors"' in missing.text
    with http_server((200, {"ok": True})) as hook:
        made = await client.post(
            PAGE,
            data={
                "csrf_token": csrf,
                "name": "CRM",
                "url": hook.url,
                "events": ["created", "updated"],
                "active": "on",
            },
        )
        assert made.status_code == 200, made.text
        secret = revealed(made.text)
        assert secret and len(secret) >= 32
        again = await client.get(PAGE)
        assert revealed(again.text) is None and "CRM" in again.text  # shown once
        await center.create("sam", "customer", name="张无忌")
        async with working(sessions, settings):

            async def logged():
                shown = await client.get(PAGE)
                return shown.text if "data-delivery=" in shown.text else None

            html = await eventually(logged, message="the delivery in the log")
        assert "record.created" in html and "Delivered" in html
        delivery_id = re.search(r'data-delivery="(\d+)"', html).group(1)
        sent = await client.post(
            f"{PAGE}/deliveries/{delivery_id}/replay", data={"csrf_token": csrf}
        )
        assert sent.status_code == 303
        assert len(hook.requests) == 2
        assert (
            hook.requests[0].headers["Idempotency-Key"]
            == hook.requests[1].headers["Idempotency-Key"]
        )
        shown = await client.get(sent.headers["location"])
        assert shown.text.count("data-delivery=") == 2 and "sent again" in shown.text
    listed = await client.get(
        f"/api/v1/apps/{center.app['id']}/webhook-subscriptions", headers=center.admin.headers
    )
    [subscription] = listed.json()["items"]
    edit = await client.get(f"{PAGE}/{subscription['id']}")
    assert edit.status_code == 200 and 'name="row_version" value="1"' in edit.text
    saved = await client.post(
        f"{PAGE}/{subscription['id']}",
        data={
            "csrf_token": csrf,
            "row_version": "1",
            "name": "CRM 2",
            "url": hook.url,
            "events": "deleted",
        },
    )
    assert saved.status_code == 303, saved.text
    stale = await client.post(
        f"{PAGE}/{subscription['id']}",
        data={
            "csrf_token": csrf,
            "row_version": "1",
            "name": "CRM 3",
            "url": hook.url,
            "events": "deleted",
        },
    )
    assert stale.status_code == 409, stale.text
    got = await client.get(
        f"/api/v1/apps/{center.app['id']}/webhook-subscriptions/{subscription['id']}",
        headers=center.admin.headers,
    )
    assert got.json()["name"] == "CRM 2" and got.json()["events"] == ["deleted"]
    assert got.json()["active"] is False  # the box was not ticked
    gone = await client.post(f"{PAGE}/{subscription['id']}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 303
    assert "No subscriptions yet." in (await client.get(PAGE)).text


async def test_an_inbound_hook_is_created_and_its_recipe_works(center):
    client = center.client
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD, PAGE)
    bad = await client.post(
        f"{PAGE}/hooks",
        data={
            "csrf_token": csrf,
            "hook_key": "crm",
            "hook_form": "customer",
            "mapping": "nope = /x",
        },
    )
    assert bad.status_code == 422, bad.text
    assert 'id="mapping-errors"' in bad.text
    made = await client.post(
        f"{PAGE}/hooks",
        data={
            "csrf_token": csrf,
            "hook_key": "crm",
            "hook_name": "CRM",
            "hook_form": "customer",
            "mapping": "name = /contact/name\ncompany = /org | 个人客户",
            "idempotency_header": "X-Delivery-Id",
        },
    )
    assert made.status_code == 200, made.text
    secret = revealed(made.text)
    assert secret and "/api/v1/hooks/customer_center/crm" in made.text
    assert "openssl dgst -sha256 -hmac" in made.text
    body = json.dumps({"contact": {"name": "殷离"}}).encode()
    stamp = int(time.time())
    sent = await client.post(
        "/api/v1/hooks/customer_center/crm",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Tangram-Timestamp": str(stamp),
            "X-Tangram-Signature": signature(secret, stamp, body),
        },
    )
    assert sent.status_code == 201, sent.text
    values = await center.values(sent.json()["record_id"], "customer")
    assert values["name"] == "殷离" and values["company"] == "个人客户"
    rotated = await client.post(f"{PAGE}/hooks/crm/secret", data={"csrf_token": csrf})
    assert rotated.status_code == 200
    fresh = revealed(rotated.text)
    assert fresh and fresh != secret
    stamp = int(time.time())
    old = await client.post(
        "/api/v1/hooks/customer_center/crm",
        content=body,
        headers={
            "X-Tangram-Timestamp": str(stamp),
            "X-Tangram-Signature": signature(secret, stamp, body),
        },
    )
    assert old.status_code == 401  # the old secret stopped working


async def test_only_designers_see_the_page(center):
    await sign_in(center.client, "sam", USER_PASSWORD)
    page = await center.client.get(PAGE)
    assert page.status_code == 403
