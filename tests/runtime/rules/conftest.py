"""A helpdesk app with a ticket and a task form (a task may relate to a ticket), published
with rules through the apps API, and agents in user groups (``finance``: fay and fred;
``support``: sam and sue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import USER_PASSWORD, Account, make_account
from tests.runtime.records.conftest import AppUnderTest, publish_app
from tests.runtime.reports.conftest import _select

APP = "desk"


def forms(ids: dict[str, int]) -> list[dict[str, Any]]:
    ticket = {
        "id": ids["ticket"],
        "key": "ticket",
        "label": {"en": "Ticket", "zh-CN": "工单"},
        "fields": [
            {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
            {"id": 2, "key": "description", "type": "textarea", "label": {"en": "Description"}},
            _select(3, "status", ["new", "open", "pending", "resolved", "closed"]),
            _select(4, "priority", ["low", "normal", "high", "urgent"]),
            {"id": 5, "key": "assignee", "type": "user", "label": {"en": "Assignee"}},
            {"id": 6, "key": "escalated", "type": "boolean", "label": {"en": "Escalated"}},
            {"id": 7, "key": "bumps", "type": "integer", "label": {"en": "Bumps"}},
            {"id": 8, "key": "contact", "type": "email", "label": {"en": "Contact"}},
            {
                "id": 9,
                "key": "due_at",
                "type": "datetime",
                "label": {"en": "Due"},
                "indexed": True,
            },
        ],
    }
    task = {
        "id": ids["task"],
        "key": "task",
        "label": {"en": "Task"},
        "fields": [
            {"id": 1, "key": "title", "type": "text", "label": {"en": "Title"}},
            {"id": 2, "key": "ticket_id", "type": "integer", "label": {"en": "Ticket"}},
            {
                "id": 3,
                "key": "ticket",
                "type": "relation",
                "label": {"en": "Ticket record"},
                "options": {"form_id": ids["ticket"]},
            },
            {"id": 4, "key": "note", "type": "text", "label": {"en": "Note"}},
        ],
    }
    return [ticket, task]


@dataclass
class Desk:
    client: httpx.AsyncClient
    admin: Account
    app: AppUnderTest
    people: dict[str, Account] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)

    @property
    def rules_url(self) -> str:
        return f"{self.app.base}/rules"

    async def publish_rules(self, rules: list[dict], flows: list[dict] | None = None) -> Any:
        draft = await self.app.draft()
        definition = {**draft["definition"], "rules": rules}
        if flows is not None:
            definition["flows"] = flows
        saved = await self.client.put(
            f"{self.app.base}/draft",
            json={"row_version": draft["row_version"], "definition": definition},
            headers=self.admin.headers,
        )
        if saved.status_code != 200:
            return saved
        return await self.app.publish()

    async def rules(self, rules: list[dict], flows: list[dict] | None = None) -> None:
        published = await self.publish_rules(rules, flows)
        assert published.status_code == 200, published.text

    async def ticket(self, who: Account | None = None, **values: Any) -> dict[str, Any]:
        values.setdefault("subject", "a ticket")
        created = await self.client.post(
            self.app.url("ticket"), json={"values": values}, headers=(who or self.admin).headers
        )
        assert created.status_code == 201, created.text
        return dict(created.json())

    async def get(self, record_id: int, form: str = "ticket") -> dict[str, Any]:
        got = await self.client.get(f"{self.app.url(form)}/{record_id}", headers=self.admin.headers)
        assert got.status_code == 200, got.text
        return dict(got.json())

    async def patch(self, record: dict[str, Any], who: Account | None = None, **values: Any):
        return await self.client.patch(
            f"{self.app.url('ticket')}/{record['id']}",
            json={"row_version": record["row_version"], "values": values},
            headers=(who or self.admin).headers,
        )

    async def runs(self, **params: Any) -> list[dict[str, Any]]:
        got = await self.client.get(
            f"{self.rules_url}/runs", params=params, headers=self.admin.headers
        )
        assert got.status_code == 200, got.text
        return list(reversed(got.json()["items"]))  # oldest first


async def make_group(client, admin, key: str, members: list[int]) -> int:
    created = await client.post(
        "/api/v1/groups", json={"key": key, "name": key}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    for user_id in members:
        added = await client.put(
            f"/api/v1/groups/{group_id}/members/{user_id}", headers=admin.headers
        )
        assert added.status_code == 200, added.text
    return int(group_id)


@pytest.fixture
async def desk(client, admin, sessions) -> Desk:
    app = await publish_app(client, admin, APP, ["ticket", "task"], forms)
    people = {
        name: await make_account(client, sessions, name, USER_PASSWORD)
        for name in ("fay", "fred", "sam", "sue", "ann")
    }
    groups = {
        "finance": await make_group(
            client, admin, "finance", [people["fay"].id, people["fred"].id]
        ),
        "support": await make_group(client, admin, "support", [people["sam"].id, people["sue"].id]),
    }
    return Desk(client, admin, app, people, groups)
