"""The permission matrix: every read path, as every user, returns no row outside the caller's
scope and no value of a field hidden from them (issue 4, point 5).

A department tree, roles, a group and users with attributes are built through the admin API;
grants of every scope kind and field rule are published; records are created by users in
different departments. An oracle written independently of the engine (plain Python over the
grants) says what each user should see; every read path is compared with it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.org.api import department, join
from tests.runtime.records.conftest import publish_app

TICKET = {
    "key": "ticket",
    "label": {"en": "Ticket"},
    "fields": [
        {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
        {"id": 2, "key": "region", "type": "text", "label": {"en": "Region"}},
        {"id": 3, "key": "cost", "type": "integer", "label": {"en": "Cost"}},
        {"id": 4, "key": "phone", "type": "text", "label": {"en": "Phone"}},
        {"id": 5, "key": "files", "type": "attachments", "label": {"en": "Files"}},
    ],
}


def visit_form(ticket_id: int) -> dict[str, Any]:
    """Visits look tickets up: a lookup shows nothing the caller could not read on the ticket."""
    return {
        "key": "visit",
        "label": {"en": "Visit"},
        "fields": [
            {"id": 1, "key": "note", "type": "text", "label": {"en": "Note"}},
            {
                "id": 2,
                "key": "ticket",
                "type": "relation",
                "label": {"en": "Ticket"},
                "options": {"form_id": ticket_id},
            },
            {
                "id": 3,
                "key": "ticket_subject",
                "type": "lookup",
                "label": {"en": "Subject"},
                "options": {"relation": "ticket", "field": "subject"},
            },
            {
                "id": 4,
                "key": "ticket_cost",
                "type": "lookup",
                "label": {"en": "Cost"},
                "options": {"relation": "ticket", "field": "cost"},
            },
        ],
    }


RULE = {"==": [{"var": "region"}, {"current_user": "region"}]}
GRANTS = [
    # Managers: their department and below, cost hidden.
    {
        "id": "managers",
        "grantee": {"kind": "role", "key": "manager"},
        "actions": ["read", "update", "export"],
        "scope": "department_tree",
        "fields": {"cost": "hidden"},
    },
    # Agents: their own records, every field.
    {
        "id": "agents",
        "grantee": {"kind": "role", "key": "agent"},
        "actions": ["create", "read", "update"],
        "scope": "own",
    },
    # Members of WEST (and below): their own department only, phone hidden.
    {
        "id": "west",
        "grantee": {"kind": "department", "key": "WEST", "include_children": True},
        "actions": ["read"],
        "scope": "department",
        "fields": {"phone": "hidden"},
    },
    # Auditors: records of their region, cost and phone hidden.
    {
        "id": "auditors",
        "grantee": {"kind": "group", "key": "audit"},
        "actions": ["read", "export"],
        "scope": "rule",
        "rule": RULE,
        "fields": {"cost": "hidden", "phone": "hidden", "files": "hidden"},
    },
    # One named user reads everything.
    {"id": "ceo", "grantee": {"kind": "user", "key": "ceo"}, "actions": ["read"], "scope": "all"},
]
FIELDS = ("subject", "region", "cost", "phone", "files")
#: Every grant above is for tickets; everyone reads every visit.
for _grant in GRANTS:
    _grant["form"] = "ticket"
VISITS = {
    "id": "visits",
    "form": "visit",
    "grantee": {"kind": "everyone"},
    "actions": ["read"],
    "scope": "all",
}


class Org:
    """What the oracle knows: departments (code → id, path), users and their memberships."""

    def __init__(self) -> None:
        self.paths: dict[str, str] = {}
        self.ids: dict[str, int] = {}
        self.users: dict[str, dict[str, Any]] = {}

    def department_of_id(self, department_id: int | None) -> str | None:
        return next((c for c, i in self.ids.items() if i == department_id), None)


def grant_applies(grant: dict[str, Any], user: dict[str, Any], org: Org) -> bool:
    grantee = grant["grantee"]
    if grantee["kind"] == "role":
        return grantee["key"] in user["roles"]
    if grantee["kind"] == "group":
        return grantee["key"] in user["groups"]
    if grantee["kind"] == "user":
        return grantee["key"] == user["username"]
    target = org.paths[grantee["key"]]
    return any(org.paths[d].startswith(target) for d in user["departments"])


def in_scope(grant: dict[str, Any], user: dict[str, Any], record: dict[str, Any], org: Org) -> bool:
    scope = grant["scope"]
    if scope == "all":
        return True
    if scope == "own":
        return record["owner_id"] == user["id"]
    code = org.department_of_id(record["department_id"])
    if scope == "department":
        return code in user["departments"]
    if scope == "department_tree":
        return code is not None and any(
            org.paths[code].startswith(org.paths[d]) for d in user["departments"]
        )
    return record["values"]["region"] == user["attributes"].get("region")


def expected(user: dict[str, Any], records: list[dict[str, Any]], org: Org, action: str = "read"):
    """``{record id: set of visible field keys}`` for ``user``."""
    grants = [g for g in GRANTS if action in g["actions"] and grant_applies(g, user, org)]
    seen: dict[int, set[str]] = {}
    for record in records:
        covering = [g for g in grants if in_scope(g, user, record, org)]
        if covering:
            seen[record["id"]] = {
                k for k in FIELDS if any(g.get("fields", {}).get(k) != "hidden" for g in covering)
            }
    return seen


async def build(client, admin, sessions) -> tuple[str, Org, dict[str, Any], list[dict[str, Any]]]:
    org = Org()
    hq = await department(client, admin, "HQ")
    east = await department(client, admin, "EAST", parent_id=hq["id"])
    east_sh = await department(client, admin, "EAST_SH", parent_id=east["id"])
    west = await department(client, admin, "WEST", parent_id=hq["id"])
    west_cd = await department(client, admin, "WEST_CD", parent_id=west["id"])
    for found in (hq, east, east_sh, west, west_cd):
        org.ids[found["code"]] = found["id"]
        org.paths[found["code"]] = found["path"]
    group = await client.post(
        "/api/v1/groups", json={"key": "audit", "name": "Audit"}, headers=admin.headers
    )
    assert group.status_code == 201, group.text
    people = {
        # username: (departments, primary, roles, groups, region)
        "mgr_east": (["EAST"], "EAST", ["manager"], [], "east"),
        "agent_sh": (["EAST_SH"], "EAST_SH", ["agent"], [], "east"),
        "agent_cd": (["WEST_CD"], "WEST_CD", ["agent"], [], "west"),
        "west_lead": (["WEST"], "WEST", ["agent", "manager"], [], "west"),
        "auditor": (["HQ"], "HQ", [], ["audit"], "west"),
        "ceo": (["HQ"], "HQ", [], [], "east"),
        "nobody": ([], None, [], [], "east"),
    }
    accounts = {}
    for username, (departments, primary, role_keys, groups, region) in people.items():
        account = await make_account(client, sessions, username, USER_PASSWORD)
        accounts[username] = account
        for code in departments:
            await join(client, admin, org.ids[code], account.id, is_primary=code == primary)
        for _key in groups:
            path = f"/api/v1/groups/{group.json()['id']}/members/{account.id}"
            assert (await client.put(path, headers=admin.headers)).status_code == 200
        current = (await client.get(f"/api/v1/users/{account.id}", headers=admin.headers)).json()
        patched = await client.patch(
            f"/api/v1/users/{account.id}",
            json={"row_version": current["row_version"], "attributes": {"region": region}},
            headers=admin.headers,
        )
        assert patched.status_code == 200, patched.text
        org.users[username] = {
            "id": account.id,
            "username": username,
            "departments": departments,
            "roles": role_keys,
            "groups": groups,
            "attributes": {"region": region},
        }
    desk = await publish_app(
        client,
        admin,
        "desk",
        ["ticket", "visit"],
        lambda ids: [
            {**TICKET, "id": ids["ticket"]},
            {**visit_form(ids["ticket"]), "id": ids["visit"]},
        ],
        permissions=[*GRANTS, VISITS],
        roles=[{"key": "manager", "name": {"en": "Manager"}}, {"key": "agent"}],
    )
    url = desk.url("ticket")
    roles = {
        r["key"]: r["id"]
        for r in (await client.get("/api/v1/roles", headers=admin.headers)).json()["items"]
    }
    roles = {
        r["key"]: r["id"]
        for r in (await client.get("/api/v1/roles", headers=admin.headers)).json()["items"]
    }
    for username, user in org.users.items():
        for key in user["roles"]:
            path = f"/api/v1/roles/{roles[key]}/members/{accounts[username].id}"
            assert (await client.put(path, headers=admin.headers)).status_code == 200
    # Records written by agents (own department) and by the admin (no department).
    for writer, count in (("agent_sh", 4), ("agent_cd", 4), ("west_lead", 2)):
        for n in range(count):
            region = "east" if n % 2 == 0 else "west"
            upload = await client.post(
                "/api/v1/files",
                files={"file": (f"{writer}{n}.txt", f"{writer} {n}".encode(), "text/plain")},
                headers=accounts[writer].headers,
            )
            assert upload.status_code == 201, upload.text
            values = {
                "subject": f"{writer} {n}",
                "region": region,
                "cost": 100 + n,
                "phone": "13800",
                "files": [upload.json()["id"]],
            }
            created = await client.post(
                url, json={"values": values}, headers=accounts[writer].headers
            )
            assert created.status_code == 201, created.text
    for n in range(3):
        values = {"subject": f"admin {n}", "region": "west", "cost": 7, "phone": "13900"}
        assert (await client.post(url, json={"values": values}, headers=admin.headers)).is_success
    records = (await client.get(url, params={"limit": 500}, headers=admin.headers)).json()["items"]
    for record in records:
        visit = {"values": {"note": f"visit {record['id']}", "ticket": record["id"]}}
        made = await client.post(desk.url("visit"), json=visit, headers=admin.headers)
        assert made.status_code == 201, made.text
    return url, org, accounts, records


def check_values(record: dict[str, Any], visible: set[str], real: dict[str, Any]) -> int:
    """No hidden value, every visible one intact; returns how many fields were checked."""
    for key in FIELDS:
        value = record["values"].get(key)
        if key in visible:
            assert value == real["values"][key], (key, record)
        else:
            assert value is None, (key, record)
    return len(FIELDS)


async def test_every_read_path_as_every_user(client, admin, sessions, capsys):
    url, org, accounts, records = await build(client, admin, sessions)
    by_id = {r["id"]: r for r in records}
    # Departments follow the creator's primary department.
    assert {org.department_of_id(r["department_id"]) for r in records} == {
        "EAST_SH",
        "WEST_CD",
        "WEST",
        None,
    }
    cases = 0
    for username, account in accounts.items():
        user = org.users[username]
        want = expected(user, records, org)
        headers = account.headers
        # list, query (POST), count
        page = (
            await client.get(url, params={"limit": 500, "total": "true"}, headers=headers)
        ).json()
        assert {r["id"] for r in page["items"]} == set(want), username
        assert page["total"] == len(want)
        for record in page["items"]:
            cases += check_values(record, want[record["id"]], by_id[record["id"]])
        queried = await client.post(f"{url}/query", json={"limit": 500}, headers=headers)
        assert {r["id"] for r in queried.json()["items"]} == set(want)
        # search
        found = (await client.get(url, params={"q": "agent_sh"}, headers=headers)).json()["items"]
        assert {r["id"] for r in found} == {
            i for i in want if by_id[i]["values"]["subject"].startswith("agent_sh")
        }
        # search never matches on a hidden value (phone is hidden from some users)
        phoned = (await client.get(url, params={"q": "13800"}, headers=headers)).json()["items"]
        assert {r["id"] for r in phoned} == {
            i
            for i, fields in want.items()
            if "phone" in fields and by_id[i]["values"]["phone"] == "13800"
        }, username
        cases += 1
        # a filter on a field hidden everywhere is refused; elsewhere it matches only visible
        # (a hidden value reads as null, and null >= 101 is false: no row may match through
        # a value the caller cannot see)
        cost_filter = json.dumps({">=": [{"var": "cost"}, 101]})
        filtered = await client.get(url, params={"filter": cost_filter}, headers=headers)
        if want and all("cost" not in fields for fields in want.values()):
            assert filtered.status_code == 422, filtered.text
        else:
            assert {r["id"] for r in filtered.json().get("items", [])} == {
                i
                for i, fields in want.items()
                if "cost" in fields and by_id[i]["values"]["cost"] >= 101
            }
        # every record by id, and its timeline
        for record in records:
            one = await client.get(f"{url}/{record['id']}", headers=headers)
            timeline = await client.get(f"{url}/{record['id']}/timeline", headers=headers)
            cases += 2
            if record["id"] not in want:
                assert one.status_code == 404 and timeline.status_code == 404
                continue
            assert one.status_code == 200
            cases += check_values(one.json(), want[record["id"]], record)
            for entry in timeline.json():
                hidden = set(FIELDS) - want[record["id"]]
                assert not hidden & set(entry.get("changes") or {}), (username, entry)
        # lookups: a visit shows a ticket's fields only where the caller can read them
        visits = await client.get(
            url.replace("/ticket", "/visit"), params={"limit": 500}, headers=headers
        )
        for visit in visits.json()["items"]:
            ticket_id = visit["values"]["ticket"]
            fields = want.get(ticket_id, set())
            real = by_id[ticket_id]["values"]
            subject = real["subject"] if "subject" in fields else None
            assert visit["values"]["ticket_subject"] == subject, (username, visit)
            assert visit["values"]["ticket_cost"] == (real["cost"] if "cost" in fields else None)
            cases += 2
        # attachment downloads: the uploader, or a reader of a record whose files they may see
        for record in records:
            for file in record["values"]["files"] or []:
                content = await client.get(f"/api/v1/files/{file['id']}/content", headers=headers)
                allowed = record["created_by"] == user["id"] or "files" in want.get(
                    record["id"], set()
                )
                assert content.status_code == (200 if allowed else 404), (username, record["id"])
                cases += 1
        # export: the export grants' rows and the readable fields only
        exported = await client.get(f"{url}/export", params={"header": "key"}, headers=headers)
        exporting = expected(user, records, org, "export")
        if not exporting:
            assert exported.status_code == 403
        else:
            assert exported.status_code == 200, exported.text
            rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
            assert len(rows) == len(set(exporting) & set(want))
            hidden_everywhere = {k for k in FIELDS if all(k not in f for f in want.values())}
            assert not hidden_everywhere & set(rows[0] if rows else {})
        cases += 4
    # writes: updates outside the update scope and read-only fields are refused
    agent = accounts["agent_sh"]
    theirs = next(r for r in records if r["values"]["subject"].startswith("agent_cd"))
    mine = next(r for r in records if r["values"]["subject"].startswith("agent_sh"))
    blind = await client.patch(
        f"{url}/{theirs['id']}",
        json={"row_version": 1, "values": {"subject": "x"}},
        headers=agent.headers,
    )
    assert blind.status_code == 404
    ok = await client.patch(
        f"{url}/{mine['id']}",
        json={"row_version": 1, "values": {"subject": "mine"}},
        headers=agent.headers,
    )
    assert ok.status_code == 200, ok.text
    manager = accounts["mgr_east"]
    hidden_write = await client.patch(
        f"{url}/{mine['id']}",
        json={"row_version": 2, "values": {"cost": 1}},
        headers=manager.headers,
    )
    assert hidden_write.status_code == 422
    assert hidden_write.json()["errors"][0] == {
        **hidden_write.json()["errors"][0],
        "code": "read_only",
    }
    nobody = await client.post(
        url, json={"values": {"subject": "x"}}, headers=accounts["nobody"].headers
    )
    assert nobody.status_code == 403
    cases += 4
    with capsys.disabled():
        print(f"\npermission matrix: {len(accounts)} users, {len(records)} records, {cases} checks")
    assert cases > 500
