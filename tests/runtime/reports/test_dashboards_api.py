"""Dashboards end to end on both databases: scope, drill-down, export, hidden fields, tokens."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.reports.conftest import Desk, narrowed_token
from tests.runtime.reports.results import by_dimension, kpi


async def test_a_manager_counts_only_their_department(tickets: Desk):
    desk = tickets
    listed = await desk.client.get(desk.base, headers=desk.mia.headers)
    assert listed.status_code == 200, listed.text
    assert [d["key"] for d in listed.json()] == ["ops"]
    run = await desk.run(desk.mia)
    assert run.status_code == 200, run.text
    widgets = {w["widget"]: w for w in run.json()["widgets"]}
    assert kpi(widgets["total"]["result"], "tickets") == 3
    assert by_dimension(widgets["by_status"]["result"], "tickets") == {
        ("open",): 2,
        ("resolved",): 1,
    }
    assert by_dimension(widgets["by_team"]["result"], "csat") == {
        ("l1",): 4.5,
        ("l2",): 2.0,
    }
    # The manager may not see ``secret``: that widget fails for them, alone.
    assert widgets["by_secret"]["ok"] is False
    assert widgets["by_secret"]["problem"]["code"] == "widget_field_hidden"
    assert widgets["by_secret"]["problem"]["errors"][0]["code"] == "report.hidden_field"
    # The administrator sees every ticket; ann sees her own three (scope "own").
    admin = {w["widget"]: w for w in (await desk.run(desk.admin)).json()["widgets"]}
    assert kpi(admin["total"]["result"], "tickets") == 5
    assert by_dimension(admin["by_secret"]["result"], "tickets") == {
        ("a",): 2,
        ("b",): 1,
        (None,): 2,
    }
    bob = await desk.result(desk.bob, "by_status")
    assert by_dimension(bob["result"], "tickets") == {("closed",): 1, ("open",): 1}


async def test_runtime_filters_narrow_the_widgets(tickets: Desk):
    desk = tickets
    only_support = await desk.result(desk.admin, "total", filters={"dept": [desk.support["id"]]})
    assert kpi(only_support["result"], "tickets") == 2
    only_open = await desk.result(desk.admin, "total", filters={"status": "open"})
    assert kpi(only_open["result"], "tickets") == 3
    past = await desk.result(
        desk.admin, "total", filters={"period": {"from": "2000-01-01", "to": "2000-12-31"}}
    )
    assert kpi(past["result"], "tickets") in (0, None)


async def test_a_drill_down_returns_the_cell_records_through_the_scope(tickets: Desk):
    desk = tickets
    url = f"{desk.base}/ops/widgets/by_status/drill"
    first = await desk.client.post(
        url, json={"cell": {"status": "open"}, "limit": 1}, headers=desk.mia.headers
    )
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["total"] == 2 and len(page["items"]) == 1 and page["next_cursor"]
    second = await desk.client.post(
        url,
        json={"cell": {"status": "open"}, "limit": 1, "cursor": page["next_cursor"]},
        headers=desk.mia.headers,
    )
    assert second.status_code == 200, second.text
    items = page["items"] + second.json()["items"]
    assert second.json()["next_cursor"] is None
    assert len({i["id"] for i in items}) == 2
    assert all(i["department_id"] == desk.sales["id"] for i in items)
    assert all(i["values"]["status"] == "open" for i in items)
    # The manager's field rights hold in the drilled records too.
    assert all("secret" not in i["values"] or i["values"]["secret"] is None for i in items)
    admin = await desk.client.post(
        url, json={"cell": {"status": "open"}}, headers=desk.admin.headers
    )
    assert admin.json()["total"] == 3 and len(admin.json()["items"]) == 3
    # The count of every cell equals the number of drilled records.
    result = (await desk.result(desk.admin, "by_team"))["result"]
    for (team,), count in by_dimension(result, "tickets").items():
        drilled = await desk.client.post(
            f"{desk.base}/ops/widgets/by_team/drill",
            json={"cell": {"team": team}},
            headers=desk.admin.headers,
        )
        assert drilled.json()["total"] == count == len(drilled.json()["items"])


async def test_a_widget_exports_as_csv_and_xlsx(tickets: Desk):
    desk = tickets
    url = f"{desk.base}/ops/widgets/by_status/export"
    exported = await desk.client.get(url, params={"format": "csv"}, headers=desk.mia.headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["Status", "Tickets"]
    assert sorted(rows[1:]) == [["open", "2"], ["resolved", "1"]]
    posted = await desk.client.post(
        url, params={"format": "xlsx"}, json={"filters": {}}, headers=desk.mia.headers
    )
    assert posted.status_code == 200, posted.text
    sheet = load_workbook(io.BytesIO(posted.content)).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["Status", "Tickets"]
    assert sorted(cells[1:]) == [["open", "2"], ["resolved", "1"]]
    # ann may read her tickets but not export them.
    refused = await desk.client.get(url, headers=desk.ann.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


async def test_a_hidden_field_is_refused_naming_widget_and_field(tickets: Desk):
    desk = tickets
    for lang, title in (("en", "uses a field you may not see"), ("zh-CN", "无权查看")):
        refused = await desk.client.post(
            f"{desk.base}/ops/widgets/by_secret/run",
            json={},
            headers={**desk.mia.headers, "Accept-Language": lang},
        )
        assert refused.status_code == 403, refused.text
        body = refused.json()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert body["code"] == "widget_field_hidden" and body["widget"] == "by_secret"
        assert title in body["title"]
        assert "secret" in body["errors"][0]["message"]
    drilled = await desk.client.post(
        f"{desk.base}/ops/widgets/by_secret/drill",
        json={"cell": {"secret": "a"}},
        headers=desk.mia.headers,
    )
    assert drilled.status_code == 403 and drilled.json()["code"] == "widget_field_hidden"
    exported = await desk.client.get(
        f"{desk.base}/ops/widgets/by_secret/export", headers=desk.mia.headers
    )
    assert exported.status_code == 403 and exported.json()["code"] == "widget_field_hidden"


async def test_narrowed_tokens_apply(tickets: Desk):
    desk = tickets
    other_app = await narrowed_token(desk.client, desk.mia, apps=["elsewhere"])
    refused = await desk.client.post(f"{desk.base}/ops/run", json={}, headers=other_app)
    assert refused.status_code == 403 and refused.json()["code"] == "token_scope"
    listed = await desk.client.get(desk.base, headers=other_app)
    assert listed.status_code == 403 and listed.json()["code"] == "token_scope"
    read_only = await narrowed_token(desk.client, desk.mia, apps=["desk"], actions=["read"])
    ran = await desk.client.post(f"{desk.base}/ops/widgets/total/run", json={}, headers=read_only)
    assert ran.status_code == 200 and kpi(ran.json()["result"], "tickets") == 3
    export = await desk.client.get(f"{desk.base}/ops/widgets/total/export", headers=read_only)
    assert export.status_code == 403 and export.json()["code"] == "token_scope"
    no_read = await narrowed_token(desk.client, desk.mia, actions=["export"])
    hidden = await desk.client.post(f"{desk.base}/ops/widgets/total/run", json={}, headers=no_read)
    assert hidden.status_code in (403, 404)


async def test_a_user_without_read_sees_no_dashboard(desk: Desk, client, sessions):
    outsider = await make_account(client, sessions, "zoe", USER_PASSWORD)
    desk.app.permissions = [p for p in desk.app.permissions if p["id"] == "managers"]
    published = await desk.app.change((await desk.app.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text
    listed = await client.get(desk.base, headers=outsider.headers)
    assert listed.status_code == 200 and listed.json() == []
    missing = await client.post(f"{desk.base}/ops/run", json={}, headers=outsider.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "dashboard_not_found"


async def test_a_join_reads_the_joined_form_through_its_scope(desk: Desk):
    client = desk.client

    async def customer(who, level: str) -> int:
        created = await client.post(
            desk.records("customer"),
            json={"values": {"name": level, "level": level}},
            headers=who.headers,
        )
        assert created.status_code == 201, created.text
        return int(created.json()["id"])

    gold, silver = await customer(desk.ann, "gold"), await customer(desk.bob, "silver")
    await desk.ticket(desk.ann, status="open", customer=gold)
    await desk.ticket(desk.ann, status="open", customer=gold)
    await desk.ticket(desk.bob, status="open", customer=silver)
    await desk.ticket(desk.ann, status="open")
    admin = await desk.result(desk.admin, "by_level")
    assert by_dimension(admin["result"], "tickets") == {("gold",): 2, ("silver",): 1, (None,): 1}
    mia = await desk.result(desk.mia, "by_level")
    assert by_dimension(mia["result"], "tickets") == {("gold",): 2, (None,): 1}
    # ann reads only her own customers and tickets; bob's customer is not hers to group by.
    ann = await desk.result(desk.ann, "by_level")
    assert by_dimension(ann["result"], "tickets") == {("gold",): 2, (None,): 1}
    drilled = await client.post(
        f"{desk.base}/ops/widgets/by_level/drill",
        json={"cell": {"level": "gold"}},
        headers=desk.mia.headers,
    )
    assert drilled.status_code == 200, drilled.text
    assert drilled.json()["total"] == 2
    assert {i["values"]["customer"] for i in drilled.json()["items"]} == {gold}
    # The manager's grant narrowed to tickets: their own customers (none) is all they read
    # of the joined form, so the levels read as NULL, nothing leaks.
    desk.app.permissions = [
        {**p, "form": "ticket"} if p["id"] == "managers" else p for p in desk.app.permissions
    ]
    published = await desk.app.change((await desk.app.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text
    mia = await desk.result(desk.mia, "by_level")
    assert by_dimension(mia["result"], "tickets") == {(None,): 3}
    # Without any read on the joined form the widget is refused (the others still run).
    desk.app.permissions = [{**p, "form": "ticket"} for p in desk.app.permissions]
    published = await desk.app.change((await desk.app.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text
    refused = await desk.run(desk.mia, "by_level")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    run = {w["widget"]: w for w in (await desk.run(desk.mia)).json()["widgets"]}
    assert run["by_level"]["ok"] is False and run["total"]["ok"] is True


async def test_a_system_write_invalidates_too(tickets: Desk, sessions):
    """Flows and rules write as the system through the same writer: their writes count."""
    from runtime.records.forms import resolve
    from runtime.records.writer import RecordWriter, commit_and_dispatch

    desk = tickets
    first = await desk.result(desk.admin, "total")
    assert (
        kpi(first["result"], "tickets"),
        (await desk.result(desk.admin, "total"))["cached"],
    ) == (5, True)
    async with sessions() as db:
        handle = await resolve(db, "desk", "ticket")
        await RecordWriter(db, handle, None, source="flow").create({"subject": "by a flow"})
        await commit_and_dispatch(db)
    again = await desk.result(desk.admin, "total")
    assert (kpi(again["result"], "tickets"), again["cached"]) == (6, False)


async def test_pivots_and_record_tables_run_and_export(tickets: Desk):
    desk = tickets
    pivot = (await desk.result(desk.mia, "status_team"))["result"]["pivot"]
    assert pivot["rows"] == [["open"], ["resolved"]] and pivot["columns"] == [["l1"], ["l2"]]
    assert pivot["cells"] == [[{"tickets": 1}, {"tickets": 1}], [{"tickets": 1}, None]]
    assert pivot["row_totals"] == [{"tickets": 2}, {"tickets": 1}]
    assert pivot["column_totals"] == [{"tickets": 2}, {"tickets": 1}]
    assert pivot["total"] == {"tickets": 3}
    exported = await desk.client.get(
        f"{desk.base}/ops/widgets/status_team/export", headers=desk.mia.headers
    )
    assert exported.status_code == 200, exported.text
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == ["status", "team", "Tickets"]
    assert sorted(rows[1:]) == [["open", "l1", "1"], ["open", "l2", "1"], ["resolved", "l1", "1"]]
    listing = (await desk.result(desk.mia, "listing"))["result"]
    assert sorted((r["subject"], r["status"]) for r in listing["rows"]) == [
        ("s", "open"),
        ("s", "open"),
        ("s", "resolved"),
    ]
    table = await desk.client.get(
        f"{desk.base}/ops/widgets/listing/export",
        params={"format": "xlsx"},
        headers=desk.mia.headers,
    )
    assert table.status_code == 200, table.text
    cells = [
        [c.value for c in row]
        for row in load_workbook(io.BytesIO(table.content)).active.iter_rows()
    ]
    assert cells[0] == ["Subject", "Status"]
    assert sorted(cells[1:]) == [["s", "open"], ["s", "open"], ["s", "resolved"]]
