"""The dashboard page and its drill-down pages, on both databases: the widgets a viewer may
see, runtime filters from the URL, per-widget errors, and the records behind a clicked value
through the viewer's scope."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qsl, urlsplit

from tests.conftest import USER_PASSWORD
from tests.runtime.reports.conftest import Desk, desk, tickets  # noqa: F401
from tests.runtime.web.pages import sign_in

PAGE = "/apps/desk/dashboards/ops"
ADMIN_PASSWORD = "Admin-pass-2026"


async def as_user(app: Desk, username: str) -> None:
    """Sign in through the page as ``username`` (anyone signed in before is forgotten)."""
    app.client.cookies.clear()
    await sign_in(app.client, username, ADMIN_PASSWORD if username == "admin" else USER_PASSWORD)


def widget_box(html: str, key: str) -> str:
    match = re.search(
        rf'<section class="widget[^"]*"[^>]*data-widget="{key}">(.*?)</section>', html, re.S
    )
    assert match, f"no widget {key}"
    return match[1]


def chart_data(html: str, key: str) -> dict:
    box = widget_box(html, key)
    match = re.search(r'data-chart="([^"]*)"', box)
    assert match, f"widget {key} draws no chart"
    return json.loads(unescape(match[1]))


def kpi_value(html: str, key: str) -> str:
    match = re.search(r'<span class="kpi__value">([^<]*)</span>', widget_box(html, key))
    assert match
    return unescape(match[1])


def drill_links(html: str) -> list[str]:
    return [
        unescape(u) for u in re.findall(r'href="(/apps/desk/dashboards/ops/widgets/[^"]+)"', html)
    ]


def record_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-record="(\d+)">', html)]


async def test_the_dashboard_shows_the_viewers_numbers(tickets: Desk):  # noqa: F811
    await as_user(tickets, "mia")
    page = await tickets.client.get(PAGE)
    assert page.status_code == 200, page.text
    assert "<h1>Operations</h1>" in page.text
    assert "vendor/echarts.min.js" in page.text and "dashboards.js" in page.text
    assert kpi_value(page.text, "total") == "3"
    bars = chart_data(page.text, "by_status")
    assert bars["chart"] == "bar"
    assert {r["labels"][0]: r["values"]["tickets"] for r in bars["rows"]} == {
        "open": 2,
        "resolved": 1,
    }
    # the chart's text alternative and its table
    box = widget_box(page.text, "by_status")
    assert 'role="img"' in box and "Bar chart, 2 groups." in unescape(box)
    assert "Show as table" in box and '<th scope="row">' in box
    # A widget over a field mia may not see fails in its box, the others still answer.
    assert "This widget uses a field you may not see." in widget_box(page.text, "by_secret")
    table = widget_box(page.text, "by_team")
    assert "<table" in table and "4.5" in table


async def test_runtime_filters_in_the_url_reach_the_widgets(tickets: Desk):  # noqa: F811
    await as_user(tickets, "admin")
    everything = await tickets.client.get(PAGE)
    assert kpi_value(everything.text, "total") == "5"
    support = await tickets.client.get(PAGE, params={"dept": tickets.support["id"]})
    assert support.status_code == 200, support.text
    assert kpi_value(support.text, "total") == "2"
    assert f'<option value="{tickets.support["id"]}" selected>SUPPORT</option>' in support.text
    only_open = await tickets.client.get(PAGE, params={"status": "open"})
    assert kpi_value(only_open.text, "total") == "3"
    past = await tickets.client.get(
        PAGE, params={"period.from": "2000-01-01", "period.to": "2000-12-31"}
    )
    assert kpi_value(past.text, "total") in ("0", "(empty)")
    recent = await tickets.client.get(PAGE, params={"period": "30d"})
    assert kpi_value(recent.text, "total") == "5"
    # htmx asks for the body alone and gets the clean URL to push
    partial = await tickets.client.get(
        PAGE,
        params={"dept": tickets.support["id"], "period": "", "status": ""},
        headers={"HX-Request": "true"},
    )
    assert partial.text.lstrip().startswith('<div id="dashboard-body"')
    assert partial.headers["hx-push-url"] == f"{PAGE}?dept={tickets.support['id']}"
    # bad input is shown at its control
    bad = await tickets.client.get(PAGE, params={"period.from": "yesterday"})
    assert bad.status_code == 422
    assert "Enter a date like 2026-01-31." in bad.text
    assert 'aria-describedby="period.from-errors"' in bad.text


async def test_a_drill_page_lists_exactly_the_cells_records_in_scope(tickets: Desk):  # noqa: F811
    await as_user(tickets, "mia")
    page = await tickets.client.get(PAGE)
    bars = chart_data(page.text, "by_status")
    open_row = next(r for r in bars["rows"] if r["labels"] == ["open"])
    url = open_row["drill"]["tickets"]
    assert dict(parse_qsl(urlsplit(url).query))["cell"] == '{"status":"open"}'
    drilled = await tickets.client.get(url)
    assert drilled.status_code == 200, drilled.text
    assert "Status = open: " in drilled.text and 'data-drill-total="2"' in drilled.text
    ids = record_ids(drilled.text)
    listed = await tickets.client.post(
        f"{tickets.base}/ops/widgets/by_status/drill",
        json={"cell": {"status": "open"}},
        headers=tickets.mia.headers,
    )
    assert sorted(ids) == sorted(i["id"] for i in listed.json()["items"]) and len(ids) == 2
    assert f'href="/apps/desk/forms/ticket/records/{ids[0]}"' in drilled.text
    assert "Secret" not in drilled.text  # mia may not see it
    # the admin sees all three open tickets; with a filter, the filter narrows the drill too
    await as_user(tickets, "admin")
    everything = await tickets.client.get(url)
    assert len(record_ids(everything.text)) == 3
    support = await tickets.client.get(url + f"&dept={tickets.support['id']}")
    assert len(record_ids(support.text)) == 1 and "Department: SUPPORT" in support.text


async def test_drill_pages_page_through_the_records(tickets: Desk, monkeypatch):  # noqa: F811
    from runtime.web.pages import dashboards

    monkeypatch.setattr(dashboards, "PAGE_SIZE", 2)
    await as_user(tickets, "admin")
    url = f"{PAGE}/widgets/by_status/records?cell=" + '{"status":"open"}'
    first = await tickets.client.get(url)
    assert len(record_ids(first.text)) == 2 and 'data-drill-total="3"' in first.text
    next_url = unescape(re.search(r'href="([^"]+)" rel="next"', first.text)[1])
    second = await tickets.client.get(next_url)
    assert len(record_ids(second.text)) == 1 and 'rel="next"' not in second.text
    assert not set(record_ids(first.text)) & set(record_ids(second.text))


async def test_bad_drill_cells_and_unknown_dashboards(tickets: Desk):  # noqa: F811
    await as_user(tickets, "mia")
    bad = await tickets.client.get(
        f"{PAGE}/widgets/by_status/records", params={"cell": '{"nope":1}'}
    )
    assert bad.status_code == 422 and "<html" in bad.text
    hidden = await tickets.client.get(
        f"{PAGE}/widgets/by_secret/records", params={"cell": '{"secret":"a"}'}
    )
    assert hidden.status_code == 403
    missing = await tickets.client.get("/apps/desk/dashboards/nope")
    assert missing.status_code == 404
