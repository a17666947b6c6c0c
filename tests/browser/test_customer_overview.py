"""The Customer Center's 360° customer page in Chromium: the key figures strip and the merged
timeline of tickets, communications, returns and surveys, "load more" (htmx, the focus on the
first new entry), no axe violation at 1280 and 375 px and no sideways scrolling on a phone,
in English and Chinese."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.browser.test_accessibility import check
from tests.conftest import Account
from tests.runtime.rules.conftest import make_group
from tests.templates.customer_center import install

ADMIN_PASSWORD = "Admin-pass-2026"
LINES = [{"sku": "KT-1700", "product": "电热水壶", "quantity": 2, "unit_price": "199.00"}]


def arrange(live: Any) -> int:
    """The template installed through the API; a customer with 13 related records. Returns
    the customer's id."""
    admin = live.create_admin(password=ADMIN_PASSWORD)

    async def run() -> int:
        async with httpx.AsyncClient(base_url=live.url, timeout=120) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
            token = await client.post("/api/v1/auth/tokens", json={"name": "t"}, headers=csrf)
            client.cookies.clear()
            account = Account(admin.id, "admin", ADMIN_PASSWORD, token.json()["token"])
            for key in install.GROUPS:
                await make_group(client, account, key, [admin.id])
            await install.install(client, account)

            async def create(form: str, **values: Any) -> dict[str, Any]:
                made = await client.post(
                    f"/api/v1/records/customer_center/{form}",
                    json={"values": values},
                    headers=account.headers,
                )
                assert made.status_code == 201, made.text
                return dict(made.json())

            customer = await create("customer", name="王芳 Wang Fang", company="星河贸易")
            cid = customer["id"]
            ticket = await create("ticket", subject="Kettle leaks 水壶漏水", customer=cid)
            await create("ticket", subject="Late delivery 发货延迟", customer=cid, priority="high")
            for n in range(8):
                await create(
                    "communication",
                    ticket=ticket["id"],
                    customer=cid,
                    direction="inbound" if n % 2 else "outbound",
                    channel="wechat",
                    body=f"Message {n}: " + "a long message body that wraps " * 8,
                )
            await create(
                "return_request",
                order_number="SO-2026-12-0001",
                ticket=ticket["id"],
                customer=cid,
                reason="漏水",
                amount="398.00",
                lines=LINES,
            )
            await create("survey", ticket=ticket["id"], customer=cid, score=4, comment="Quick")
            await create("survey", ticket=ticket["id"], customer=cid, score=5)
            return int(cid)

    with ThreadPoolExecutor(1) as pool:
        return int(pool.submit(asyncio.run, run()).result())


@pytest.mark.both_databases
@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_the_customer_page_shows_its_overview(page, live, sign_in_as, locale):
    customer = arrange(live)
    url = f"/apps/customer_center/forms/customer/records/{customer}"
    sign_in_as(page, "admin", ADMIN_PASSWORD, url)
    page.goto(f"{live.url}{url}")
    strip = page.locator(".figure-strip__item")
    figures = dict(
        zip(
            strip.evaluate_all("items => items.map(i => i.dataset.figure)"),
            page.locator(".figure-strip__item dd").all_inner_texts(),
            strict=True,
        )
    )
    assert figures["tickets"] == "2" and figures["open_tickets"] == "2"
    assert figures["recent_tickets"] == "2"
    assert figures["csat"] == "4.5"
    assert "398.00" in figures["returns"]
    entries = page.locator(".overview-entry")
    assert entries.count() == 10
    # Newest first: the last survey, then the first one, then the return request.
    forms = entries.evaluate_all("items => items.map(i => i.dataset.form)")
    assert forms[:3] == ["survey", "survey", "return_request"]
    check(page, "customer_overview")

    page.set_viewport_size({"width": 1280, "height": 800})
    more = page.locator("#overview-more a")
    assert more.get_attribute("href").startswith(url + "?before=")
    more.click()
    page.wait_for_function("() => document.querySelectorAll('.overview-entry').length === 13")
    assert page.locator("#overview-more").count() == 0
    # The focus moves to the first new entry once htmx has settled the swap.
    page.wait_for_function("() => document.activeElement.closest('.overview-entry')")
    focused = page.evaluate("() => document.activeElement.closest('.overview-entry').dataset.form")
    assert focused in ("communication", "ticket")
    forms = entries.evaluate_all("items => items.map(i => i.dataset.form)")
    assert forms[-2:] == ["ticket", "ticket"]
    assert forms.count("communication") == 8
    assert urlsplit_path(page.url) == url  # htmx: the page did not change
    check(page, "customer_overview_more")
    assert page.errors == []


def urlsplit_path(address: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(address).path
