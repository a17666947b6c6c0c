"""memberships(): a user's departments, positions, roles and groups in one query."""

from __future__ import annotations

from sqlalchemy import event

from runtime.org.membership import Membership, memberships
from tests.runtime.org.api import department, get, join, new_user
from tests.runtime.org.test_roles_groups import create, make_app


async def test_memberships_in_one_query(app, client, admin, sessions):
    app_id = await make_app(client, admin)
    hq = await department(client, admin, "HQ")
    sales = await department(client, admin, "SALES", parent_id=hq["id"])
    lab = await department(client, admin, "LAB")
    carol = await new_user(client, admin, "carol")
    await join(client, admin, sales["id"], carol, "head", is_primary=True)
    await join(client, admin, lab["id"], carol, "deputy")
    await join(client, admin, hq["id"], carol)
    global_role = await create(client, admin, "/api/v1/roles", key="auditor", name="Auditor")
    app_role = await create(
        client, admin, "/api/v1/roles", key="agent", name="Agent", app_id=app_id
    )
    await create(client, admin, "/api/v1/roles", key="unused", name="Unused")
    group = await create(client, admin, "/api/v1/groups", key="team", name="Team")
    for url in (
        f"/api/v1/roles/{global_role['id']}/members/{carol}",
        f"/api/v1/roles/{app_role['id']}/members/{carol}",
        f"/api/v1/groups/{group['id']}/members/{carol}",
    ):
        assert (await client.put(url, headers=admin.headers)).status_code == 200

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with sessions() as db:
            found = await memberships(db, carol)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1

    assert found.department_ids == {hq["id"], sales["id"], lab["id"]}
    assert found.department_paths[sales["id"]] == f"/{hq['id']}/{sales['id']}/"
    assert found.primary_department_id == sales["id"]
    assert found.head_of == {sales["id"]} and found.deputy_of == {lab["id"]}
    assert found.global_role_ids == {global_role["id"]}
    assert found.app_role_ids == {app_id: frozenset({app_role["id"]})}
    assert found.roles_in(app_id) == {global_role["id"], app_role["id"]}
    assert found.roles_in(app_id + 1) == {global_role["id"]}
    assert found.group_ids == {group["id"]}
    assert found.position_in(lab["id"]) == "deputy" and found.position_in(hq["id"]) == "member"
    assert found.in_or_below(hq["path"]) and not found.in_or_below("/999/")
    assert found.subtree_ids == {hq["id"], sales["id"], lab["id"]}
    assert found.ancestor_codes == {"HQ", "SALES", "LAB"}
    assert found.department_codes == {"HQ", "SALES", "LAB"}

    shown = await get(client, admin, f"/api/v1/users/{carol}/memberships")
    assert shown["primary_department_id"] == sales["id"]
    assert {d["id"]: d["position"] for d in shown["departments"]} == {
        hq["id"]: "member",
        sales["id"]: "head",
        lab["id"]: "deputy",
    }
    assert shown["app_roles"] == [{"app_id": app_id, "role_ids": [app_role["id"]]}]
    assert shown["global_role_ids"] == [global_role["id"]] and shown["group_ids"] == [group["id"]]


async def test_nobody_belongs_nowhere(client, admin, sessions):
    async with sessions() as db:
        assert await memberships(db, 424242) == Membership(user_id=424242)
    missing = await client.get("/api/v1/users/424242/memberships", headers=admin.headers)
    assert missing.status_code == 404
