"""Department members: positions, one primary department per user — both databases."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from runtime.org.models import DepartmentMember
from tests.runtime.org.api import audit_actions, codes, department, get, join, new_user


async def primaries(sessions, user_id: int) -> list[int]:
    async with sessions() as db:
        query = select(DepartmentMember.department_id).where(
            DepartmentMember.user_id == user_id, DepartmentMember.is_primary
        )
        return list((await db.execute(query)).scalars())


async def test_positions_and_listing(client, admin, sessions):
    sales = await department(client, admin, "SALES")
    carol = await new_user(client, admin, "carol")
    dave = await new_user(client, admin, "dave")
    erin = await new_user(client, admin, "erin")
    member = await join(client, admin, sales["id"], erin)
    assert member["position"] == "member" and member["user"]["username"] == "erin"
    await join(client, admin, sales["id"], dave, "deputy")
    await join(client, admin, sales["id"], carol, "head")
    listed = await get(client, admin, f"/api/v1/departments/{sales['id']}/members")
    assert [(m["user"]["username"], m["position"]) for m in listed["items"]] == [
        ("carol", "head"),
        ("dave", "deputy"),
        ("erin", "member"),
    ]
    heads = await get(client, admin, f"/api/v1/departments/{sales['id']}/members", position="head")
    assert heads["total"] == 1 and heads["items"][0]["user"]["id"] == carol
    detail = await get(client, admin, f"/api/v1/departments/{sales['id']}")
    assert detail["member_count"] == 3
    assert [h["username"] for h in detail["heads"]] == ["carol"]
    assert [d["username"] for d in detail["deputies"]] == ["dave"]
    promoted = await join(client, admin, sales["id"], erin, "deputy")
    assert promoted["position"] == "deputy"
    again = await join(client, admin, sales["id"], erin, "deputy")  # idempotent
    assert again == promoted
    actions = await audit_actions(sessions, "department")
    assert actions.count("department.member.add") == 3
    assert actions.count("department.member.update") == 1


async def test_one_primary_department_per_user(client, admin, sessions):
    sales = await department(client, admin, "SALES")
    lab = await department(client, admin, "LAB")
    ops = await department(client, admin, "OPS")
    carol = await new_user(client, admin, "carol")
    first = await join(client, admin, sales["id"], carol)
    assert first["is_primary"] is True  # the first department becomes primary
    second = await join(client, admin, lab["id"], carol)
    assert second["is_primary"] is False
    moved = await join(client, admin, lab["id"], carol, is_primary=True)
    assert moved["is_primary"] is True
    assert await primaries(sessions, carol) == [lab["id"]]
    third = await join(client, admin, ops["id"], carol, "head", is_primary=False)
    assert third["is_primary"] is False
    kept = await join(client, admin, lab["id"], carol, "deputy")  # flag left out: kept
    assert kept["is_primary"] is True and kept["position"] == "deputy"
    mine = await get(client, admin, f"/api/v1/users/{carol}/departments")
    assert mine[0]["department"]["code"] == "LAB"
    assert {d["department"]["code"]: (d["position"], d["is_primary"]) for d in mine} == {
        "LAB": ("deputy", True),
        "SALES": ("member", False),
        "OPS": ("head", False),
    }
    unset = await join(client, admin, lab["id"], carol, is_primary=False)
    assert unset["is_primary"] is False and await primaries(sessions, carol) == []


async def test_the_database_refuses_a_second_primary(sessions, client, admin):
    sales = await department(client, admin, "SALES")
    lab = await department(client, admin, "LAB")
    carol = await new_user(client, admin, "carol")
    await join(client, admin, sales["id"], carol, is_primary=True)
    async with sessions() as db:
        db.add(DepartmentMember(department_id=lab["id"], user_id=carol, is_primary=True))
        with pytest.raises(IntegrityError):
            await db.flush()


async def test_concurrent_primary_changes_leave_one_primary(client, admin, sessions):
    departments = [await department(client, admin, f"D{i}") for i in range(4)]
    carol = await new_user(client, admin, "carol")
    responses = await asyncio.gather(
        *[
            client.put(
                f"/api/v1/departments/{d['id']}/members/{carol}",
                json={"is_primary": True},
                headers=admin.headers,
            )
            for d in departments
        ]
    )
    assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
    assert len(await primaries(sessions, carol)) == 1


async def test_unknown_users_departments_and_bad_positions(client, admin):
    sales = await department(client, admin, "SALES")
    carol = await new_user(client, admin, "carol")
    no_user = await client.put(
        f"/api/v1/departments/{sales['id']}/members/999999", json={}, headers=admin.headers
    )
    assert no_user.status_code == 404 and no_user.json()["code"] == "not_found"
    assert "user 999999" in no_user.json()["detail"]
    no_department = await client.put(
        f"/api/v1/departments/999999/members/{carol}", json={}, headers=admin.headers
    )
    assert no_department.status_code == 404
    bad = await client.put(
        f"/api/v1/departments/{sales['id']}/members/{carol}",
        json={"position": "boss", "is_primary": "perhaps"},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422 and set(codes(bad)) == {"position", "is_primary"}
    assert bad.json()["title"] == "请求内容无效。"
    too_big = await client.put(
        f"/api/v1/departments/{sales['id']}/members/{2**70}", json={}, headers=admin.headers
    )
    assert too_big.status_code == 422
    assert (
        await client.get("/api/v1/users/999999/departments", headers=admin.headers)
    ).status_code == 404


async def test_remove_member(client, admin, sessions):
    sales = await department(client, admin, "SALES")
    carol = await new_user(client, admin, "carol")
    await join(client, admin, sales["id"], carol, "head")
    url = f"/api/v1/departments/{sales['id']}/members/{carol}"
    assert (await client.delete(url, headers=admin.headers)).status_code == 204
    again = await client.delete(url, headers=admin.headers)
    assert again.status_code == 404 and again.json()["code"] == "not_found"
    assert (await get(client, admin, f"/api/v1/departments/{sales['id']}"))["heads"] == []
    assert await get(client, admin, f"/api/v1/users/{carol}/departments") == []
    assert "department.member.remove" in await audit_actions(sessions, "department")
