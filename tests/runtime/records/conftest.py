"""A published helpdesk app with a ticket form, through the apps API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TICKET = json.loads(
    (Path(__file__).parents[2] / "engines" / "form" / "data" / "ticket.json").read_text()
)


#: What the records tests run under unless they say otherwise: every signed-in user may do
#: everything with every record (permission tests grant less).
EVERYONE = [
    {
        "id": "everyone",
        "grantee": {"kind": "everyone"},
        "actions": ["create", "read", "update", "delete", "export", "import"],
    }
]


async def publish_form(
    client, admin, app_key: str, form: dict, permissions: list | None = None, roles=()
) -> str:
    created = await client.post(
        "/api/v1/apps", json={"key": app_key, "name": {"en": app_key}}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    draft = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    added = await client.post(
        f"/api/v1/apps/{app_id}/forms",
        json={"key": form["key"], "label": form["label"], "row_version": draft["row_version"]},
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    draft = added.json()
    stored = draft["definition"]["forms"][0]
    definition = {
        **draft["definition"],
        "forms": [{**form, "id": stored["id"]}],
        "permissions": EVERYONE if permissions is None else permissions,
        "roles": list(roles),
    }
    saved = await client.put(
        f"/api/v1/apps/{app_id}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await client.post(
        f"/api/v1/apps/{app_id}/publish",
        json={"row_version": saved.json()["row_version"]},
        headers=admin.headers,
    )
    assert published.status_code == 200, published.text
    return f"/api/v1/records/{app_key}/{form['key']}"


@pytest.fixture
async def tickets(client, admin) -> str:
    """The records URL of the published ticket form."""
    return await publish_form(client, admin, "helpdesk", TICKET)
