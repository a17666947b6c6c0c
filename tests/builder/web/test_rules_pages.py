"""The rules and SLA pages on both databases: the draft's rules and their choices, which
rules a test run may use (published and unchanged), the SLA page's calendars, and who may
open them."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_account
from tests.runtime.records.conftest import TICKET, publish_form
from tests.runtime.web.pages import sign_in

RULE = {
    "key": "tag_repairs",
    "name": {"en": "Tag repairs"},
    "form": "ticket",
    "trigger": {"on": "created"},
    "condition": {"==": [{"var": "record.category"}, "repair"]},
    "actions": [{"type": "set_fields", "values": {"vip": True}}],
}


def block(html: str, block_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>', html)
    assert match, block_id
    return json.loads(unescape(match[1]))


async def save_draft(client, admin, app_id: int, **parts: Any) -> None:
    draft = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    saved = await client.put(
        f"/api/v1/apps/{app_id}/draft",
        json={"row_version": draft["row_version"], "definition": {**draft["definition"], **parts}},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text


async def app_id_of(client, admin, key: str) -> int:
    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    return next(a["id"] for a in apps if a["key"] == key)


async def test_the_rules_pages_list_the_draft_rules_and_offer_the_spec(client, admin, sessions):
    await make_account(client, sessions, "dora", USER_PASSWORD)
    await publish_form(client, admin, "desk", TICKET)
    app_id = await app_id_of(client, admin, "desk")
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")

    listing = await client.get("/build/apps/desk/rules")
    assert listing.status_code == 200
    assert 'href="/build/apps/desk/rules"' in listing.text  # the menu entry
    assert "data-rules-list" in listing.text and "data-new-rule" in listing.text
    choices = block(listing.text, "rule-choices")
    assert [t["key"] for t in choices["triggers"]] == [
        "created",
        "updated",
        "deleted",
        "field_changed",
        "time",
        "schedule",
        "flow_event",
    ]
    assert {a["key"] for a in choices["actions"]} == {
        "set_fields",
        "assign",
        "comment",
        "notify",
        "send_mail",
        "webhook",
        "start_flow",
        "create_record",
        "update_related",
    }
    assert "standard_weekdays" in choices["calendars"]
    assert block(listing.text, "published-rules") == {}

    # Published and unchanged: a test run may use the published rule.
    await save_draft(client, admin, app_id, rules=[RULE])
    draft = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    published = await client.post(
        f"/api/v1/apps/{app_id}/publish",
        json={"row_version": draft["row_version"]},
        headers=admin.headers,
    )
    assert published.status_code == 200, published.text
    page = await client.get("/build/apps/desk/rules/tag_repairs")
    assert page.status_code == 200
    assert 'data-rule-key="tag_repairs"' in page.text
    assert "data-test-run" in page.text and "data-runs-list" in page.text
    assert 'id="condition-strings"' in page.text and 'id="field-types"' in page.text
    assert block(page.text, "published-rules") == {"tag_repairs": {"same": True}}

    # Changed in the draft: no longer the same as the published rule.
    await save_draft(client, admin, app_id, rules=[{**RULE, "enabled": False}])
    page = await client.get("/build/apps/desk/rules/tag_repairs")
    assert block(page.text, "published-rules") == {"tag_repairs": {"same": False}}

    client.cookies.clear()
    await sign_in(client, "dora", USER_PASSWORD, "/")
    assert (await client.get("/build/apps/desk/rules")).status_code == 403
    assert (await client.get("/build/apps/desk/rules/tag_repairs")).status_code == 403
    assert (await client.get("/build/apps/desk/sla")).status_code == 403


async def test_the_sla_page_offers_calendars_and_weekdays(client, admin):
    await publish_form(client, admin, "desk", TICKET)
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    page = await client.get("/build/apps/desk/sla")
    assert page.status_code == 200
    assert "data-policies-list" in page.text and "data-calendars-list" in page.text
    choices = block(page.text, "sla-choices")
    assert "standard_weekdays" in choices["calendars"]
    assert choices["weekdays"][0] == "Monday" and len(choices["weekdays"]) == 7
    assert 'href="/build/apps/desk/sla"' in page.text
    assert (await client.get("/build/apps/nowhere/sla")).status_code == 404
