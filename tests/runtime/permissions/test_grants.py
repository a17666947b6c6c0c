"""Bad permission sets are refused at publish with per-field errors; decisions fail closed."""

from __future__ import annotations

from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.org.api import department, join
from tests.runtime.records.conftest import TICKET, publish_app


async def _publish(client, admin, grants, roles=(), key="desk"):
    app = await publish_app(
        client, admin, key, ["ticket"], lambda ids: [{**TICKET, "id": ids["ticket"]}]
    )
    app.permissions, app.roles = grants, list(roles)
    return app, await app.change((await app.draft())["definition"]["forms"])


async def test_bad_grants_are_refused_with_every_problem(client, admin):
    grants = [
        {"id": "a", "grantee": {"kind": "role", "key": "ghost"}, "actions": ["read"]},
        {"id": "b", "grantee": {"kind": "group", "key": "nobody"}, "actions": ["read"]},
        {"id": "c", "grantee": {"kind": "department", "key": "NOPE"}, "actions": ["read"]},
        {"id": "d", "grantee": {"kind": "user", "key": "zed"}, "actions": ["read"]},
    ]
    _, published = await _publish(client, admin, grants)
    assert published.status_code == 422, published.text
    assert {(e["field"], e["code"]) for e in published.json()["errors"]} == {
        ("permissions[0].grantee.key", "unknown_role"),
        ("permissions[1].grantee.key", "unknown_group"),
        ("permissions[2].grantee.key", "unknown_department"),
        ("permissions[3].grantee.key", "unknown_user"),
    }
    static = [
        {
            "id": "e",
            "form": "ticket",
            "grantee": {"kind": "everyone"},
            "actions": ["read"],
            "scope": "rule",
            "rule": {"==": [{"var": "no_such_field"}, 1]},
            "fields": {"ghost_field": "hidden"},
        },
        {"id": "f", "form": "nosuch", "grantee": {"kind": "everyone"}, "actions": ["read"]},
    ]
    _, published = await _publish(client, admin, static, key="desk2")
    codes = {(e["field"], e["code"]) for e in published.json()["errors"]}
    assert ("permissions[0].rule", "unknown_field") in codes
    assert ("permissions[0].fields.ghost_field", "unknown_field") in codes
    assert ("permissions[1].form", "unknown_form") in codes


async def test_malformed_grants_are_422_on_save(client, admin):
    app = await publish_app(
        client, admin, "desk", ["ticket"], lambda ids: [{**TICKET, "id": ids["ticket"]}]
    )
    app.permissions = [
        {"id": "x", "grantee": {"kind": "role"}, "actions": []},
        {"id": "y", "grantee": {"kind": "everyone"}, "actions": ["read"], "scope": "rule"},
    ]
    saved = await app.save(await app.draft(), (await app.draft())["definition"]["forms"])
    assert saved.status_code == 422
    fields = {e["field"] for e in saved.json()["errors"]}
    assert any(f.startswith("definition.permissions[0]") for f in fields), fields
    assert any(f.startswith("definition.permissions[1]") for f in fields), fields


async def test_leaving_a_department_counts_from_the_next_request(client, admin, sessions):
    sales = await department(client, admin, "SALES")
    grants = [
        {
            "id": "sales",
            "grantee": {"kind": "department", "key": "SALES"},
            "actions": ["read", "create"],
            "scope": "department",
        }
    ]
    app, published = await _publish(client, admin, grants)
    assert published.status_code == 200, published.text
    ann = await make_account(client, sessions, "ann", USER_PASSWORD)
    await join(client, admin, sales["id"], ann.id, is_primary=True)
    created = await client.post(
        app.url("ticket"),
        json={"values": {"subject": "打印机坏了", "category": "repair"}},
        headers=ann.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["department_id"] == sales["id"]
    url = f"{app.url('ticket')}/{created.json()['id']}"
    assert (await client.get(url, headers=ann.headers)).status_code == 200
    removed = await client.delete(
        f"/api/v1/departments/{sales['id']}/members/{ann.id}", headers=admin.headers
    )
    assert removed.status_code in (200, 204), removed.text
    assert (await client.get(url, headers=ann.headers)).status_code == 404
    listed = await client.get(app.url("ticket"), headers=ann.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
    again = await client.post(app.url("ticket"), json={"values": {}}, headers=ann.headers)
    assert again.status_code == 403 and again.json()["code"] == "forbidden"
