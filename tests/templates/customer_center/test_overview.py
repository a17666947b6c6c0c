"""The customer's 360° page through the API (``GET …/customer/{id}/overview``): tickets,
communications, returns and surveys of one customer merged newest first, paged by cursor
without duplicates or gaps, key figures as SQL aggregates, and everything through the
viewer's scope — a department manager sees and counts their department's rows only
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from tests.conftest import USER_PASSWORD
from tests.runtime.web.pages import sign_in
from tests.templates.customer_center.conftest import Center

LINES = [{"sku": "KT-1700", "product": "电热水壶", "quantity": 2, "unit_price": "199.00"}]


async def overview(center: Center, who: str, customer_id: int, **params: Any) -> dict[str, Any]:
    got = await center.client.get(
        f"{center.url('customer')}/{customer_id}/overview",
        params=params,
        headers=center.people[who].headers if who != "admin" else center.admin.headers,
    )
    assert got.status_code == 200, got.text
    return dict(got.json())


async def pages(center: Center, who: str, customer_id: int, limit: int) -> list[list[Any]]:
    """Every page of the timeline as lists of (form, id)."""
    out: list[list[Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["before"] = cursor
        page = await overview(center, who, customer_id, **params)
        assert (page["figures"] is None) == (cursor is not None)
        out.append([(e["form"], e["id"]) for e in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return out
        assert len(out) < 20


async def history(center: Center) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """A customer of SUPPORT with records of every kind, in this order of creation, and one
    ticket from SALES; returns the customer and the (form, id) of SUPPORT's records."""
    customer = await center.create("sam", "customer", name="王芳", company="星河贸易")
    cid = customer["id"]
    made: list[tuple[str, int]] = []

    async def add(who: str, form: str, **values: Any) -> dict[str, Any]:
        record = await center.create(who, form, customer=cid, **values)
        if who != "cara":
            made.append((form, record["id"]))
        return record

    first = await add("sam", "ticket", subject="水壶漏水", priority="high")
    await add("sam", "communication", ticket=first["id"], direction="inbound", body="壶底漏水")
    await add("cara", "ticket", subject="报价单", category="consult")
    await add("sue", "communication", ticket=first["id"], direction="outbound", body="已安排")
    await add(
        "sam",
        "return_request",
        ticket=first["id"],
        order_number="SO-1",
        reason="漏水",
        amount="398.00",
        lines=LINES,
    )
    second = await add("sue", "ticket", subject="发货延迟")
    await center.patch("sue", second["id"], status="resolved")
    await add("sam", "survey", ticket=first["id"], score=4, comment="处理及时")
    await add("sue", "survey", ticket=second["id"], score=2)
    return customer, made


async def test_the_timeline_merges_every_form_newest_first(center: Center):
    customer, made = await history(center)
    everything = await overview(center, "eve", customer["id"], limit=100)
    forms = [e["form"] for e in everything["items"]]
    assert {s["form"] for s in everything["sources"]} == {
        "ticket",
        "communication",
        "return_request",
        "survey",
    }
    # Newest first across forms (the executive sees SALES's ticket too).
    mine = [e for e in everything["items"] if (e["form"], e["id"]) in set(made)]
    assert [(e["form"], e["id"]) for e in mine] == list(reversed(made))
    # Beside SUPPORT's records: SALES's ticket, and the survey the csat rule sent when the
    # second ticket was resolved.
    others = [e["form"] for e in everything["items"] if (e["form"], e["id"]) not in set(made)]
    assert sorted(others) == ["survey", "ticket"]
    assert forms.count("survey") == 3
    times = [e["at"] for e in everything["items"]]
    assert times == sorted(times, reverse=True)
    ticket = next(e for e in everything["items"] if e["form"] == "ticket")
    assert ticket["title"] == "发货延迟"
    assert set(ticket["values"]) == {"subject", "number", "status", "priority"}
    assert ticket["values"]["number"].startswith("TK-")
    returned = next(e for e in everything["items"] if e["form"] == "return_request")
    assert returned["values"] == {"order_number": "SO-1", "amount": "398.00", "status": "submitted"}


async def test_pages_have_no_duplicates_and_no_gaps(center: Center):
    customer, _ = await history(center)
    whole = [(e["form"], e["id"]) for e in (await overview(center, "eve", customer["id"]))["items"]]
    for limit in (1, 2, 3, 4):
        paged = await pages(center, "eve", customer["id"], limit)
        assert all(len(p) <= limit for p in paged)
        assert [entry for page in paged for entry in page] == whole


async def test_figures_are_aggregates_over_what_the_viewer_may_read(center: Center):
    customer, made = await history(center)
    executive = {
        f["key"]: f["value"] for f in (await overview(center, "eve", customer["id"]))["figures"]
    }
    tickets_everyone = 3
    surveys = [f for f, _ in made if f == "survey"]
    assert executive["tickets"] == tickets_everyone
    assert executive["open_tickets"] == tickets_everyone - 1  # one is resolved
    assert executive["recent_tickets"] == tickets_everyone
    assert executive["returns"] == "398.00"
    # The resolved ticket got a survey from the csat rule too, in the ticket's department
    # (SUPPORT); it has no score yet, so it counts in no average.
    assert executive["csat"] is not None and len(surveys) == 2
    everything = await overview(center, "eve", customer["id"], limit=100)
    [sent] = [
        (e["form"], e["id"])
        for e in everything["items"]
        if e["form"] == "survey" and (e["form"], e["id"]) not in set(made)
    ]

    manager = await overview(center, "dan", customer["id"], limit=100)
    figures = {f["key"]: f["value"] for f in manager["figures"]}
    assert figures["tickets"] == 2 and figures["open_tickets"] == 1
    assert figures["recent_tickets"] == 2
    assert figures["returns"] == "398.00"
    assert figures["csat"] == 3.0  # the two answered surveys of SUPPORT (4 and 2)
    shown = {(e["form"], e["id"]) for e in manager["items"]}
    assert shown == set(made) | {sent}  # not SALES's ticket; the rule's survey is SUPPORT's


