"""The app builder's home and an app's overview, on both databases: who sees which apps, a new
app from the home page (with inline errors), draft vs published status."""

from __future__ import annotations

import json
import re
from html import unescape

from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_account
from tests.runtime.records.conftest import EVERYONE, TICKET, publish_form
from tests.runtime.web.pages import field_errors, hidden, sign_in


def badges(html: str) -> list[str]:
    return [
        unescape(b) for b in re.findall(r'<span class="badge badge--[a-z]+">([^<]*)</span>', html)
    ]


async def test_an_admin_creates_an_app_from_the_builder_home(client, admin):
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    home = await client.get("/build")
    assert home.status_code == 200
    assert "New app" in home.text and 'href="/build"' in home.text

    created = await client.post(
        "/build",
        data={"csrf_token": csrf, "key": "returns", "name_zh": "退货", "name_en": "Returns"},
    )
    assert created.status_code == 303 and created.headers["location"] == "/build/apps/returns"
    overview = await client.get("/build/apps/returns")
    assert overview.status_code == 200
    assert "Draft, never published" in badges(overview.text)
    assert 'id="builder-config"' in overview.text

    again = await client.post(
        "/build", data={"csrf_token": csrf, "key": "returns", "name_en": "Again"}
    )
    assert again.status_code == 422
    assert field_errors(again.text, "key")
    nameless = await client.post("/build", data={"csrf_token": csrf, "key": "nameless"})
    assert nameless.status_code == 422 and field_errors(nameless.text, "name_en")
    bad_key = await client.post(
        "/build", data={"csrf_token": csrf, "key": "Bad Key!", "name_en": "Bad"}
    )
    assert bad_key.status_code == 422 and field_errors(bad_key.text, "key")
    listed = await client.get("/api/v1/apps", headers=admin.headers)
    assert [a["key"] for a in listed.json()] == ["returns"]
    # No CSRF token: refused, nothing created.
    forged = await client.post("/build", data={"key": "forged", "name_en": "Forged"})
    assert forged.status_code == 403
    listed = await client.get("/api/v1/apps", headers=admin.headers)
    assert [a["key"] for a in listed.json()] == ["returns"]


async def test_status_follows_the_draft_and_designers_see_their_apps_only(client, admin, sessions):
    await make_account(client, sessions, "dora", USER_PASSWORD)
    grants = [
        *EVERYONE,
        {"id": "dora_designs", "grantee": {"kind": "user", "key": "dora"}, "actions": ["design"]},
    ]
    await publish_form(client, admin, "desk", TICKET, permissions=grants)
    await publish_form(client, admin, "other", TICKET)

    csrf = await sign_in(client, "dora", USER_PASSWORD, "/build")
    home = await client.get("/build")
    assert 'href="/build/apps/desk"' in home.text
    assert 'href="/build/apps/other"' not in home.text
    assert "New app" not in home.text
    overview = await client.get("/build/apps/desk")
    assert overview.status_code == 200
    assert "Published" in badges(overview.text)
    assert "The draft passes every check." in overview.text
    assert (await client.get("/build/apps/other")).status_code == 403
    assert (await client.get("/build/apps/nowhere")).status_code == 404
    refused = await client.post("/build", data={"csrf_token": csrf, "key": "x", "name_en": "X"})
    assert refused.status_code == 403

    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    desk = next(a["id"] for a in apps if a["key"] == "desk")
    draft = (await client.get(f"/api/v1/apps/{desk}/draft", headers=admin.headers)).json()
    draft["definition"]["forms"][0]["label"] = {"en": "Tickets, renamed"}
    saved = await client.put(
        f"/api/v1/apps/{desk}/draft",
        json={"row_version": draft["row_version"], "definition": draft["definition"]},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    overview = await client.get("/build/apps/desk")
    assert "Unpublished changes" in badges(overview.text)


async def test_the_roles_page_offers_the_organisation_to_designers(client, admin, sessions):
    await make_account(client, sessions, "dora", USER_PASSWORD)
    await publish_form(client, admin, "desk", TICKET)
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    page = await client.get("/build/apps/desk/roles")
    assert page.status_code == 200
    match = re.search(r'<script type="application/json" id="org-choices">(.*?)</script>', page.text)
    assert match
    org = json.loads(unescape(match[1]))
    assert {u["key"] for u in org["users"]} >= {"admin", "dora"}
    assert 'id="condition-strings"' in page.text and 'id="field-types"' in page.text
    client.cookies.clear()
    await sign_in(client, "dora", USER_PASSWORD, "/")
    assert (await client.get("/build/apps/desk/roles")).status_code == 403


async def test_rename_copy_and_delete_from_the_settings_page(client, admin):
    await publish_form(client, admin, "desk", TICKET)
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    page = await client.get("/build/apps/desk/settings")
    assert page.status_code == 200
    row_version = hidden(page.text, "row_version")
    renamed = await client.post(
        "/build/apps/desk/settings/rename",
        data={
            "csrf_token": csrf,
            "row_version": row_version,
            "name_zh": "服务台",
            "name_en": "Service desk",
            "description_en": "Tickets",
        },
    )
    assert renamed.status_code == 303
    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    assert apps[0]["name"] == {"zh-CN": "服务台", "en": "Service desk"}
    stale = await client.post(
        "/build/apps/desk/settings/rename",
        data={"csrf_token": csrf, "row_version": row_version, "name_en": "Lost update"},
    )
    assert stale.status_code == 409
    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    assert apps[0]["name"]["en"] == "Service desk"

    taken = await client.post(
        "/build/apps/desk/settings/copy",
        data={"csrf_token": csrf, "copy_key": "desk", "copy_en": "Copy"},
    )
    assert taken.status_code == 422 and field_errors(taken.text, "copy_key")
    copied = await client.post(
        "/build/apps/desk/settings/copy",
        data={"csrf_token": csrf, "copy_key": "desk_copy", "copy_en": "Desk copy"},
    )
    assert copied.status_code == 303 and copied.headers["location"] == "/build/apps/desk_copy"
    overview = await client.get("/build/apps/desk_copy")
    assert "Draft, never published" in badges(overview.text)

    wrong = await client.post(
        "/build/apps/desk_copy/settings/delete", data={"csrf_token": csrf, "confirm": "desk"}
    )
    assert wrong.status_code == 422 and field_errors(wrong.text, "confirm")
    deleted = await client.post(
        "/build/apps/desk_copy/settings/delete", data={"csrf_token": csrf, "confirm": "desk_copy"}
    )
    assert deleted.status_code == 303 and deleted.headers["location"] == "/build"
    home = await client.get("/build")
    assert "/build/apps/desk_copy" not in home.text and "/build/apps/desk" in home.text
    assert (await client.get("/build/apps/desk_copy")).status_code == 404
