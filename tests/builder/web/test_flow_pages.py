"""The flow designer's pages, on both databases: the list of the draft's flows, a new flow,
the designer page's data for bpmn-js (moddle extension, forms, roles, org) and who may open it."""

from __future__ import annotations

import json
import re
from html import unescape

from engines.flow.bpmn import to_bpmn
from engines.flow.model import Flow
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_account
from tests.runtime.records.conftest import TICKET, publish_form
from tests.runtime.web.pages import sign_in

APPROVAL = {
    "key": "approval",
    "name": {"en": "Approval"},
    "form": "ticket",
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "review", "type": "user_task", "assignee": {"kind": "user", "key": "admin"}},
        {"id": "end", "type": "end"},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "review"},
        {"id": "e2", "source": "review", "target": "end"},
    ],
}


def json_block(html: str, block_id: str):
    pattern = rf'<script type="application/json" id="{block_id}">(.*?)</script>'
    match = re.search(pattern, html, re.S)
    assert match, block_id
    return json.loads(unescape(match[1]))


async def app_id(client, admin, key: str) -> int:
    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    return next(a["id"] for a in apps if a["key"] == key)


async def test_the_flows_page_lists_flows_and_opens_a_new_one(client, admin):
    await publish_form(client, admin, "desk", TICKET)
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    page = await client.get("/build/apps/desk/flows")
    assert page.status_code == 200
    assert "No flows yet." in page.text and 'href="/build/apps/desk/flows"' in page.text
    assert '<option value="ticket">' in page.text

    query = {"key": "approval", "form": "ticket"}
    new = await client.get("/build/apps/desk/flows/new", params=query)
    assert new.status_code == 303
    assert new.headers["location"] == "/build/apps/desk/flows/approval?form=ticket"
    bad = await client.get("/build/apps/desk/flows/new", params={"key": "Bad Key"})
    assert bad.status_code == 422

    designer = await client.get(new.headers["location"])
    assert designer.status_code == 200
    assert "vendor/bpmn-js/bpmn-modeler.production.min.js" in designer.text
    assert "vendor/bpmn-js/assets/bpmn-js.css" in designer.text
    data = json_block(designer.text, "flow-data")
    desk = await app_id(client, admin, "desk")
    assert data["key"] == "approval" and data["exists"] is False and data["form"] == "ticket"
    assert data["import_url"] == f"/api/v1/apps/{desk}/flows/bpmn"
    assert [f["key"] for f in data["forms"]] == ["ticket"]
    assert json_block(designer.text, "flow-moddle")["prefix"] == "tangram"
    assert {u["key"] for u in json_block(designer.text, "org-choices")["users"]} >= {"admin"}
    assert 'id="condition-strings"' in designer.text and 'id="field-types"' in designer.text


async def test_a_saved_flow_is_listed_and_opens_from_the_draft(client, admin, sessions):
    await make_account(client, sessions, "dora", USER_PASSWORD)
    await publish_form(client, admin, "desk", TICKET)
    desk = await app_id(client, admin, "desk")
    draft = (await client.get(f"/api/v1/apps/{desk}/draft", headers=admin.headers)).json()
    saved = await client.post(
        f"/api/v1/apps/{desk}/flows/bpmn",
        params={"row_version": draft["row_version"]},
        content=to_bpmn(Flow.model_validate(APPROVAL)),
        headers={**admin.headers, "Content-Type": "application/xml"},
    )
    assert saved.status_code == 200, saved.text

    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    listed = await client.get("/build/apps/desk/flows")
    assert 'href="/build/apps/desk/flows/approval"' in listed.text
    assert "No flows yet." not in listed.text
    designer = await client.get("/build/apps/desk/flows/approval")
    data = json_block(designer.text, "flow-data")
    assert data["exists"] is True and data["form"] == "ticket" and data["flows"] == ["approval"]
    assert (
        json_block(designer.text, "builder-config")["row_version"]
        == saved.json()["draft_row_version"]
    )
    assert (await client.get("/build/apps/desk/flows/Bad-Key")).status_code == 404

    client.cookies.clear()
    await sign_in(client, "dora", USER_PASSWORD, "/")
    assert (await client.get("/build/apps/desk/flows")).status_code == 403
    assert (await client.get("/build/apps/desk/flows/approval")).status_code == 403
