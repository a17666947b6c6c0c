"""Telephony in Chromium: a ringing webhook pops the signed-in agent's page (a toast with the
caller and a link to their 360° page; with "Open automatically" the page goes there itself),
and the customer page's click-to-call button reaches the telephony system."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.browser.test_accessibility import check
from tests.conftest import Account
from tests.runtime.channels.cti.support import SECRET, URL, event, signed
from tests.runtime.rules.conftest import make_group
from tests.support.servers import http_server
from tests.templates.customer_center import install

ADMIN_PASSWORD = "Admin-pass-2026"


def arrange(live: Any, call_url: str) -> None:
    """The Customer Center and a telephony channel whose extension 801 is the admin's."""
    admin = live.create_admin(password=ADMIN_PASSWORD)

    async def run() -> None:
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
            app = await install.install(client, account)
            made = await client.post(
                f"/api/v1/apps/{app['id']}/channels",
                json={
                    "kind": "cti",
                    "key": "phone",
                    "name": "呼叫中心",
                    "settings": {
                        "secret": SECRET,
                        "extensions": {"801": "admin"},
                        "call_url": call_url,
                    },
                },
                headers=account.headers,
            )
            assert made.status_code == 201, made.text

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def ring(live: Any, call_id: str) -> dict[str, Any]:
    raw, headers = signed(event("ringing", call_id=call_id))
    answer = httpx.post(f"{live.url}{URL}", content=raw, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.mark.both_databases
def test_a_ringing_call_pops_the_agents_page(page, live, sign_in_as):
    with http_server() as pbx:
        arrange(live, pbx.url)
        sign_in_as(page, "admin", ADMIN_PASSWORD, "/")
        page.wait_for_load_state("networkidle")
        started = time.perf_counter()
        first = ring(live, "b-1")
        toast = page.locator("[data-screen-pop='b-1']")
        toast.wait_for()
        print(f"\ntoast shown {(time.perf_counter() - started) * 1000:.0f} ms after the webhook")
        customer = f"/apps/customer_center/forms/customer/records/{first['customer_id']}"
        assert toast.locator("[data-screen-pop-link]").get_attribute("href") == customer
        assert "+86 138 0013 8000" in toast.inner_text()
        check(page, "screen_pop")
        # "Open automatically": the next call opens the caller's page by itself.
        toast.locator("[data-screen-pop-auto]").check()
        started = time.perf_counter()
        with page.expect_navigation(url=f"{live.url}{customer}"):
            ring(live, "b-2")
        print(f"360° page opened {(time.perf_counter() - started) * 1000:.0f} ms after the webhook")
        page.locator(".figure-strip__item").first.wait_for()
        # Click-to-call beside the customer's phone number.
        button = page.locator("[data-field='phone'] [data-click-to-call]")
        button.click()
        result = page.locator("[data-click-to-call-result]")
        page.wait_for_function(
            "() => document.querySelector('[data-click-to-call-result]').textContent"
            ".includes('801')"
        )
        assert "801" in result.inner_text()
        [request] = pbx.requests
        assert request.body["to"] == "+8613800138000" and request.body["extension"] == "801"
    assert page.errors == []
