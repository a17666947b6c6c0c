"""The knowledge base is tested on the installed Customer Center: articles are written through
the records API (so the index hook sees them) and searched through the API."""

from __future__ import annotations

from typing import Any

from tests.templates.customer_center.conftest import (
    Center,
    center,  # noqa: F401  (fixture)
)


async def add_articles(desk: Center, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Create articles (published public unless a row says otherwise) in one bulk write."""
    made = await desk.client.post(
        f"{desk.url('article')}/bulk",
        json={"create": [{"status": "published", "visibility": "public", **r} for r in rows]},
        headers=desk.admin.headers,
    )
    assert made.status_code == 200, made.text
    return list(made.json()["created"])


async def find(desk: Center, who: str, q: str, **params: Any) -> dict[str, Any]:
    headers = desk.admin.headers if who == "admin" else desk.people[who].headers
    got = await desk.client.get(
        f"/api/v1/apps/{desk.app['id']}/kb/search", params={"q": q, **params}, headers=headers
    )
    assert got.status_code == 200, got.text
    return dict(got.json())


def titles(found: dict[str, Any]) -> list[str]:
    return [hit["title"] for hit in found["items"]]


async def admin_create(desk: Center, form: str, **values: Any) -> dict[str, Any]:
    made = await desk.client.post(
        desk.url(form), json={"values": values}, headers=desk.admin.headers
    )
    assert made.status_code == 201, made.text
    return dict(made.json())
