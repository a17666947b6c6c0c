"""A helpdesk app with customers, tickets and a dashboard, published through the apps API, and
an organisation: SALES (ann, and mia who heads it and has the app role ``manager``) and SUPPORT
(bob). Everyone may work their own tickets; managers read and export their department tree's
tickets with ``secret`` hidden."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import USER_PASSWORD, Account, make_account
from tests.runtime.org.api import department, join
from tests.runtime.records.conftest import publish_app

APP = "desk"


def _select(fid: int, key: str, values: list[str]) -> dict[str, Any]:
    return {
        "id": fid,
        "key": key,
        "type": "select",
        "label": {"en": key.title(), "zh-CN": key},
        "options": {"options": [{"value": v} for v in values]},
    }


def forms(ids: dict[str, int]) -> list[dict[str, Any]]:
    customer = {
        "id": ids["customer"],
        "key": "customer",
        "label": {"en": "Customer"},
        "fields": [
            {"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}},
            _select(2, "level", ["gold", "silver"]),
        ],
    }
    ticket = {
        "id": ids["ticket"],
        "key": "ticket",
        "label": {"en": "Ticket", "zh-CN": "工单"},
        "fields": [
            {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
            _select(2, "status", ["open", "pending", "resolved", "closed"]),
            _select(3, "team", ["l1", "l2"]),
            {"id": 4, "key": "csat", "type": "integer", "label": {"en": "CSAT"}},
            {"id": 5, "key": "secret", "type": "text", "label": {"en": "Secret"}},
            {
                "id": 6,
                "key": "customer",
                "type": "relation",
                "label": {"en": "Customer"},
                "options": {"form_id": ids["customer"]},
            },
            {"id": 7, "key": "opened_at", "type": "datetime", "label": {"en": "Opened"}},
        ],
    }
    return [customer, ticket]


COUNT = {"key": "tickets", "agg": "count", "label": {"en": "Tickets", "zh-CN": "工单数"}}


def widgets() -> list[dict[str, Any]]:
    return [
        {"key": "total", "chart": "kpi", "form": "ticket", "measures": [COUNT]},
        {
            "key": "by_status",
            "chart": "bar",
            "form": "ticket",
            "measures": [COUNT],
            "dimensions": [{"key": "status", "field": "status", "label": {"en": "Status"}}],
            "sort": [{"key": "status"}],
        },
        {
            "key": "by_team",
            "chart": "table",
            "form": "ticket",
            "measures": [COUNT, {"key": "csat", "agg": "avg", "field": "csat"}],
            "dimensions": [{"key": "team", "field": "team"}],
            "sort": [{"key": "team"}],
        },
        {
            "key": "by_level",
            "chart": "pie",
            "form": "ticket",
            "measures": [COUNT],
            "dimensions": [{"key": "level", "field": "customer.level"}],
        },
        {
            "key": "per_day",
            "chart": "line",
            "form": "ticket",
            "measures": [COUNT],
            "dimensions": [{"key": "day", "field": "opened_at", "bucket": "day"}],
            "sort": [{"key": "day"}],
        },
        {
            "key": "status_team",
            "chart": "pivot",
            "form": "ticket",
            "measures": [COUNT],
            "dimensions": [{"key": "status", "field": "status"}, {"key": "team", "field": "team"}],
            "pivot": {"rows": ["status"], "columns": ["team"], "totals": True},
        },
        {
            "key": "listing",
            "chart": "table",
            "form": "ticket",
            "dimensions": [
                {"key": "subject", "field": "subject", "label": {"en": "Subject"}},
                {"key": "status", "field": "status", "label": {"en": "Status"}},
            ],
            "sort": [{"key": "subject"}],
        },
        {
            "key": "by_secret",
            "chart": "bar",
            "form": "ticket",
            "measures": [COUNT],
            "dimensions": [{"key": "secret", "field": "secret"}],
        },
    ]


def dashboards() -> list[dict[str, Any]]:
    return [
        {
            "key": "ops",
            "title": {"en": "Operations", "zh-CN": "运营"},
            "widgets": widgets(),
            "filters": [
                {"key": "period", "kind": "date_range", "field": "created_at"},
                {
                    "key": "opened",
                    "kind": "date_range",
                    "field": "opened_at",
                    "widgets": ["per_day"],
                },
                {"key": "dept", "kind": "department"},
                {"key": "status", "kind": "equals", "field": "status", "widgets": ["total"]},
            ],
        }
    ]


PERMISSIONS = [
    {
        "id": "own",
        "grantee": {"kind": "everyone"},
        "actions": ["create", "read", "update", "delete", "import"],
        "scope": "own",
    },
    {
        "id": "managers",
        "grantee": {"kind": "role", "key": "manager"},
        "actions": ["read", "export"],
        "scope": "department_tree",
        "fields": {"secret": "hidden"},
    },
]
ROLES = [{"key": "manager", "name": {"en": "Manager"}}]


@dataclass
class Desk:
    client: Any
    admin: Account
    app: Any
    ann: Account
    bob: Account
    mia: Account
    sales: dict[str, Any]
    support: dict[str, Any]

    @property
    def base(self) -> str:
        return f"/api/v1/apps/{APP}/dashboards"

    def records(self, form: str = "ticket") -> str:
        return self.app.url(form)

    async def ticket(self, who: Account, **values: Any) -> dict[str, Any]:
        created = await self.client.post(
            self.records(), json={"values": {"subject": "s", **values}}, headers=who.headers
        )
        assert created.status_code == 201, created.text
        return dict(created.json())

    async def run(self, who: Account, widget: str | None = None, **body: Any) -> Any:
        url = f"{self.base}/ops/run" if widget is None else f"{self.base}/ops/widgets/{widget}/run"
        return await self.client.post(url, json=body, headers=who.headers)

    async def result(self, who: Account, widget: str, **body: Any) -> dict[str, Any]:
        response = await self.run(who, widget, **body)
        assert response.status_code == 200, response.text
        return dict(response.json())


async def publish_desk(client, admin, dashboards_=None) -> Any:
    app = await publish_app(
        client, admin, APP, ["customer", "ticket"], forms, permissions=PERMISSIONS, roles=ROLES
    )
    draft = await app.draft()
    definition = {**draft["definition"], "dashboards": dashboards_ or dashboards()}
    saved = await client.put(
        f"{app.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await app.publish()
    assert published.status_code == 200, published.text
    return app


async def manager_role(client, admin: Account, user_id: int) -> None:
    roles = await client.get("/api/v1/roles", params={"scope": "app"}, headers=admin.headers)
    assert roles.status_code == 200, roles.text
    role_id = next(r["id"] for r in roles.json()["items"] if r["key"] == "manager")
    added = await client.put(f"/api/v1/roles/{role_id}/members/{user_id}", headers=admin.headers)
    assert added.status_code == 200, added.text


@pytest.fixture
async def desk(client, admin, sessions) -> Desk:
    sales = await department(client, admin, "SALES")
    support = await department(client, admin, "SUPPORT")
    app = await publish_desk(client, admin)
    ann = await make_account(client, sessions, "ann", USER_PASSWORD)
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    mia = await make_account(client, sessions, "mia", USER_PASSWORD)
    await join(client, admin, sales["id"], ann.id, is_primary=True)
    await join(client, admin, support["id"], bob.id, is_primary=True)
    await join(client, admin, sales["id"], mia.id, position="head", is_primary=True)
    await manager_role(client, admin, mia.id)
    return Desk(client, admin, app, ann, bob, mia, sales, support)


@pytest.fixture
async def tickets(desk: Desk) -> Desk:
    """ann (SALES): open l1 csat 4, open l2 csat 2, resolved l1 csat 5; bob (SUPPORT): open l1,
    closed l2 csat 1."""
    for values in (
        {"status": "open", "team": "l1", "csat": 4, "secret": "a"},
        {"status": "open", "team": "l2", "csat": 2, "secret": "b"},
        {"status": "resolved", "team": "l1", "csat": 5, "secret": "a"},
    ):
        await desk.ticket(desk.ann, **values)
    for values in ({"status": "open", "team": "l1"}, {"status": "closed", "team": "l2", "csat": 1}):
        await desk.ticket(desk.bob, **values)
    return desk


async def narrowed_token(client, account: Account, **narrowing: Any) -> dict[str, str]:
    """An API token of ``account`` narrowed to some apps and/or actions."""
    login = await client.post(
        "/api/v1/auth/login", json={"username": account.username, "password": account.password}
    )
    assert login.status_code == 200, login.text
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    created = await client.post(
        "/api/v1/auth/tokens", json={"name": "narrow", **narrowing}, headers=csrf
    )
    assert created.status_code == 201, created.text
    await client.post("/api/v1/auth/logout", headers=csrf)
    client.cookies.clear()
    return {"Authorization": f"Bearer {created.json()['token']}"}
