"""Roles (global and per app) and user groups, with their members — both databases."""

from __future__ import annotations

import pytest

from tests.runtime.org.api import audit_actions, codes, get, new_user


async def make_app(client, admin, key: str = "crm") -> int:
    response = await client.post(
        "/api/v1/apps", json={"key": key, "name": {"en": key}}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def create(client, admin, url: str, **body) -> dict:
    response = await client.post(url, json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_global_and_app_roles(client, admin, sessions):
    app_id = await make_app(client, admin)
    other_app = await make_app(client, admin, "hr")
    agent = await create(client, admin, "/api/v1/roles", key="agent", name="Agent")
    assert agent["app_id"] is None and agent["member_count"] == 0 and agent["row_version"] == 1
    local = await create(
        client, admin, "/api/v1/roles", key="agent", name="CRM agent", app_id=app_id
    )
    assert local["app_id"] == app_id  # the same key in another scope is fine
    await create(client, admin, "/api/v1/roles", key="agent", name="HR agent", app_id=other_app)
    clash = await client.post(
        "/api/v1/roles",
        json={"key": "agent", "name": "Again"},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert clash.status_code == 422 and codes(clash) == {"key": "already_exists"}
    assert clash.json()["errors"][0]["message"] == "该标识已被使用。"
    app_clash = await client.post(
        "/api/v1/roles",
        json={"key": "agent", "name": "Again", "app_id": app_id},
        headers=admin.headers,
    )
    assert app_clash.status_code == 422
    unknown_app = await client.post(
        "/api/v1/roles", json={"key": "x", "name": "X", "app_id": 999999}, headers=admin.headers
    )
    assert unknown_app.status_code == 422 and codes(unknown_app) == {"app_id": "unknown_app"}
    bad = await client.post(
        "/api/v1/roles", json={"key": "Not A Key", "name": ""}, headers=admin.headers
    )
    assert bad.status_code == 422 and set(codes(bad)) == {"key", "name"}
    everything = await get(client, admin, "/api/v1/roles")
    assert everything["total"] == 3
    assert [
        r["id"] for r in (await get(client, admin, "/api/v1/roles", scope="global"))["items"]
    ] == [agent["id"]]
    assert (await get(client, admin, "/api/v1/roles", scope="app"))["total"] == 2
    by_app = await get(client, admin, "/api/v1/roles", app_id=app_id)
    assert [r["id"] for r in by_app["items"]] == [local["id"]]
    assert (await get(client, admin, "/api/v1/roles", q="hr"))["total"] == 1
    assert await audit_actions(sessions, "role") == ["role.create"] * 3


async def test_deleted_app_has_no_roles(client, admin, sessions):
    from builder.apps.models import App
    from runtime.db import utcnow

    app_id = await make_app(client, admin)
    async with sessions() as db:
        app = await db.get(App, app_id)
        app.deleted_at = utcnow()
        await db.commit()
    response = await client.post(
        "/api/v1/roles", json={"key": "x", "name": "X", "app_id": app_id}, headers=admin.headers
    )
    assert response.status_code == 422 and codes(response) == {"app_id": "unknown_app"}


@pytest.mark.parametrize("kind", ["roles", "groups"])
async def test_update_delete_and_stale_versions(client, admin, sessions, kind):
    item = await create(client, admin, f"/api/v1/{kind}", key="agents", name="Agents")
    url = f"/api/v1/{kind}/{item['id']}"
    changed = await client.patch(
        url,
        json={"row_version": 1, "name": "Support agents", "description": "Tier 1"},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Support agents" and changed.json()["row_version"] == 2
    stale = await client.patch(url, json={"row_version": 1, "name": "x"}, headers=admin.headers)
    assert stale.status_code == 409 and stale.json()["current_row_version"] == 2
    await create(client, admin, f"/api/v1/{kind}", key="other", name="Other")
    clash = await client.patch(url, json={"row_version": 2, "key": "other"}, headers=admin.headers)
    assert clash.status_code == 422 and codes(clash) == {"key": "already_exists"}
    rekeyed = await client.patch(
        url, json={"row_version": 2, "key": "tier1"}, headers=admin.headers
    )
    assert rekeyed.status_code == 200 and rekeyed.json()["key"] == "tier1"
    assert (await get(client, admin, url))["description"] == "Tier 1"
    carol = await new_user(client, admin, "carol")
    assert (await client.put(f"{url}/members/{carol}", headers=admin.headers)).status_code == 200
    stale_delete = await client.delete(f"{url}?row_version=1", headers=admin.headers)
    assert stale_delete.status_code == 409
    assert (await client.delete(url, headers=admin.headers)).status_code == 204
    assert (await client.get(url, headers=admin.headers)).status_code == 404
    assert (await client.delete(url, headers=admin.headers)).status_code == 404
    entity = kind[:-1]
    actions = await audit_actions(sessions, entity)
    assert f"{entity}.update" in actions and actions[-1] == f"{entity}.delete"


@pytest.mark.parametrize("kind", ["roles", "groups"])
async def test_members(client, admin, sessions, kind):
    item = await create(client, admin, f"/api/v1/{kind}", key="team", name="Team")
    url = f"/api/v1/{kind}/{item['id']}"
    carol = await new_user(client, admin, "carol", display_name="Carol")
    dave = await new_user(client, admin, "dave")
    added = await client.put(f"{url}/members/{dave}", headers=admin.headers)
    assert added.status_code == 200 and added.json()["username"] == "dave"
    await client.put(f"{url}/members/{carol}", headers=admin.headers)
    again = await client.put(f"{url}/members/{carol}", headers=admin.headers)
    assert again.status_code == 200  # already a member: nothing changes
    listed = await get(client, admin, f"{url}/members")
    assert [u["username"] for u in listed["items"]] == ["carol", "dave"] and listed["total"] == 2
    assert (await get(client, admin, url))["member_count"] == 2
    counts = {
        i["id"]: i["member_count"] for i in (await get(client, admin, f"/api/v1/{kind}"))["items"]
    }
    assert counts == {item["id"]: 2}
    no_user = await client.put(f"{url}/members/999999", headers=admin.headers)
    assert no_user.status_code == 404
    no_item = await client.put(f"/api/v1/{kind}/999999/members/{carol}", headers=admin.headers)
    assert no_item.status_code == 404
    assert (await client.delete(f"{url}/members/{dave}", headers=admin.headers)).status_code == 204
    not_member = await client.delete(f"{url}/members/{dave}", headers=admin.headers)
    assert not_member.status_code == 404
    entity = kind[:-1]
    actions = await audit_actions(sessions, entity)
    assert actions.count(f"{entity}.member.add") == 2
    assert actions.count(f"{entity}.member.remove") == 1


async def test_groups_crud(client, admin):
    group = await create(
        client, admin, "/api/v1/groups", key="l1_agents", name="L1 agents", description="Phones"
    )
    assert group["description"] == "Phones" and group["member_count"] == 0
    clash = await client.post(
        "/api/v1/groups", json={"key": "l1_agents", "name": "Again"}, headers=admin.headers
    )
    assert clash.status_code == 422 and codes(clash) == {"key": "already_exists"}
    await create(client, admin, "/api/v1/groups", key="l2_agents", name="L2 agents")
    assert (await get(client, admin, "/api/v1/groups", q="l2"))["total"] == 1
    assert (await get(client, admin, "/api/v1/groups", limit=1))["total"] == 2