async def test_a_viewer_without_a_form_gets_no_entries_or_figures_from_it(center: Center):
    customer, made = await history(center)
    # An agent of another department reads customers and their own department's records.
    seen = await overview(center, "cara", customer["id"], limit=100)
    assert {(e["form"]) for e in seen["items"]} <= {"ticket"}
    assert all((e["form"], e["id"]) not in set(made) for e in seen["items"])
    figures = {f["key"]: f["value"] for f in seen["figures"]}
    assert figures.get("tickets") == 1


async def test_bad_cursors_and_forms_without_overview_are_problems(center: Center):
    customer, _ = await history(center)
    url = f"{center.url('customer')}/{customer['id']}/overview"
    for cursor in ("nope", "eyJ0IjogMX0", "e30"):
        bad = await center.client.get(url, params={"before": cursor}, headers=center.admin.headers)
        assert bad.status_code == 422, bad.text
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert bad.json()["errors"][0]["code"] == "bad_cursor"
    none = await center.client.get(
        f"{center.url('ticket')}/1/overview", headers=center.admin.headers
    )
    assert none.status_code == 404 and none.json()["code"] == "overview_not_found"
    missing = await center.client.get(
        f"{center.url('customer')}/999999/overview", headers=center.admin.headers
    )
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_publish_refuses_a_bad_overview_in_the_callers_language(center: Center):
    base = center.app["base"]
    draft = (await center.client.get(f"{base}/draft", headers=center.admin.headers)).json()
    document = draft["definition"]
    for form in document["forms"]:
        if form["key"] == "customer":
            form["overview"] = {
                "sources": [{"form": "ticket", "via": "subject"}],
                "figures": [
                    {"key": "n", "label": {"en": "N"}, "form": "ticket", "via": "customer"},
                    {
                        "key": "s",
                        "label": {"en": "S"},
                        "form": "ticket",
                        "via": "customer",
                        "agg": "sum",
                        "field": "subject",
                    },
                ],
            }
    saved = await center.client.put(
        f"{base}/draft",
        json={"row_version": draft["row_version"], "definition": document},
        headers=center.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await center.client.post(
        f"{base}/publish",
        json={"row_version": saved.json()["row_version"]},
        headers={**center.admin.headers, "Accept-Language": "zh-CN"},
    )
    assert published.status_code == 422, published.text
    body = published.json()
    assert body["code"] == "definition_invalid"
    found = {(e["field"].split("overview.")[1], e["code"]): e["message"] for e in body["errors"]}
    assert found == {
        ("sources[0].via", "overview.not_a_relation"): "'subject' 不是表单 'ticket' 的关联字段",
        ("figures[1].field", "overview.bad_agg_field"): "字段 'subject' 不能按 'sum' 汇总",
    }


def entry_links(html: str) -> list[str]:
    return re.findall(r'class="overview-entry__title" href="([^"]+)"', html)


async def test_the_customer_page_shows_figures_and_the_timeline_with_load_more(center: Center):
    customer, made = await history(center)
    for n in range(4):
        await center.create(
            "sam",
            "communication",
            customer=customer["id"],
            ticket=made[0][1],
            direction="outbound",
            body=f"第 {n} 次回访：" + "很长的内容 " * 40,
        )
    await sign_in(center.client, "dan", USER_PASSWORD)
    url = f"/apps/customer_center/forms/customer/records/{customer['id']}"
    page = await center.client.get(url, headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="overview"' in html
    strip = re.findall(r'data-figure="(\w+)"><dt>([^<]*)</dt><dd>([^<]*)</dd>', html)
    assert [(key, text) for key, _, text in strip] == [
        ("tickets", "2"),
        ("open_tickets", "1"),
        ("recent_tickets", "2"),
        ("csat", "3.0"),
        ("returns", "¥398.00"),
    ]
    assert strip[0][1] == "工单总数"
    first = entry_links(html)
    assert len(first) == 10
    assert all(link.startswith("/apps/customer_center/forms/") for link in first)
    assert "很长的内容" in html and "…" in html  # a communication's body as an excerpt
    more = re.search(r'<a class="button" href="([^"]+)"\s+hx-get="([^"]+)"', html)
    assert more, "a load-more link"
    # Without JavaScript: the page at the cursor.
    rest = await center.client.get(unescape(more[1]).split("#")[0])
    assert rest.status_code == 200
    second = entry_links(rest.text)
    # With htmx: the entries as a fragment.
    fragment = await center.client.get(unescape(more[2]), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert entry_links(fragment.text) == second
    assert "<html" not in fragment.text
    everything = first + second
    # dan's own records, the four replies and the csat rule's survey (SUPPORT's too).
    assert len(everything) == len(set(everything)) == len(made) + 4 + 1
    shown = {tuple(link.split("/")[4::2]) for link in everything}
    assert shown == {(form, str(record_id)) for form, record_id in made} | {
        ("communication", link.split("/")[-1]) for link in everything if "/communication/" in link
    } | {("survey", link.split("/")[-1]) for link in everything if "/survey/" in link}
    # A ticket form has no overview: its page has none.
    ticket = await center.client.get(f"/apps/customer_center/forms/ticket/records/{made[0][1]}")
    assert ticket.status_code == 200 and 'id="overview"' not in ticket.text
