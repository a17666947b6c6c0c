"""Rename, copy, soft delete and export of apps — on both databases."""

from __future__ import annotations

from sqlalchemy import select

from runtime.audit.models import AuditEntry
from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.records.conftest import EVERYONE, publish_app
from tests.runtime.web.pages import sign_in


def _forms(ids: dict[str, int]) -> list[dict]:
    return [
        {
            "id": ids["customer"],
            "key": "customer",
            "label": {"en": "Customer", "zh-CN": "客户"},
            "fields": [{"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}}],
        },
        {
            "id": ids["ticket"],
            "key": "ticket",
            "label": {"en": "Ticket", "zh-CN": "工单"},
            "fields": [
                {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
                {
                    "id": 2,
                    "key": "customer",
                    "type": "relation",
                    "label": {"en": "Customer"},
                    "options": {"form_id": ids["customer"]},
                },
            ],
        },
    ]


async def _desk(client, admin):
    return await publish_app(client, admin, "desk", ["customer", "ticket"], _forms)


async def _actions(sessions, action: str) -> list[AuditEntry]:
    async with sessions() as db:
        rows = await db.execute(select(AuditEntry).where(AuditEntry.action == action))
        return list(rows.scalars())


async def test_rename_with_optimistic_lock(client, admin, sessions):
    desk = await _desk(client, admin)
    app = (await client.get(desk.base, headers=admin.headers)).json()
    renamed = await client.patch(
        desk.base,
        json={
            "row_version": app["row_version"],
            "name": {"en": "Service desk", "zh-CN": "服务台"},
            "description": {"en": "Tickets"},
        },
        headers=admin.headers,
    )
    assert renamed.status_code == 200, renamed.text
    body = renamed.json()
    assert body["name"] == {"en": "Service desk", "zh-CN": "服务台"}
    assert body["description"] == {"en": "Tickets"}
    assert body["row_version"] == app["row_version"] + 1
    stale = await client.patch(
        desk.base,
        json={"row_version": app["row_version"], "name": {"en": "Again"}},
        headers=admin.headers,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    assert stale.json()["current_row_version"] == body["row_version"]
    bad = await client.patch(
        desk.base,
        json={"row_version": body["row_version"], "name": {"fr": "Bureau"}},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"
    assert bad.json()["title"] == "请求内容无效。"
    assert bad.json()["errors"][0]["field"] == "name"
    [entry] = await _actions(sessions, "app.update")
    assert entry.changes["after"]["name"]["zh-CN"] == "服务台"


async def test_copy_gets_new_form_ids_and_no_records(client, admin, sessions):
    desk = await _desk(client, admin)
    created = await client.post(
        desk.url("customer"), json={"values": {"name": "ACME"}}, headers=admin.headers
    )
    assert created.status_code == 201
    copied = await client.post(
        f"{desk.base}/copy",
        json={"key": "desk_copy", "name": {"en": "Desk (copy)"}},
        headers=admin.headers,
    )
    assert copied.status_code == 201, copied.text
    copy = copied.json()
    assert copy["key"] == "desk_copy" and copy["published_version_id"] is None
    draft = (await client.get(f"/api/v1/apps/{copy['id']}/draft", headers=admin.headers)).json()
    forms = {f["key"]: f for f in draft["definition"]["forms"]}
    assert set(forms) == {"customer", "ticket"}
    assert not {f["id"] for f in forms.values()} & set(desk.ids.values())
    relation = forms["ticket"]["fields"][1]
    assert relation["options"]["form_id"] == forms["customer"]["id"]
    assert [g["id"] for g in draft["definition"]["permissions"]] == ["everyone"]
    # The copy publishes on its own tables, empty.
    published = await client.post(
        f"/api/v1/apps/{copy['id']}/publish",
        json={"row_version": draft["row_version"]},
        headers=admin.headers,
    )
    assert published.status_code == 200, published.text
    listed = await client.get("/api/v1/records/desk_copy/customer", headers=admin.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
    taken = await client.post(
        f"{desk.base}/copy", json={"key": "desk", "name": {"en": "X"}}, headers=admin.headers
    )
    assert taken.status_code == 422 and taken.json()["errors"][0]["code"] == "already_exists"
    assert [e.entity_id for e in await _actions(sessions, "app.copy")] == [str(copy["id"])]


async def test_designers_may_not_copy(client, admin, sessions):
    grants = [
        *EVERYONE,
        {"id": "dora", "grantee": {"kind": "user", "key": "dora"}, "actions": ["design"]},
    ]
    dora = await make_account(client, sessions, "dora", USER_PASSWORD)
    desk = await publish_app(client, admin, "desk", ["customer", "ticket"], _forms, grants)
    refused = await client.post(
        f"{desk.base}/copy", json={"key": "mine", "name": {"en": "Mine"}}, headers=dora.headers
    )
    assert refused.status_code == 403 and refused.json()["code"] == "admin_required"
    app = (await client.get(desk.base, headers=dora.headers)).json()
    renamed = await client.patch(
        desk.base,
        json={"row_version": app["row_version"], "name": {"en": "Dora's desk"}},
        headers=dora.headers,
    )
    assert renamed.status_code == 200, renamed.text


async def test_delete_needs_the_key_and_hides_the_app(client, admin, sessions):
    desk = await _desk(client, admin)
    refused = await client.request(
        "DELETE", desk.base, json={"confirm": "nope"}, headers=admin.headers
    )
    assert refused.status_code == 422 and refused.json()["code"] == "confirmation_required"
    assert "desk" in refused.json()["title"]
    bare = await client.delete(desk.base, headers={**admin.headers, "Accept-Language": "zh-CN"})
    assert bare.status_code == 422 and bare.json()["title"] == "请输入应用标识（desk）以确认。"
    assert (await client.get(desk.url("ticket"), headers=admin.headers)).status_code == 200
    await sign_in(client, admin.username, admin.password)
    assert 'href="/apps/desk"' in (await client.get("/")).text

    deleted = await client.delete(f"{desk.base}?confirm=desk", headers=admin.headers)
    assert deleted.status_code == 204, deleted.text
    assert [
        a["key"] for a in (await client.get("/api/v1/apps", headers=admin.headers)).json()
    ] == []
    assert (await client.get(desk.base, headers=admin.headers)).status_code == 404
    assert (await client.get(desk.url("ticket"), headers=admin.headers)).status_code == 404
    assert 'href="/apps/desk"' not in (await client.get("/")).text
    assert (await client.get("/apps/desk")).status_code == 404
    assert len(await _actions(sessions, "app.delete")) == 1


async def test_export_is_a_download_of_the_definition(client, admin, sessions):
    desk = await _desk(client, admin)
    exported = await client.get(f"{desk.base}/export", headers=admin.headers)
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"] == 'attachment; filename="desk.app.json"'
    document = exported.json()
    assert document["format"] == "tangram.app" and document["format_version"] == 1
    assert document["app"]["key"] == "desk" and document["published_version"] == 1
    assert [f["key"] for f in document["definition"]["forms"]] == ["customer", "ticket"]
    assert len(await _actions(sessions, "app.export")) == 1
    nobody = await make_account(client, sessions, "nobody", USER_PASSWORD)
    denied = await client.get(f"{desk.base}/export", headers=nobody.headers)
    assert denied.status_code == 403
