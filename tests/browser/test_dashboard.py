"""A dashboard in the browser: ECharts draws the widgets, a click on a bar lands on the
records behind it, and the page fits a phone."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import Account
from tests.runtime.reports.conftest import publish_desk

ADMIN_PASSWORD = "Admin-pass-2026"
BOARD = "/apps/desk/dashboards/ops"
BAR = '[data-widget="by_status"] .widget__chart'


def arrange(live: Any) -> None:
    """The helpdesk app of the report tests, published through the API, with five tickets."""
    admin = live.create_admin(password=ADMIN_PASSWORD)

    async def publish() -> None:
        async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
            login = await client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
            token = await client.post("/api/v1/auth/tokens", json={"name": "t"}, headers=csrf)
            client.cookies.clear()
            account = Account(admin.id, "admin", ADMIN_PASSWORD, token.json()["token"])
            app = await publish_desk(client, account)
            for status in ("open", "open", "open", "resolved", "closed"):
                created = await client.post(
                    app.url("ticket"),
                    json={"values": {"subject": f"{status} ticket", "status": status}},
                    headers=account.headers,
                )
                assert created.status_code == 201, created.text

    # Playwright's synchronous API keeps an event loop running in this thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, publish()).result()


def sign_in(page: Any, live: Any, next_url: str) -> None:
    page.goto(f"{live.url}/sign-in?next={next_url}")
    page.fill("#f-username", "admin")
    page.fill("#f-password", ADMIN_PASSWORD)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url(f"{live.url}{next_url}")


def bar_position(page: Any, label: str) -> dict[str, float]:
    """Where on the page ECharts drew the bar of ``label`` (its middle)."""
    return page.evaluate(
        """([selector, label]) => {
            const element = document.querySelector(selector);
            const chart = echarts.getInstanceByDom(element);
            const option = chart.getOption();
            const index = option.xAxis[0].data.indexOf(label);
            const value = option.series[0].data[index].value;
            const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [index, value / 2]);
            const box = element.getBoundingClientRect();
            return { x: box.left + x, y: box.top + y };
        }""",
        [BAR, label],
    )


@pytest.mark.both_databases
def test_clicking_a_bar_opens_its_records(page, live):
    arrange(live)
    sign_in(page, live, BOARD)
    page.wait_for_function(
        "s => { const e = document.querySelector(s); return e && echarts.getInstanceByDom(e); }",
        arg=BAR,
    )
    assert page.locator('[data-widget="total"] .kpi__value').inner_text() == "5"
    # The chart replaces its table, which stays one click away.
    assert page.locator('[data-widget="by_status"] details').get_attribute("open") is None
    assert "Bar chart, 3 groups." in page.locator(BAR).get_attribute("aria-label")
    spot = bar_position(page, "open")
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_url("**/widgets/by_status/records?*")
    assert page.locator("[data-drill-total]").get_attribute("data-drill-total") == "3"
    assert page.locator("h1").inner_text() == "Status = open: 3 records"
    assert page.locator("tbody tr").count() == 3
    link = page.locator("tbody tr a").first.get_attribute("href")
    assert link.startswith("/apps/desk/forms/ticket/records/")
    assert page.errors == []


def test_a_filter_reruns_the_widgets_and_the_page_fits_a_phone(page, live):
    arrange(live)
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, live, BOARD)
    page.wait_for_selector(f"{BAR}:not([hidden])")
    page.select_option("#flt-period", "30d")
    page.wait_for_url(f"**{BOARD}?period=30d")
    page.wait_for_function(
        "s => { const e = document.querySelector(s); return e && echarts.getInstanceByDom(e); }",
        arg=BAR,
    )
    assert page.locator('[data-widget="total"] .kpi__value').inner_text() == "5"
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > 376)"
        ".map(e => e.tagName + '.' + e.className)"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide
    widths = page.evaluate(
        "[...document.querySelectorAll('.widget')]"
        ".map(w => Math.round(w.getBoundingClientRect().left))"
    )
    assert len(set(widths)) == 1  # one column
    assert page.errors == []
