"""Public forms are tested on the installed Customer Center (its intake's ticket form and a
plain form), through the real API and pages."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.templates.customer_center.conftest import center  # noqa: F401  (fixture)

QUESTION = re.compile(r"(\d+) \+ (\d+) = \?")


def solve(question: str) -> str:
    match = QUESTION.search(question)
    assert match, question
    return str(int(match[1]) + int(match[2]))


async def publish(desk: Any, form: str, slug: str, **extra: Any) -> dict[str, Any]:
    made = await desk.client.post(
        f"/api/v1/apps/{desk.app['id']}/public-forms",
        json={"form": form, "slug": slug, **extra},
        headers=desk.admin.headers,
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


async def challenge(client: httpx.AsyncClient, slug: str) -> dict[str, str]:
    got = await client.get(f"/api/v1/public/forms/{slug}")
    assert got.status_code == 200, got.text
    asked = got.json()["challenge"]
    return {"token": asked["token"], "answer": solve(asked["question"])}


async def send(
    client: httpx.AsyncClient, slug: str, values: dict[str, Any], **extra: Any
) -> httpx.Response:
    body = {"values": values, "challenge": await challenge(client, slug), **extra}
    return await client.post(f"/api/v1/public/forms/{slug}", json=body)
