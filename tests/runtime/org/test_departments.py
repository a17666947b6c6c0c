"""The department tree: create, list, tree, move (paths of the subtree), delete — both databases."""

from __future__ import annotations

import asyncio

import pytest

from runtime.org.service import MAX_DEPTH
from tests.runtime.org.api import (
    audit_actions,
    codes,
    department,
    get,
    join,
    new_user,
    patch_department,
)


async def test_create_child_departments_with_paths(client, admin, sessions):
    hq = await department(client, admin, "HQ", "Headquarters")
    sales = await department(client, admin, "SALES", "Sales", hq["id"])
    east = await department(client, admin, "SALES-E", "Sales East", sales["id"])
    assert hq["path"] == f"/{hq['id']}/" and hq["parent_id"] is None
    assert east["path"] == f"/{hq['id']}/{sales['id']}/{east['id']}/"
    assert east["row_version"] == 1
    detail = await get(client, admin, f"/api/v1/departments/{sales['id']}")
    assert detail["child_count"] == 1 and detail["member_count"] == 0
    assert detail["heads"] == [] and detail["deputies"] == []
    assert await audit_actions(sessions, "department") == ["department.create"] * 3


async def test_list_filters(client, admin):
    hq = await department(client, admin, "HQ", "Headquarters")
    sales = await department(client, admin, "SALES", "Sales", hq["id"])
    await department(client, admin, "SALES-E", "Sales East", sales["id"])
    await department(client, admin, "LAB", "Research Lab")
    page = await get(client, admin, "/api/v1/departments")
    assert page["total"] == 4 and [d["code"] for d in page["items"]][:2] == ["HQ", "SALES"]
    assert [
        d["code"] for d in (await get(client, admin, "/api/v1/departments", q="sales"))["items"]
    ] == ["SALES", "SALES-E"]
    top = await get(client, admin, "/api/v1/departments", top="true")
    assert {d["code"] for d in top["items"]} == {"HQ", "LAB"}
    children = await get(client, admin, "/api/v1/departments", parent_id=hq["id"])
    assert [d["code"] for d in children["items"]] == ["SALES"]
    under = await get(client, admin, "/api/v1/departments", under=hq["id"])
    assert {d["code"] for d in under["items"]} == {"HQ", "SALES", "SALES-E"}
    paged = await get(client, admin, "/api/v1/departments", limit=1, offset=3)
    assert [d["code"] for d in paged["items"]] == ["LAB"] and paged["total"] == 4


async def test_tree_with_member_counts_heads_and_order(client, admin):
    hq = await department(client, admin, "HQ", "Headquarters")
    b = await department(client, admin, "B", "Beta", hq["id"], sort_order=2)
    a = await department(client, admin, "A", "Alpha", hq["id"], sort_order=2)
    first = await department(client, admin, "Z", "Zulu", hq["id"], sort_order=1)
    leaf = await department(client, admin, "A1", "Alpha one", a["id"])
    carol = await new_user(client, admin, "carol", display_name="Carol")
    dave = await new_user(client, admin, "dave")
    await join(client, admin, a["id"], carol, "head")
    await join(client, admin, a["id"], dave, "deputy")
    await join(client, admin, leaf["id"], dave)
    tree = await get(client, admin, "/api/v1/departments/tree")
    assert [n["code"] for n in tree] == ["HQ"]
    assert [n["code"] for n in tree[0]["children"]] == ["Z", "A", "B"]  # sort order, then name
    alpha = tree[0]["children"][1]
    assert alpha["member_count"] == 2
    assert [h["username"] for h in alpha["heads"]] == ["carol"]
    assert alpha["heads"][0]["display_name"] == "Carol"
    assert [d["username"] for d in alpha["deputies"]] == ["dave"]
    assert [n["code"] for n in alpha["children"]] == ["A1"]
    assert alpha["children"][0]["member_count"] == 1
    assert tree[0]["children"][0]["id"] == first["id"] and b["id"]
    subtree = await get(client, admin, "/api/v1/departments/tree", root_id=a["id"])
    assert [n["code"] for n in subtree] == ["A"] and subtree[0]["heads"][0]["id"] == carol
    assert (await get(client, admin, "/api/v1/departments/tree", root_id=leaf["id"]))[0][
        "children"
    ] == []


