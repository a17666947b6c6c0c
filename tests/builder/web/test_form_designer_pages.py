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
