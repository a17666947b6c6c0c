"""A visitor fills the Customer Center's public "Submit a ticket" form on a phone, without
signing in, and follows the ticket on its tracking page: the ticket number, its status and an
agent's reply; the ticket landed on the customer the visitor's e-mail names."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, make_account
from tests.runtime.rules.conftest import make_group
from tests.templates.customer_center import install as template

PHONE = {"width": 390, "height": 844}


def _client(live: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=live.app, client=("127.0.0.1", 50003))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _arrange(live: Any) -> dict[str, Any]:
    """The template installed, a customer with an e-mail, the ticket form at /p/support."""

    async def arrange(sessions: Any) -> dict[str, Any]:
        async with _client(live) as client:
            admin = await make_account(client, sessions, "admin", ADMIN_PASSWORD, admin=True)
            for group in ("first_line", "finance", "warehouse", "supervisors"):
                await make_group(client, admin, group, [admin.id])
            app = await template.install(client, admin)
            customer = await client.post(
                "/api/v1/records/customer_center/customer",
                json={"values": {"name": "周敏", "email": "zhou.min@example.cn"}},
                headers=admin.headers,
            )
            assert customer.status_code == 201, customer.text
            made = await client.post(
                f"/api/v1/apps/{app['id']}/public-forms",
                json={
                    "form": "ticket",
                    "slug": "support",
                    "fields": ["subject", "description", "category"],
                    "title": {"en": "Submit a ticket", "zh-CN": "提交工单"},
                },
                headers=admin.headers,
            )
            assert made.status_code == 201, made.text
            return {"admin": admin, "customer": customer.json()["id"]}

    return live.run(arrange, timeout=120)


def _reply(live: Any, admin: Any, ticket_id: int, body: str) -> dict[str, Any]:
    async def write(sessions: Any) -> dict[str, Any]:
        async with _client(live) as client:
            made = await client.post(
                "/api/v1/records/customer_center/communication",
                json={
                    "values": {
                        "ticket": ticket_id,
                        "direction": "outbound",
                        "channel": "web",
                        "body": body,
                    }
                },
                headers=admin.headers,
            )
            assert made.status_code == 201, made.text
            got = await client.get(
                f"/api/v1/records/customer_center/ticket/{ticket_id}", headers=admin.headers
            )
            return dict(got.json()["values"])

    return live.run(write)


@pytest.mark.both_databases
def test_a_visitor_submits_a_ticket_on_a_phone_and_follows_it(page, live):
    arranged = _arrange(live)
    page.set_viewport_size(PHONE)
    page.goto(f"{live.url}/p/support")
    assert page.locator("h1").inner_text() == "Submit a ticket"
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("input[name=subject]").fill("Order 1042 arrived damaged")
    page.locator("textarea[name=description]").fill("The box was crushed.")
    page.locator("[name='contact.name']").fill("Zhou Min")
    page.locator("[name='contact.email']").fill("Zhou.Min@example.cn")
    page.locator("[name=challenge_answer]").fill("0")  # a wrong answer first
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    assert page.locator("#challenge_answer-errors").is_visible()
    assert page.locator("input[name=subject]").input_value() == "Order 1042 arrived damaged"
    question = page.locator("label[for=f-challenge_answer]").inner_text()
    a, b = map(int, re.findall(r"(\d+) \+ (\d+)", question)[0])
    page.locator("[name=challenge_answer]").fill(str(a + b))
    with page.expect_navigation():
        page.get_by_role("button", name="Submit").click()
    assert "/p/support/t/" in page.url
    assert page.locator("[data-submitted]").is_visible()
    number = page.locator("[data-ticket-number]").inner_text()
    assert number
    tracking = page.url.split("?", 1)[0]
    ticket = _ticket_by_number(live, arranged["admin"], number)
    assert ticket["values"]["customer"] == arranged["customer"]
    assert ticket["values"]["channel"] == "web"
    _reply(live, arranged["admin"], ticket["id"], "A new one is on its way.")
    page.goto(tracking)
    assert page.locator("[data-ticket-number]").inner_text() == number
    assert page.locator("[data-status]").inner_text()
    assert page.locator("[data-reply]").inner_text().endswith("A new one is on its way.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The only console message: the wrong answer's 422 (the page re-rendered with errors).
    errors = page.errors  # type: ignore[attr-defined]
    assert [e for e in errors if "status of 422" not in e] == [] and len(errors) == 1


def _ticket_by_number(live: Any, admin: Any, number: str) -> dict[str, Any]:
    async def read(sessions: Any) -> dict[str, Any]:
        async with _client(live) as client:
            got = await client.get(
                "/api/v1/records/customer_center/ticket",
                params={"limit": 50},
                headers=admin.headers,
            )
            [found] = [t for t in got.json()["items"] if t["values"]["number"] == number]
            return dict(found)

    return live.run(read)