async def test_bad_input_is_reported_per_field(client, admin):
    await department(client, admin, "HQ")
    taken = await client.post(
        "/api/v1/departments",
        json={"code": "HQ", "name": "Again"},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert taken.status_code == 422 and codes(taken) == {"code": "already_exists"}
    assert taken.json()["errors"][0]["message"] == "该编码已被使用。"
    unknown = await client.post(
        "/api/v1/departments",
        json={"code": "X", "name": "X", "parent_id": 999999},
        headers=admin.headers,
    )
    assert unknown.status_code == 422 and codes(unknown) == {"parent_id": "unknown_department"}
    assert unknown.json()["errors"][0]["message"] == "No department has this id."
    bad = await client.post(
        "/api/v1/departments",
        json={"code": "has space", "name": "  ", "sort_order": 2**40, "extra": 1},
        headers=admin.headers,
    )
    assert bad.status_code == 422
    assert set(codes(bad)) == {"code", "name", "sort_order", "extra"}
    nul = await client.post(
        "/api/v1/departments", json={"code": "N", "name": "a\x00b"}, headers=admin.headers
    )
    assert nul.status_code == 422
    missing = await client.get("/api/v1/departments/424242", headers=admin.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_rename_and_stale_row_version(client, admin, sessions):
    hq = await department(client, admin, "HQ", "Headquarters")
    renamed = await patch_department(client, admin, hq["id"], name="Head Office", code="HO")
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Head Office" and renamed.json()["code"] == "HO"
    assert renamed.json()["row_version"] == 2
    stale = await client.patch(
        f"/api/v1/departments/{hq['id']}",
        json={"row_version": 1, "name": "Lost update"},
        headers=admin.headers,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    assert stale.json()["current_row_version"] == 2
    await department(client, admin, "LAB")
    clash = await patch_department(client, admin, hq["id"], code="LAB")
    assert clash.status_code == 422 and codes(clash) == {"code": "already_exists"}
    unchanged = await patch_department(client, admin, hq["id"], name="Head Office")
    assert unchanged.status_code == 200 and unchanged.json()["row_version"] == 2
    assert (await audit_actions(sessions, "department")).count("department.update") == 1


async def test_move_rewrites_the_whole_subtree(client, admin, sessions):
    hq = await department(client, admin, "HQ")
    sales = await department(client, admin, "SALES", parent_id=hq["id"])
    east = await department(client, admin, "EAST", parent_id=sales["id"])
    shop = await department(client, admin, "SHOP", parent_id=east["id"])
    other = await department(client, admin, "OTHER", parent_id=hq["id"])
    lab = await department(client, admin, "LAB")
    moved = await patch_department(client, admin, sales["id"], parent_id=lab["id"])
    assert moved.status_code == 200, moved.text
    assert moved.json()["path"] == f"/{lab['id']}/{sales['id']}/"
    assert moved.json()["parent_id"] == lab["id"]
    after_east = await get(client, admin, f"/api/v1/departments/{east['id']}")
    after_shop = await get(client, admin, f"/api/v1/departments/{shop['id']}")
    assert after_east["path"] == f"/{lab['id']}/{sales['id']}/{east['id']}/"
    assert after_shop["path"] == f"/{lab['id']}/{sales['id']}/{east['id']}/{shop['id']}/"
    assert after_east["row_version"] == 2 and after_shop["row_version"] == 2
    untouched = await get(client, admin, f"/api/v1/departments/{other['id']}")
    assert untouched["path"] == f"/{hq['id']}/{other['id']}/" and untouched["row_version"] == 1
    under_lab = await get(client, admin, "/api/v1/departments", under=lab["id"])
    assert {d["code"] for d in under_lab["items"]} == {"LAB", "SALES", "EAST", "SHOP"}
    to_top = await patch_department(client, admin, east["id"], parent_id=None)
    assert to_top.status_code == 200 and to_top.json()["path"] == f"/{east['id']}/"
    assert (await get(client, admin, f"/api/v1/departments/{shop['id']}"))["path"] == (
        f"/{east['id']}/{shop['id']}/"
    )
    assert (await audit_actions(sessions, "department")).count("department.move") == 2


@pytest.mark.parametrize("target", ["itself", "child", "grandchild"])
async def test_moving_under_itself_or_a_descendant_is_a_cycle(client, admin, target):
    hq = await department(client, admin, "HQ")
    child = await department(client, admin, "C", parent_id=hq["id"])
    grandchild = await department(client, admin, "G", parent_id=child["id"])
    parent = {"itself": hq, "child": child, "grandchild": grandchild}[target]
    response = await patch_department(client, admin, hq["id"], lang="zh-CN", parent_id=parent["id"])
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "department_cycle"
    assert body["title"] == "不能将部门放在其自身或其下级部门之下。"
    assert codes(response) == {"parent_id": "department_cycle"}
    after = await get(client, admin, f"/api/v1/departments/{hq['id']}")
    assert after["path"] == hq["path"] and after["parent_id"] is None and after["row_version"] == 1
    assert (await get(client, admin, f"/api/v1/departments/{grandchild['id']}"))["path"] == (
        grandchild["path"]
    )


async def test_depth_is_limited(client, admin):
    parent_id = None
    chain = []
    for level in range(MAX_DEPTH):
        created = await department(client, admin, f"L{level}", parent_id=parent_id)
        chain.append(created)
        parent_id = created["id"]
    too_deep = await client.post(
        "/api/v1/departments",
        json={"code": "DEEP", "name": "Deep", "parent_id": parent_id},
        headers=admin.headers,
    )
    assert too_deep.status_code == 422 and codes(too_deep) == {"parent_id": "too_deep"}
    side = await department(client, admin, "SIDE")
    await department(client, admin, "SIDE2", parent_id=side["id"])
    move = await patch_department(client, admin, side["id"], parent_id=chain[-2]["id"])
    assert move.status_code == 422 and codes(move) == {"parent_id": "too_deep"}
    fits = await patch_department(client, admin, side["id"], parent_id=chain[-3]["id"])
    assert fits.status_code == 200, fits.text


async def test_delete_only_empty_departments(client, admin, sessions):
    hq = await department(client, admin, "HQ")
    child = await department(client, admin, "C", parent_id=hq["id"])
    refused = await client.delete(f"/api/v1/departments/{hq['id']}", headers=admin.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "department_not_empty"
    assert refused.json()["children"] == 1 and refused.json()["members"] == 0
    carol = await new_user(client, admin, "carol")
    await join(client, admin, child["id"], carol)
    with_member = await client.delete(
        f"/api/v1/departments/{child['id']}",
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert with_member.status_code == 409 and with_member.json()["members"] == 1
    assert with_member.json()["title"] == "该部门仍有下级部门或成员。"
    removed = await client.delete(
        f"/api/v1/departments/{child['id']}/members/{carol}", headers=admin.headers
    )
    assert removed.status_code == 204
    stale = await client.delete(
        f"/api/v1/departments/{child['id']}?row_version=7", headers=admin.headers
    )
    assert stale.status_code == 409 and stale.json()["current_row_version"] == 1
    deleted = await client.delete(
        f"/api/v1/departments/{child['id']}?row_version=1", headers=admin.headers
    )
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/departments/{child['id']}", headers=admin.headers)
    assert gone.status_code == 404
    assert (
        await client.delete(f"/api/v1/departments/{hq['id']}", headers=admin.headers)
    ).status_code == 204
    assert (await audit_actions(sessions, "department")).count("department.delete") == 2


ADMIN_ONLY = [
    ("get", "/api/v1/departments"),
    ("post", "/api/v1/departments"),
    ("get", "/api/v1/departments/tree"),
    ("get", "/api/v1/departments/1"),
    ("patch", "/api/v1/departments/1"),
    ("delete", "/api/v1/departments/1"),
    ("get", "/api/v1/departments/1/members"),
    ("put", "/api/v1/departments/1/members/1"),
    ("delete", "/api/v1/departments/1/members/1"),
    ("get", "/api/v1/users/1/departments"),
    ("get", "/api/v1/users/1/memberships"),
    ("get", "/api/v1/roles"),
    ("post", "/api/v1/roles"),
    ("get", "/api/v1/roles/1"),
    ("patch", "/api/v1/roles/1"),
    ("delete", "/api/v1/roles/1"),
    ("get", "/api/v1/roles/1/members"),
    ("put", "/api/v1/roles/1/members/1"),
    ("delete", "/api/v1/roles/1/members/1"),
    ("get", "/api/v1/groups"),
    ("post", "/api/v1/groups"),
    ("get", "/api/v1/groups/1"),
    ("patch", "/api/v1/groups/1"),
    ("delete", "/api/v1/groups/1"),
    ("get", "/api/v1/groups/1/members"),
    ("put", "/api/v1/groups/1/members/1"),
    ("delete", "/api/v1/groups/1/members/1"),
    ("post", "/api/v1/org/imports"),
]


async def test_everything_is_for_administrators_only(client, user):
    for method, url in ADMIN_ONLY:
        response = await client.request(method, url, json={}, headers=user.headers)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["code"] == "admin_required"
        anonymous = await client.request(method, url, json={})
        assert anonymous.status_code == 401, (method, url)


async def test_concurrent_opposite_moves_cannot_build_a_cycle(client, admin):
    a = await department(client, admin, "A")
    b = await department(client, admin, "B")
    responses = await asyncio.gather(
        client.patch(
            f"/api/v1/departments/{a['id']}",
            json={"row_version": 1, "parent_id": b["id"]},
            headers=admin.headers,
        ),
        client.patch(
            f"/api/v1/departments/{b['id']}",
            json={"row_version": 1, "parent_id": a["id"]},
            headers=admin.headers,
        ),
    )
    assert sorted(r.status_code for r in responses) == [200, 422], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 422)
    assert refused.json()["code"] == "department_cycle"
    tops = await get(client, admin, "/api/v1/departments", top="true")
    assert len(tops["items"]) == 1
