"""Widget sizes on the dashboard grid and who may see a dashboard, on both databases: the spec
refuses bad sizes and unknown viewers naming the field, ``visible_to`` is enforced on the
navigation, the page, the API, drill-down and exports, and both survive publish and export."""

from __future__ import annotations

import re
from typing import Any

from tests.runtime.reports.conftest import Desk, dashboards
from tests.runtime.web.test_dashboard_pages import PAGE, as_user

SIZES = {"total": {"w": 3, "h": 2}, "by_status": {"w": 9, "h": 5}}


def sized_board(visible_to: list[dict[str, Any]]) -> list[dict[str, Any]]:
    board = dashboards()[0]
    for widget in board["widgets"]:
        if widget["key"] in SIZES:
            widget["layout"] = SIZES[widget["key"]]
    return [{**board, "visible_to": visible_to}]


async def save_boards(desk: Desk, boards: list[dict[str, Any]]) -> Any:
    draft = await desk.app.draft()
    return await desk.client.put(
        f"{desk.app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "dashboards": boards},
        },
        headers=desk.admin.headers,
    )


async def publish_boards(desk: Desk, boards: list[dict[str, Any]]) -> None:
    saved = await save_boards(desk, boards)
    assert saved.status_code == 200, saved.text
    published = await desk.app.publish()
    assert published.status_code == 200, published.text


async def test_bad_sizes_and_viewers_are_422_naming_the_field(desk: Desk):
    board = dashboards()[0]
    board["widgets"][0]["layout"] = {"w": 13, "h": 2}
    board["widgets"][1]["layout"] = {"w": 4, "h": 0}
    board["widgets"][2]["layout"] = {"w": 4}
    board["visible_to"] = [{"kind": "robot", "key": "r2"}, {"kind": "role", "key": ""}]
    saved = await save_boards(desk, [board])
    assert saved.status_code == 422, saved.text
    body = saved.json()
    assert body["code"] == "validation_failed"
    fields = {e["field"] for e in body["errors"]}
    prefix = "definition.dashboards[0]"
    assert {
        f"{prefix}.widgets[0].layout.w",
        f"{prefix}.widgets[1].layout.h",
        f"{prefix}.widgets[2].layout.h",
        f"{prefix}.visible_to[0].kind",
        f"{prefix}.visible_to[1].key",
    } <= fields, fields
    assert all(e["message"] for e in body["errors"])


async def test_unknown_viewers_are_refused_at_publish_naming_the_dashboard(desk: Desk):
    viewers = [
        {"kind": "role", "key": "manager"},
        {"kind": "role", "key": "ghost_role"},
        {"kind": "group", "key": "ghost_group"},
        {"kind": "department", "key": "NOWHERE"},
        {"kind": "user", "key": "nobody_here"},
        {"kind": "department", "key": "SALES", "include_children": True},
        {"kind": "user", "key": "bob"},
    ]
    saved = await save_boards(desk, sized_board(viewers))
    assert saved.status_code == 200, saved.text
    published = await desk.app.publish()
    assert published.status_code == 422, published.text
    body = published.json()
    assert body["code"] == "definition_invalid"
    found = {(e["field"], e["code"]) for e in body["errors"]}
    assert found == {
        ("dashboards[ops].visible_to[1].key", "unknown_role"),
        ("dashboards[ops].visible_to[2].key", "unknown_group"),
        ("dashboards[ops].visible_to[3].key", "unknown_department"),
        ("dashboards[ops].visible_to[4].key", "unknown_user"),
    }, found
    assert all("ops" in e["message"] for e in body["errors"])


async def test_only_the_dashboards_viewers_see_it(tickets: Desk):
    desk = tickets
    await publish_boards(desk, sized_board([{"kind": "role", "key": "manager"}]))
    client = desk.client
    cell = {"cell": {"status": "open"}}
    # mia has the role: the list, the spec, a run, a widget, a drill-down and an export.
    listed = await client.get(desk.base, headers=desk.mia.headers)
    assert [d["key"] for d in listed.json()] == ["ops"]
    spec = await client.get(f"{desk.base}/ops", headers=desk.mia.headers)
    assert spec.status_code == 200, spec.text
    layouts = {w["key"]: w.get("layout") for w in spec.json()["widgets"]}
    assert layouts["by_status"] == SIZES["by_status"] and layouts["by_team"] is None
    assert (await desk.run(desk.mia)).status_code == 200
    assert (await desk.run(desk.mia, "by_status")).status_code == 200
    drill = await client.post(
        f"{desk.base}/ops/widgets/by_status/drill", json=cell, headers=desk.mia.headers
    )
    assert drill.status_code == 200 and drill.json()["total"] == 2, drill.text
    export = await client.get(
        f"{desk.base}/ops/widgets/by_status/export",
        params={"format": "csv"},
        headers=desk.mia.headers,
    )
    assert export.status_code == 200
    # ann may read tickets but has not the role: every read path refuses, as for a stranger.
    listed = await client.get(desk.base, headers=desk.ann.headers)
    assert listed.status_code == 200 and listed.json() == []
    refused = [
        await client.get(f"{desk.base}/ops", headers=desk.ann.headers),
        await desk.run(desk.ann),
        await desk.run(desk.ann, "by_status"),
        await client.post(
            f"{desk.base}/ops/widgets/by_status/drill", json=cell, headers=desk.ann.headers
        ),
        await client.get(
            f"{desk.base}/ops/widgets/by_status/export",
            params={"format": "csv"},
            headers=desk.ann.headers,
        ),
    ]
    for answer in refused:
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "dashboard_not_found"
    # Administrators always see it.
    assert [d["key"] for d in (await client.get(desk.base, headers=desk.admin.headers)).json()]


