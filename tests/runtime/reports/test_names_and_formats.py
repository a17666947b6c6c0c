"""Names behind reference dimensions (users, departments, related records within the viewer's
read scope) and measures' display formats, in the API result, the page, the chart data and the
export (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

from sqlalchemy import update

from runtime.auth.models import User
from runtime.records.forms import resolve_app
from tests.conftest import USER_PASSWORD
from tests.runtime.reports.conftest import APP, COUNT, Desk
from tests.runtime.web.pages import sign_in
from tests.runtime.web.test_dashboard_pages import chart_data, kpi_value, widget_box

HOURS = {"style": "duration", "unit": "minutes", "show_as": "hours", "decimals": 1}
RESOLVED = {
    "key": "resolved",
    "agg": "ratio",
    "label": {"en": "Resolved share"},
    "numerator": {"key": "done", "agg": "count", "filter": {"==": [{"var": "status"}, "resolved"]}},
    "denominator": {"key": "all", "agg": "count"},
}


def board() -> list[dict]:
    return [
        {
            "key": "ops",
            "title": {"en": "Operations"},
            "widgets": [
                {
                    "key": "agents",
                    "chart": "table",
                    "form": "ticket",
                    "measures": [
                        COUNT,
                        {"key": "avg", "agg": "avg", "field": "csat", "format": HOURS},
                    ],
                    "dimensions": [{"key": "agent", "field": "created_by"}],
                    "sort": [{"key": "tickets", "desc": True}],
                },
                {
                    "key": "by_dept",
                    "chart": "bar",
                    "form": "ticket",
                    "measures": [RESOLVED],
                    "dimensions": [{"key": "dept", "field": "department_id"}],
                },
                {
                    "key": "by_customer",
                    "chart": "table",
                    "form": "ticket",
                    "measures": [COUNT],
                    "dimensions": [{"key": "customer", "field": "customer"}],
                },
                {
                    "key": "agent_team",
                    "chart": "pivot",
                    "form": "ticket",
                    "measures": [COUNT],
                    "dimensions": [
                        {"key": "agent", "field": "created_by"},
                        {"key": "team", "field": "team"},
                    ],
                    "pivot": {"rows": ["agent"], "columns": ["team"]},
                },
                {"key": "share", "chart": "kpi", "form": "ticket", "measures": [RESOLVED]},
                {
                    "key": "csat",
                    "chart": "kpi",
                    "form": "ticket",
                    "measures": [
                        {
                            "key": "avg",
                            "agg": "avg",
                            "field": "csat",
                            "format": {"style": "number", "decimals": 2},
                        }
                    ],
                },
            ],
        }
    ]


async def put_draft(desk: Desk, dashboards: list[dict]):
    """Save the draft with ``dashboards`` (and the customer's name as its records' title)."""
    draft = await desk.app.draft()
    forms = [
        {**f, "title_field": "name"} if f["key"] == "customer" else f
        for f in draft["definition"]["forms"]
    ]
    definition = {**draft["definition"], "forms": forms, "dashboards": dashboards}
    return await desk.client.put(
        f"{desk.app.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=desk.admin.headers,
    )


async def seeded(desk: Desk, sessions) -> tuple[Desk, dict[str, int]]:
    """The desk with this module's dashboard; ann (display name "Ann Lee") has a customer of
    her own, bob one ann may not read. ann: 2 resolved + 1 open, bob: 1 open."""
    saved = await put_draft(desk, board())
    assert saved.status_code == 200, saved.text
    published = await desk.app.publish()
    assert published.status_code == 200, published.text
    async with sessions() as db:
        await db.execute(update(User).where(User.id == desk.ann.id).values(display_name="Ann Lee"))
        await db.commit()
    customers = {}
    for who, name in ((desk.ann, "Acme"), (desk.bob, "Globex")):
        made = await desk.client.post(
            desk.records("customer"), json={"values": {"name": name}}, headers=who.headers
        )
        assert made.status_code == 201, made.text
        customers[name] = made.json()["id"]
    made = []
    for status, team, csat in (
        ("resolved", "l1", 90),
        ("resolved", "l2", 66),
        ("open", "l1", None),
    ):
        ticket = await desk.ticket(
            desk.ann, status=status, team=team, csat=csat, customer=customers["Acme"]
        )
        made.append(ticket["id"])
    await desk.ticket(desk.bob, status="open", team="l2", csat=30)
    # Two of ann's tickets point at bob's customer (as after a hand-over: ann may not read it).
    async with sessions() as db:
        table = (await resolve_app(db, APP)).handles["ticket"].table
        await db.execute(
            update(table).where(table.c.id.in_(made[1:])).values({"f_6": customers["Globex"]})
        )
        await db.commit()
    return desk, customers


async def test_reference_dimensions_carry_names(desk: Desk, sessions):
    desk, customers = await seeded(desk, sessions)
    agents = await desk.result(desk.admin, "agents", cache=False)
    names = agents["result"]["labels"]["agent"]
    assert names == {str(desk.ann.id): "Ann Lee", str(desk.bob.id): "bob"}
    departments = await desk.result(desk.admin, "by_dept", cache=False)
    assert departments["result"]["labels"]["dept"] == {
        str(desk.sales["id"]): "SALES",
        str(desk.support["id"]): "SUPPORT",
    }
    # A related record's title only where the viewer may read it: ann reads her own customer.
    for _attempt in (1, 2):  # the second run is served from the cache: names still per viewer
        seen = await desk.result(desk.ann, "by_customer")
        assert seen["result"]["labels"]["customer"] == {str(customers["Acme"]): "Acme"}
    admin = await desk.result(desk.admin, "by_customer")
    assert admin["result"]["labels"]["customer"] == {
        str(customers["Acme"]): "Acme",
        str(customers["Globex"]): "Globex",
    }
    # The export names the agents too.
    exported = await desk.client.get(
        f"{desk.base}/ops/widgets/agents/export",
        params={"format": "csv"},
        headers=desk.admin.headers,
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[1][:2] == ["Ann Lee", "3"] and rows[2][:2] == ["bob", "1"]


async def test_the_page_shows_names_and_formatted_measures(desk: Desk, sessions):
    desk, customers = await seeded(desk, sessions)
    desk.client.cookies.clear()
    await sign_in(desk.client, "ann", USER_PASSWORD)
    page = await desk.client.get(f"/apps/{APP}/dashboards/ops")
    assert page.status_code == 200, page.text
    html = page.text
    # 2 of ann's 3 tickets resolved: a ratio shows as a percent with one decimal.
    assert kpi_value(html, "share") == "66.7 %"
    assert kpi_value(html, "csat") == "78.00"
    table = unescape(widget_box(html, "agents"))
    assert "Ann Lee" in table and f">{desk.ann.id}<" not in table
    assert "1.3 h" in table  # 78 minutes on average, in hours
    pivot = unescape(widget_box(html, "agent_team"))
    assert "Ann Lee" in pivot
    # ann may not read bob's customer: its id stays, its name does not show.
    listed = unescape(widget_box(html, "by_customer"))
    assert "Acme" in listed and "Globex" not in listed
    assert re.search(rf">\s*{customers['Globex']}\s*<", listed)
    bars = chart_data(html, "by_dept")
    assert bars["rows"][0]["labels"] == ["SALES"]
    assert bars["measures"][0]["format"] == {"scale": 100.0, "min": 1, "max": 1, "suffix": " %"}
    # The drill-down of a user dimension names the user.
    link = re.search(r'href="(/apps/desk/dashboards/ops/widgets/agents/records[^"]+)"', table)
    assert link
    drill = await desk.client.get(unescape(link[1]))
    assert drill.status_code == 200, drill.text
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", drill.text, re.S)
    assert heading and "Ann Lee" in unescape(heading[1]), drill.text[:2000]


async def test_bad_formats_are_refused_with_the_path(desk: Desk):
    bad = board()
    bad[0]["widgets"][0]["measures"][1]["format"] = {"style": "percent", "decimals": 9}
    saved = await put_draft(desk, bad)
    assert saved.status_code == 422, saved.text
    assert [(e["field"], e["code"]) for e in saved.json()["errors"]] == [
        ("definition.dashboards[0].widgets[0].measures[1].format.decimals", "less_than_equal")
    ]
