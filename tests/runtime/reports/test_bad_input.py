"""Bad input to the dashboards API: problem+json with stable codes and per-field errors, in the
caller's language, never a 500."""

from __future__ import annotations

import pytest

from tests.runtime.reports.conftest import Desk


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return dict(body)


async def test_unknown_dashboards_and_widgets_are_404(desk: Desk):
    client, headers = desk.client, desk.admin.headers
    for lang, word in (("en", "no dashboard"), ("zh-CN", "没有仪表盘")):
        body = problem(
            await client.get(f"{desk.base}/nope", headers={**headers, "Accept-Language": lang}),
            404,
            "dashboard_not_found",
        )
        assert word in body["title"] and "nope" in body["title"]
    problem(
        await client.post(f"{desk.base}/nope/run", json={}, headers=headers),
        404,
        "dashboard_not_found",
    )
    body = problem(
        await client.post(f"{desk.base}/ops/widgets/ghost/run", json={}, headers=headers),
        404,
        "widget_not_found",
    )
    assert "ghost" in body["title"]
    for path in ("drill", "export"):
        response = await client.post(
            f"{desk.base}/ops/widgets/ghost/{path}", json={}, headers=headers
        )
        problem(response, 404, "widget_not_found")
    problem(await client.get("/api/v1/apps/noapp/dashboards", headers=headers), 404, "not_found")
    problem(await client.get(f"{desk.base}/Bad-Key", headers=headers), 422, "validation_failed")


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"period": "last week"}, "filters.period"),
        ({"period": {"from": "2026-13-45"}}, "filters.period"),
        ({"dept": "sales"}, "filters.dept"),
        ({"ghost": 1}, "filters.ghost"),
    ],
)
async def test_malformed_runtime_filters_are_422(desk: Desk, filters, field):
    for url in (f"{desk.base}/ops/run", f"{desk.base}/ops/widgets/total/run"):
        body = problem(
            await desk.client.post(url, json={"filters": filters}, headers=desk.admin.headers),
            422,
            "validation_failed",
        )
        assert [e["field"] for e in body["errors"]] == [field]


async def test_malformed_bodies_are_refused(desk: Desk):
    client, headers = desk.client, desk.admin.headers
    url = f"{desk.base}/ops/run"
    raw = await client.post(
        url, content=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    problem(raw, 400, "malformed_json")
    body = problem(
        await client.post(url, json={"filters": [], "x": 1}, headers=headers),
        422,
        "validation_failed",
    )
    assert {e["field"] for e in body["errors"]} == {"filters", "x"}
    too_many = {f"f{i}": 1 for i in range(60)}
    problem(
        await client.post(url, json={"filters": too_many}, headers=headers),
        422,
        "validation_failed",
    )
    nul = await client.post(url, json={"filters": {"status": "a\x00b"}}, headers=headers)
    problem(nul, 422, "validation_failed")
    export = await client.get(
        f"{desk.base}/ops/widgets/total/export", params={"filters": "{oops"}, headers=headers
    )
    assert problem(export, 422, "validation_failed")["errors"][0]["field"] == "filters"
    fmt = await client.get(
        f"{desk.base}/ops/widgets/total/export", params={"format": "pdf"}, headers=headers
    )
    problem(fmt, 422, "validation_failed")


async def test_bad_drill_cells_and_absurd_limits(tickets: Desk):
    desk = tickets
    url = f"{desk.base}/ops/widgets/by_status/drill"
    headers = desk.admin.headers
    for cell in ({"ghost": "open"}, {"status": {"nested": 1}}):
        body = problem(
            await desk.client.post(url, json={"cell": cell}, headers=headers),
            422,
            "drill_cell_invalid",
        )
        assert body["widget"] == "by_status"
    for limit in (0, 100_000):
        body = problem(
            await desk.client.post(
                url, json={"cell": {"status": "open"}, "limit": limit}, headers=headers
            ),
            422,
            "validation_failed",
        )
        assert body["errors"][0]["field"] == "limit"
    bad_cursor = await desk.client.post(
        url, json={"cell": {"status": "open"}, "cursor": "garbage"}, headers=headers
    )
    assert problem(bad_cursor, 422, "validation_failed")["errors"][0]["field"] == "cursor"
    measure = await desk.client.post(
        url, json={"cell": {"status": "open"}, "measure": "ghost"}, headers=headers
    )
    problem(measure, 422, "drill_cell_invalid")


async def test_field_errors_speak_the_callers_language(tickets: Desk):
    desk = tickets
    zh = {**desk.admin.headers, "Accept-Language": "zh-CN"}
    unknown = await desk.client.post(f"{desk.base}/ops/run", json={"filters": {"x": 1}}, headers=zh)
    body = problem(unknown, 422, "validation_failed")
    assert body["title"] == "请求内容无效。" and "没有筛选条件" in body["errors"][0]["message"]
    cell = await desk.client.post(
        f"{desk.base}/ops/widgets/by_status/drill", json={"cell": {"x": "open"}}, headers=zh
    )
    body = problem(cell, 422, "drill_cell_invalid")
    assert "不属于组件" in body["title"] and "没有维度" in body["errors"][0]["message"]
    bad = await desk.client.post(
        f"{desk.base}/ops/run", json={"filters": {"period": "soon"}}, headers=zh
    )
    assert problem(bad, 422, "validation_failed")["errors"][0]["message"].startswith("仪表盘筛选")
