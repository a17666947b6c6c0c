"""The Customer Center installed from its template, with people in its groups, departments
and roles:

- SUPPORT (head dan, the department manager): sam and sue (first-line agents), sol (supervisor);
- SALES: cara (an agent of another department);
- FIN: fay (finance agent); WH: wes (warehouse agent); fay and wes countersign big returns;
- eve: an executive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import USER_PASSWORD, Account, make_account
from tests.runtime.org.api import department, join
from tests.runtime.rules.conftest import make_group
from tests.support.jobs import eventually
from tests.templates.customer_center import install as template

PEOPLE = ("sam", "sue", "sol", "dan", "cara", "fay", "wes", "eve")
GROUP_MEMBERS = {
    "first_line": ["sam", "sue"],
    "finance": ["fay"],
    "warehouse": ["wes"],
    "supervisors": ["sol"],
}
ROLE_MEMBERS = {
    "agent": ["sam", "sue", "cara", "fay", "wes"],
    "supervisor": ["sol"],
    "department_manager": ["dan"],
    "executive": ["eve"],
    "return_approver": ["wes", "fay"],
}
#: Department code → (head, members).
DEPARTMENTS = {
    "SUPPORT": ("dan", ["sam", "sue", "sol"]),
    "SALES": (None, ["cara"]),
    "FIN": (None, ["fay"]),
    "WH": (None, ["wes"]),
}


@dataclass
class Center:
    client: httpx.AsyncClient
    admin: Account
    app: dict[str, Any]
    people: dict[str, Account]
    departments: dict[str, int] = field(default_factory=dict)

    def url(self, form: str) -> str:
        return f"/api/v1/records/customer_center/{form}"

    async def create(self, who: str, form: str, **values: Any) -> dict[str, Any]:
        made = await self.client.post(
            self.url(form), json={"values": values}, headers=self.people[who].headers
        )
        assert made.status_code == 201, made.text
        return dict(made.json())

    async def get(self, record_id: int, form: str = "ticket") -> dict[str, Any]:
        got = await self.client.get(f"{self.url(form)}/{record_id}", headers=self.admin.headers)
        assert got.status_code == 200, got.text
        return dict(got.json())

    async def values(self, record_id: int, form: str = "ticket") -> dict[str, Any]:
        return dict((await self.get(record_id, form))["values"])

    async def until(
        self, record_id: int, check: Callable[[dict[str, Any]], Any], form: str = "ticket"
    ) -> dict[str, Any]:
        """The record's values once ``check`` holds: rules run on the record events, which
        are delivered after the write commits (bounded polling)."""

        async def probe() -> dict[str, Any] | None:
            values = await self.values(record_id, form)
            return values if check(values) else None

        return dict(await eventually(probe, message=f"{form} {record_id}"))

    async def patch(self, who: str, record_id: int, form: str = "ticket", **values: Any):
        current = await self.get(record_id, form)
        changed = await self.client.patch(
            f"{self.url(form)}/{record_id}",
            json={"row_version": current["row_version"], "values": values},
            headers=self.people[who].headers,
        )
        assert changed.status_code == 200, changed.text
        return dict(changed.json()["values"])

    async def listed(self, who: str, form: str = "ticket", **params: Any) -> list[dict]:
        got = await self.client.get(
            self.url(form), params={"limit": 500, **params}, headers=self.people[who].headers
        )
        assert got.status_code == 200, got.text
        return list(got.json()["items"])

    async def titles(self, who: str) -> list[str]:
        got = await self.client.get("/api/v1/notifications", headers=self.people[who].headers)
        assert got.status_code == 200, got.text
        return [n["title"] for n in got.json()["items"]]

    async def widget(self, who: str, dashboard: str, widget: str, **filters: Any) -> Any:
        ran = await self.client.post(
            f"/api/v1/apps/customer_center/dashboards/{dashboard}/widgets/{widget}/run",
            json={"filters": filters, "cache": False},
            headers=self.people[who].headers,
        )
        assert ran.status_code == 200, ran.text
        assert ran.json()["ok"], ran.json()
        return ran.json()["result"]

    async def tasks(self, who: str, box: str = "mine") -> list[dict[str, Any]]:
        got = await self.client.get(
            "/api/v1/tasks", params={"box": box}, headers=self.people[who].headers
        )
        assert got.status_code == 200, got.text
        return list(got.json()["items"])


@pytest.fixture
async def center(client, admin, sessions) -> Center:
    people = {n: await make_account(client, sessions, n, USER_PASSWORD) for n in PEOPLE}
    for key, names in GROUP_MEMBERS.items():
        await make_group(client, admin, key, [people[n].id for n in names])
    departments = {}
    for code, (head, members) in DEPARTMENTS.items():
        made = await department(client, admin, code)
        departments[code] = made["id"]
        if head:
            await join(client, admin, made["id"], people[head].id, "head", is_primary=True)
        for name in members:
            await join(client, admin, made["id"], people[name].id, is_primary=True)
    app = await template.install(client, admin)
    roles = await client.get("/api/v1/roles", params={"app_id": app["id"]}, headers=admin.headers)
    assert roles.status_code == 200, roles.text
    by_key = {r["key"]: r["id"] for r in roles.json()["items"]}
    for key, names in ROLE_MEMBERS.items():
        for name in names:
            added = await client.put(
                f"/api/v1/roles/{by_key[key]}/members/{people[name].id}", headers=admin.headers
            )
            assert added.status_code == 200, added.text
    return Center(client, admin, app, people, departments)
