"""The dashboard designer's pages on both databases: the list and one dashboard render for
designers only, with the strings and choices its script needs; the widget spec the script
builds previews over the published tables and saves in the draft."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_account
from tests.runtime.reports.conftest import publish_desk
from tests.runtime.web.pages import sign_in


def json_block(html: str, block: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{block}">(.*?)</script>', html, re.S)
    assert match, block
    return json.loads(unescape(match[1]))


async def test_the_designer_pages_render_for_designers_only(client, admin, sessions):
    await make_account(client, sessions, "dora", USER_PASSWORD)
    await publish_desk(client, admin)
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    listing = await client.get("/build/apps/desk/dashboards")
    assert listing.status_code == 200
    assert 'href="/build/apps/desk/dashboards"' in listing.text  # the menu entry
    assert 'data-board=""' in listing.text
    strings = json_block(listing.text, "dashboard-strings")
    assert strings["add_dashboard"] == "Add dashboard"
    choices = json_block(listing.text, "dashboard-choices")
    assert {c["key"] for c in choices["charts"]} >= {"bar", "line", "pie", "kpi", "table"}
    assert {c["key"] for c in choices["aggs"]} >= {"count", "sum", "avg", "min", "max"}
    assert "created_at" in {f["key"] for f in choices["system_fields"]}
    assert 'id="field-types"' in listing.text and 'id="condition-strings"' in listing.text
    assert "vendor/echarts.min.js" in listing.text and "vendor/Sortable.min.js" in listing.text

    board = await client.get("/build/apps/desk/dashboards/ops")
    assert board.status_code == 200
    assert 'data-board="ops"' in board.text
    assert "builder/dashboards_designer.js" in board.text
    # The grid and the "who can see" pickers: grantee kinds, the organisation's people.
    choices = json_block(board.text, "dashboard-choices")
    assert choices["grid"] == {"columns": 12, "rows": 12, "height": 4}
    assert [c["key"] for c in choices["grantees"]] == ["role", "group", "department", "user"]
    assert "dora" in {u["key"] for u in json_block(board.text, "org-choices")["users"]}
    assert "builder/grantees.js" in board.text
    strings = json_block(board.text, "dashboard-strings")
    assert strings["who_can_see"] == "Who can see" and strings["width"]

    client.cookies.clear()
    await sign_in(client, "dora", USER_PASSWORD, "/")
    assert (await client.get("/build/apps/desk/dashboards")).status_code == 403
    assert (await client.get("/build/apps/desk/dashboards/ops")).status_code == 403
    assert (await client.get("/build/apps/nowhere/dashboards")).status_code == 404


async def test_a_widget_as_the_designer_builds_it_previews_and_saves(client, admin):
    app = await publish_desk(client, admin)
    # What dashboards_designer.js makes of "add widget, group by status".
    widget = {
        "key": "widget_1",
        "title": {},
        "chart": "bar",
        "form": "ticket",
        "measures": [{"key": "count", "agg": "count"}],
        "dimensions": [{"key": "status", "field": "status"}],
    }
    for status in ("open", "open", "closed"):
        created = await client.post(
            app.url("ticket"),
            json={"values": {"subject": "t", "status": status}},
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
    answer = await client.post(
        f"{app.base}/draft/widgets/preview", json={"widget": widget}, headers=admin.headers
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    roles = {c["key"]: c["role"] for c in result["columns"]}
    assert roles == {"status": "dimension", "count": "measure"}
    counts = {row["status"]: row["count"] for row in result["rows"]}
    assert counts == {"open": 2, "closed": 1}

    draft = await app.draft()
    definition = draft["definition"]
    definition["dashboards"].append({"key": "mine", "title": {"en": "Mine"}, "widgets": [widget]})
    saved = await client.put(
        f"{app.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text

    # A problem of a widget names its path, which the designer shows at that widget.
    draft = await app.draft()
    definition = draft["definition"]
    definition["dashboards"][-1]["widgets"][0]["measures"] = [
        {"key": "total", "agg": "sum", "field": "nowhere"}
    ]
    saved = await client.put(
        f"{app.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    checked = await client.post(f"{app.base}/draft/validate", headers=admin.headers)
    assert checked.status_code == 200, checked.text
    index = len(definition["dashboards"]) - 1
    paths = [p["path"] for p in checked.json()["problems"]]
    assert any(
        re.match(rf"(definition\.)?dashboards\[({index}|mine)\]\.widgets\[(0|widget_1)\]", p)
        for p in paths
    ), paths
