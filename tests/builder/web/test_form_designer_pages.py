"""The form designer pages on both databases: the forms list and one form's designer for a
designer (403 for others), and the live preview of a draft form."""

from __future__ import annotations

import json
import re
from html import unescape

from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_account
from tests.runtime.records.conftest import TICKET, publish_form
from tests.runtime.web.pages import sign_in


def json_block(html: str, block_id: str):
    match = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', html)
    assert match, block_id
    return json.loads(unescape(match[1]))


async def first_form_id(client, admin, app_key: str) -> int:
    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    app_id = next(a["id"] for a in apps if a["key"] == app_key)
    draft = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    return draft["definition"]["forms"][0]["id"]


async def test_the_form_designer_renders_for_designers_only(client, admin, sessions):
    await make_account(client, sessions, "dora", USER_PASSWORD)
    await publish_form(client, admin, "desk", TICKET)
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    listing = await client.get("/build/apps/desk/forms")
    assert listing.status_code == 200
    assert 'href="/build/apps/desk/forms/ticket"' in listing.text
    assert "data-add-form" in listing.text
    page = await client.get("/build/apps/desk/forms/ticket")
    assert page.status_code == 200
    config = json_block(page.text, "form-designer")
    assert config["form_key"] == "ticket" and isinstance(config["form_id"], int)
    types = {t["type"] for t in json_block(page.text, "field-types")}
    assert {"text", "select", "subtable", "formula", "autonumber"} <= types
    assert page.text.count('data-add-type="') == len(types)
    assert 'id="condition-strings"' in page.text and "vendor/Sortable.min.js" in page.text
    assert (await client.get("/build/apps/desk/forms/nowhere")).status_code == 404

    client.cookies.clear()
    await sign_in(client, "dora", USER_PASSWORD, "/")
    assert (await client.get("/build/apps/desk/forms")).status_code == 403
    assert (await client.get("/build/apps/desk/forms/ticket")).status_code == 403


async def test_the_preview_renders_the_draft_form_with_its_linkage(client, admin):
    await publish_form(client, admin, "desk", TICKET)
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    form = {
        "id": 99,
        "key": "trial",
        "label": {"en": "Trial"},
        "fields": [
            {
                "id": 1,
                "key": "kind",
                "type": "select",
                "label": {"en": "Kind"},
                "options": {"options": [{"value": "x"}, {"value": "y"}]},
            },
            {
                "id": 2,
                "key": "detail",
                "type": "text",
                "label": {"en": "Detail shown for x"},
                "linkage": {"visible": {"==": [{"var": "kind"}, "x"]}},
            },
        ],
        "next_field_id": 3,
    }
    url = "/build/apps/desk/forms/ticket/preview"
    answer = await client.post(url, json={"form": form}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    html = answer.json()["html"]
    assert "data-record-form" in html and "Detail shown for x" in html
    assert "data-form-rules" in html and '"kind"' in unescape(html)

    bad = {**form, "fields": [{**form["fields"][0], "key": "Bad key"}]}
    refused = await client.post(url, json={"form": bad}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    forged = await client.post(url, json={"form": form})
    assert forged.status_code == 403


async def test_the_preview_shows_relation_pickers_and_lookups(client, admin):
    records = await publish_form(client, admin, "desk", {**TICKET, "title_field": "subject"})
    for subject in ("Printer on fire", "Lost badge"):
        made = await client.post(
            records,
            json={"values": {"subject": subject, "category": "repair"}},
            headers=admin.headers,
        )
        assert made.status_code == 201, made.text
    ticket_id = await first_form_id(client, admin, "desk")
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    form = {
        "id": 99,
        "key": "trial",
        "label": {"en": "Trial"},
        "fields": [
            {
                "id": 1,
                "key": "ticket",
                "type": "relation",
                "label": {"en": "Ticket"},
                "options": {"form_id": ticket_id},
            },
            {
                "id": 2,
                "key": "subject",
                "type": "lookup",
                "label": {"en": "Ticket subject"},
                "options": {"relation": "ticket", "field": "subject"},
            },
            {
                "id": 3,
                "key": "parent",
                "type": "relation",
                "label": {"en": "Parent trial"},
                "options": {"form_id": 99},
            },
        ],
        "next_field_id": 4,
    }
    url = "/build/apps/desk/forms/ticket/preview"
    answer = await client.post(url, json={"form": form}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    html = unescape(answer.json()["html"])
    search = f"/build/apps/desk/preview/forms/{ticket_id}/options"
    picker = re.search(r'<select id="f-ticket"[^>]*>(.*?)</select>', html, re.S)
    assert picker and f'data-source="{search}"' in picker[0]
    assert "Printer on fire" in picker[1] and "Lost badge" in picker[1]
    assert 'data-field="subject"' in html and "Calculated when saved" in html
    # A relation to a form only in the draft: a picker with no search, and a note.
    parent = re.search(r'<select id="f-parent"[^>]*>', html)
    assert parent and 'data-source=""' in parent[0]
    assert "publish the app to choose records here" in html
    assert "Not in the preview" not in html

    found = await client.get(search, params={"q": "printer"})
    assert found.status_code == 200
    assert [item["label"] for item in found.json()["items"]] == ["Printer on fire"]
    assert (await client.get("/build/apps/desk/preview/forms/99/options")).status_code == 404

    await client.post(
        "/api/v1/apps", json={"key": "other", "name": {"en": "Other"}}, headers=admin.headers
    )
    foreign = await client.get(f"/build/apps/other/preview/forms/{ticket_id}/options")
    assert foreign.status_code == 404


async def test_the_preview_search_is_for_designers_only(client, admin, sessions):
    await publish_form(client, admin, "desk", TICKET)
    await make_account(client, sessions, "dora", USER_PASSWORD)
    ticket_id = await first_form_id(client, admin, "desk")
    await sign_in(client, "dora", USER_PASSWORD, "/")
    refused = await client.get(f"/build/apps/desk/preview/forms/{ticket_id}/options")
    assert refused.status_code == 403


async def test_the_designer_page_names_the_check_endpoint(client, admin):
    await publish_form(client, admin, "desk", TICKET)
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    page = await client.get("/build/apps/desk/forms/ticket")
    config = json_block(page.text, "form-designer")
    apps = (await client.get("/api/v1/apps")).json()
    app_id = next(a["id"] for a in apps if a["key"] == "desk")
    assert config["check_url"] == f"/api/v1/apps/{app_id}/draft/forms/check"
    strings = json_block(page.text, "designer-strings")
    assert strings["set_value"] and strings["remove_column"]
