"""The ``design`` right: a granted user designs that app (and no other); tokens narrowed away
from it may not."""

from __future__ import annotations

from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.records.conftest import EVERYONE, TICKET, publish_form


async def _app_id(client, admin, key: str) -> int:
    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    return next(a["id"] for a in apps if a["key"] == key)


async def test_designers_design_their_app_only(client, admin, sessions):
    dora = await make_account(client, sessions, "dora", USER_PASSWORD)
    grants = [
        *EVERYONE,
        {"id": "dora_designs", "grantee": {"kind": "user", "key": "dora"}, "actions": ["design"]},
    ]
    await publish_form(client, admin, "desk", TICKET, permissions=grants)
    await publish_form(client, admin, "other", TICKET)
    desk, other = await _app_id(client, admin, "desk"), await _app_id(client, admin, "other")

    listed = await client.get("/api/v1/apps", headers=dora.headers)
    assert [a["key"] for a in listed.json()] == ["desk"]
    draft = await client.get(f"/api/v1/apps/{desk}/draft", headers=dora.headers)
    assert draft.status_code == 200
    body = draft.json()
    forms = body["definition"]["forms"]
    forms[0]["label"] = {"en": "Tickets (renamed by a designer)"}
    saved = await client.put(
        f"/api/v1/apps/{desk}/draft",
        json={"row_version": body["row_version"], "definition": body["definition"]},
        headers=dora.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await client.post(
        f"/api/v1/apps/{desk}/publish",
        json={"row_version": saved.json()["row_version"]},
        headers=dora.headers,
    )
    assert published.status_code == 200, published.text

    for path in (f"/api/v1/apps/{other}/draft", f"/api/v1/apps/{other}/versions"):
        refused = await client.get(path, headers=dora.headers)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    created = await client.post(
        "/api/v1/apps", json={"key": "mine", "name": {"en": "Mine"}}, headers=dora.headers
    )
    assert created.status_code == 403
    missing = await client.get("/api/v1/apps/999999/draft", headers=dora.headers)
    assert missing.status_code == 404


async def test_narrowed_tokens_cannot_design(client, admin):
    await publish_form(client, admin, "desk", TICKET)
    desk = await _app_id(client, admin, "desk")
    for narrowing in ({"actions": ["read"]}, {"apps": ["other"]}):
        made = await client.post(
            "/api/v1/auth/tokens", json={"name": "narrow", **narrowing}, headers=admin.headers
        )
        assert made.status_code == 201, made.text
        assert {k: made.json()[k] for k in narrowing} == narrowing
        headers = {"Authorization": f"Bearer {made.json()['token']}"}
        assert (await client.get(f"/api/v1/apps/{desk}/draft", headers=headers)).status_code == 403
        records = await client.get("/api/v1/records/desk/ticket", headers=headers)
        created = await client.post(
            "/api/v1/records/desk/ticket", json={"values": {"subject": "x"}}, headers=headers
        )
        assert created.status_code == 403 and created.json()["code"] == "token_scope"
        if "actions" in narrowing:
            assert records.status_code == 200
        else:
            assert records.status_code == 403 and records.json()["code"] == "token_scope"