async def test_the_page_and_navigation_follow_who_can_see(tickets: Desk):
    desk = tickets
    await publish_boards(desk, sized_board([{"kind": "department", "key": "SALES"}]))
    await as_user(desk, "ann")  # in SALES
    page = await desk.client.get(PAGE)
    assert page.status_code == 200, page.text
    assert 'class="widget-grid widget-grid--sized"' in page.text
    assert re.search(r'data-width="9" data-height="5"[^>]*data-widget="by_status"', page.text)
    assert re.search(r'style="--widget-w: 3; --widget-h: 2" data-widget="total"', page.text)
    # A widget without a layout: half the width, a table the full width.
    assert re.search(r'data-width="6" data-height="4"[^>]*data-widget="by_level"', page.text)
    assert re.search(r'data-width="12" data-height="4"[^>]*data-widget="by_team"', page.text)
    assert 'href="/apps/desk/dashboards/ops"' in (await desk.client.get("/apps/desk")).text
    drill = await desk.client.get(
        f"{PAGE}/widgets/by_status/records", params={"cell": '{"status":"open"}'}
    )
    assert drill.status_code == 200, drill.text

    await as_user(desk, "bob")  # in SUPPORT
    page = await desk.client.get(PAGE)
    assert page.status_code == 404
    assert 'href="/apps/desk/dashboards/ops"' not in (await desk.client.get("/apps/desk")).text
    drill = await desk.client.get(
        f"{PAGE}/widgets/by_status/records", params={"cell": '{"status":"open"}'}
    )
    assert drill.status_code == 404


async def test_without_layouts_the_grid_flows_as_before(tickets: Desk):
    await as_user(tickets, "mia")
    page = await tickets.client.get(PAGE)
    assert page.status_code == 200, page.text
    assert 'class="widget-grid" id="dashboard-widgets"' in page.text
    assert "--widget-w" not in page.text


async def test_layout_and_viewers_survive_publish_and_export(desk: Desk):
    viewers = [{"kind": "role", "key": "manager"}, {"kind": "user", "key": "bob"}]
    await publish_boards(desk, sized_board(viewers))
    versions = await desk.client.get(f"{desk.app.base}/draft", headers=desk.admin.headers)
    board = versions.json()["definition"]["dashboards"][0]
    assert [(g["kind"], g["key"]) for g in board["visible_to"]] == [
        ("role", "manager"),
        ("user", "bob"),
    ]
    assert {w["key"]: w["layout"] for w in board["widgets"] if w.get("layout")} == SIZES
    exported = await desk.client.get(f"{desk.app.base}/export", headers=desk.admin.headers)
    assert exported.status_code == 200, exported.text
    document = exported.json()
    (kept,) = document["definition"]["dashboards"]
    assert [(g["kind"], g["key"]) for g in kept["visible_to"]] == [
        ("role", "manager"),
        ("user", "bob"),
    ]
    assert {w["key"]: w["layout"] for w in kept["widgets"] if w.get("layout")} == SIZES
    # Imported again (saved as the draft and published), the definition keeps them.
    await publish_boards(desk, [{"key": "other", "widgets": [], "filters": []}])
    await publish_boards(desk, document["definition"]["dashboards"])
    # bob (a user grantee) sees it, ann does not.
    assert [d["key"] for d in (await desk.client.get(desk.base, headers=desk.bob.headers)).json()]
    assert (await desk.client.get(desk.base, headers=desk.ann.headers)).json() == []
    spec = await desk.client.get(f"{desk.base}/ops", headers=desk.bob.headers)
    assert {w["key"]: w["layout"] for w in spec.json()["widgets"] if w.get("layout")} == SIZES
