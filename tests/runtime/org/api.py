"""Helpers of the organisation tests: small API calls that assert they worked."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from runtime.audit.models import AuditEntry
from tests.conftest import Account


async def department(
    client: httpx.AsyncClient,
    admin: Account,
    code: str,
    name: str | None = None,
    parent_id: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body = {"code": code, "name": name or code, "parent_id": parent_id, **extra}
    response = await client.post("/api/v1/departments", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def get(client: httpx.AsyncClient, admin: Account, url: str, **params: Any) -> Any:
    response = await client.get(url, params=params, headers=admin.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def patch_department(
    client: httpx.AsyncClient, admin: Account, department_id: int, lang: str = "en", **changes: Any
) -> httpx.Response:
    current = await get(client, admin, f"/api/v1/departments/{department_id}")
    return await client.patch(
        f"/api/v1/departments/{department_id}",
        json={"row_version": current["row_version"], **changes},
        headers={**admin.headers, "Accept-Language": lang},
    )


async def join(
    client: httpx.AsyncClient,
    admin: Account,
    department_id: int,
    user_id: int,
    position: str = "member",
    is_primary: bool | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"position": position}
    if is_primary is not None:
        body["is_primary"] = is_primary
    response = await client.put(
        f"/api/v1/departments/{department_id}/members/{user_id}", json=body, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def new_user(client: httpx.AsyncClient, admin: Account, username: str, **extra: Any) -> int:
    body = {"username": username, **extra}
    response = await client.post("/api/v1/users", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return int(response.json()["user"]["id"])


async def audit_actions(sessions: Any, entity_type: str | None = None) -> list[str]:
    async with sessions() as db:
        query = select(AuditEntry.action).order_by(AuditEntry.id)
        if entity_type is not None:
            query = query.where(AuditEntry.entity_type == entity_type)
        return list((await db.execute(query)).scalars())


def codes(response: httpx.Response) -> dict[str, str]:
    """``{field: code}`` of a 422's ``errors``."""
    return {e["field"]: e["code"] for e in response.json().get("errors", [])}
