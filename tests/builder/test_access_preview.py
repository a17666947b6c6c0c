""" "View as user": a user's actions, rows, field rights, dashboards and flows in the published
app, as the runtime's rights functions decide them — on both databases."""

from __future__ import annotations

from tests.runtime.rules.conftest import Desk

ZH = {"Accept-Language": "zh-CN"}
GRANTS = [
    {
        "id": "support_own",
        "grantee": {"kind": "group", "key": "support"},
        "actions": ["read", "create"],
        "scope": "own",
        "fields": {"contact": "hidden", "bumps": "read_only"},
    },
    {
        "id": "open_for_all",
        "form": "ticket",
        "grantee": {"kind": "everyone"},
        "actions": ["read"],
        "scope": "rule",
        "rule": {"==": [{"var": "status"}, "open"]},
    },
    {"id": "tasks", "form": "task", "grantee": {"kind": "everyone"}, "actions": ["read"]},
]
BOARD = {
    "key": "ops",
    "title": {"en": "Operations", "zh-CN": "运营"},
    "widgets": [
        {"key": "n", "chart": "kpi", "form": "ticket", "measures": [{"key": "n", "agg": "count"}]}
    ],
}
NOOP = {
    "key": "noop",
    "name": {"en": "No-op"},
    "form": "ticket",
    "nodes": [{"id": "start", "type": "start"}, {"id": "end", "type": "end"}],
    "edges": [{"id": "e1", "source": "start", "target": "end"}],
}


async def _republish(desk: Desk) -> None:
    draft = await desk.app.draft()
    definition = {**draft["definition"], "dashboards": [BOARD], "flows": [NOOP]}
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=desk.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    desk.app.permissions = GRANTS
    published = await desk.app.change((await desk.app.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text


async def _preview(desk: Desk, user_id: int, headers=None):
    return await desk.client.get(
        f"{desk.app.base}/access-preview",
        params={"user_id": user_id},
        headers={**desk.admin.headers, **(headers or {})},
    )


def _fields(form: dict) -> dict[str, dict]:
    return {f["key"]: f for f in form["fields"]}


async def test_view_as_a_user(desk: Desk):
    await _republish(desk)
    sam = desk.people["sam"]  # in group support
    seen = await _preview(desk, sam.id)
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["user"]["username"] == "sam" and body["user"]["groups"] == ["support"]
    ticket = next(f for f in body["forms"] if f["key"] == "ticket")
    assert ticket["actions"] == {
        "read": True,
        "create": True,
        "update": False,
        "delete": False,
        "export": False,
        "import": False,
    }
    read = ticket["rows"]["read"]
    assert {g["grant"] for g in read["grants"]} == {"support_own", "open_for_all"}
    assert read["summary"] == "records matching a rule and records they own"
    assert "owner_id" in read["filter_sql"] and str(sam.id) in read["filter_sql"]
    assert ticket["rows"]["update"] == {"summary": "no records", "grants": [], "filter_sql": None}
    fields = _fields(ticket)
    assert fields["contact"]["read"] == "some_rows"  # hidden by one read grant, not the other
    assert fields["bumps"] == {
        "key": "bumps",
        "name": "Bumps",
        "read": "visible",
        "create": False,
        "update": False,
        "summary": "read-only",
    }
    assert fields["subject"]["create"] is True
    assert fields["subject"]["summary"] == "editable when creating"
    assert [d["key"] for d in body["dashboards"]] == ["ops"]
    assert body["flows"] == [
        {
            "key": "noop",
            "name": "No-op",
            "form": "ticket",
            "can_start": True,
            "summary": "can start on records they can read",
        }
    ]

    fay = desk.people["fay"]  # not in support: only the open tickets
    zh = (await _preview(desk, fay.id, ZH)).json()
    ticket = next(f for f in zh["forms"] if f["key"] == "ticket")
    assert ticket["actions"]["read"] and not ticket["actions"]["create"]
    assert ticket["rows"]["read"]["summary"] == "符合规则的记录"
    assert _fields(ticket)["contact"]["read"] == "visible"
    assert _fields(ticket)["subject"]["summary"] == "只读"
    task = next(f for f in zh["forms"] if f["key"] == "task")
    assert task["actions"]["read"] is True and task["rows"]["read"]["summary"] == "全部记录"

    admin = (await _preview(desk, desk.admin.id)).json()
    assert (
        next(f for f in admin["forms"] if f["key"] == "ticket")["rows"]["delete"]["summary"]
        == "all records (administrator)"
    )


async def test_access_preview_refusals(desk: Desk, client, admin):
    assert (await _preview(desk, 999_999)).status_code == 404
    ann = desk.people["ann"]
    refused = await client.get(
        f"{desk.app.base}/access-preview", params={"user_id": ann.id}, headers=ann.headers
    )
    assert refused.status_code == 403
    bad = await client.get(
        f"{desk.app.base}/access-preview", params={"user_id": "x"}, headers=admin.headers
    )
    assert bad.status_code == 422
    created = await client.post(
        "/api/v1/apps", json={"key": "fresh", "name": {"en": "Fresh"}}, headers=admin.headers
    )
    fresh = created.json()["id"]
    unpublished = await client.get(
        f"/api/v1/apps/{fresh}/access-preview",
        params={"user_id": ann.id},
        headers={**admin.headers, **ZH},
    )
    assert unpublished.status_code == 422 and unpublished.json()["code"] == "app_not_published"
    assert unpublished.json()["title"] == "该应用尚未发布。"
