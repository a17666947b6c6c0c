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


class AppUnderTest:
    """An app of several forms, published through the apps API, that tests can change."""

    def __init__(self, client, admin, key: str, base: str, ids: dict[str, int]) -> None:
        #: The permission sets published with the forms (every user, everything, by default).
        self.permissions: list = EVERYONE
        self.roles: list = []
        self.client = client
        self.admin = admin
        self.key = key
        self.base = base
        self.ids = ids

    def url(self, form_key: str) -> str:
        return f"/api/v1/records/{self.key}/{form_key}"

    async def draft(self) -> dict:
        return (await self.client.get(f"{self.base}/draft", headers=self.admin.headers)).json()

    async def save(self, draft: dict, forms: list[dict]):
        return await self.client.put(
            f"{self.base}/draft",
            json={
                "row_version": draft["row_version"],
                "definition": {
                    **draft["definition"],
                    "forms": forms,
                    "permissions": self.permissions,
                    "roles": self.roles,
                },
            },
            headers=self.admin.headers,
        )

    async def publish(self, purge: list[dict] | None = None):
        draft = await self.draft()
        body: dict = {"row_version": draft["row_version"]}
        if purge:
            body["purge"] = purge
        return await self.client.post(f"{self.base}/publish", json=body, headers=self.admin.headers)

    async def own_records_only(self) -> None:
        """Republish with one grant: every user may do everything with their own records."""
        self.permissions = [{**EVERYONE[0], "id": "own", "scope": "own"}]
        published = await self.change((await self.draft())["definition"]["forms"])
        assert published.status_code == 200, published.text

    async def change(self, forms: list[dict]):
        """Save ``forms`` as the draft and publish it; returns the publish response."""
        saved = await self.save(await self.draft(), forms)
        assert saved.status_code == 200, saved.text
        return await self.publish()


async def publish_app(
    client, admin, key: str, form_keys: list[str], build, permissions=None, roles=()
) -> AppUnderTest:
    """Create an app with forms ``form_keys``; ``build(ids)`` gives their definitions (it gets
    the stable form ids by key, for relations); publish it."""
    app = (
        await client.post(
            "/api/v1/apps", json={"key": key, "name": {"en": key}}, headers=admin.headers
        )
    ).json()
    base = f"/api/v1/apps/{app['id']}"
    draft = (await client.get(f"{base}/draft", headers=admin.headers)).json()
    for form_key in form_keys:
        draft = (
            await client.post(
                f"{base}/forms",
                json={
                    "key": form_key,
                    "label": {"en": form_key},
                    "row_version": draft["row_version"],
                },
                headers=admin.headers,
            )
        ).json()
    ids = {f["key"]: f["id"] for f in draft["definition"]["forms"]}
    under_test = AppUnderTest(client, admin, key, base, ids)
    if permissions is not None:
        under_test.permissions = permissions
    under_test.roles = list(roles)
    published = await under_test.change(build(ids))
    assert published.status_code == 200, published.text
    return under_test
