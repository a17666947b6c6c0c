"""Importing the organisation from CSV/XLSX: all rows or none, every bad row reported."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook
from sqlalchemy import func, select

from runtime.audit.models import AuditEntry
from runtime.auth.models import User
from runtime.org import importer
from runtime.org.models import Department, DepartmentMember
from tests.runtime.org.api import audit_actions, department, get, join, new_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = [
    "department code",
    "department name",
    "parent code",
    "username",
    "display name",
    "email",
    "position",
    "primary",
]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def upload(client, admin, content: bytes, name="org.csv", ctype="text/csv") -> int:
    response = await client.post(
        "/api/v1/files", files={"file": (name, content, ctype)}, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def run(client, admin, content: bytes, *, dry_run=False, lang="en", **file_args):
    file_id = await upload(client, admin, content, **file_args)
    return await client.post(
        "/api/v1/org/imports",
        json={"file_id": file_id, "dry_run": dry_run},
        headers={**admin.headers, "Accept-Language": lang},
    )


async def snapshot(sessions) -> tuple[int, int, int, int]:
    """(departments, users, memberships, audit entries)."""
    async with sessions() as db:
        counts = []
        for model in (Department, User, DepartmentMember, AuditEntry):
            counts.append((await db.execute(select(func.count()).select_from(model))).scalar())
        return tuple(counts)


async def by_code(client, admin) -> dict[str, dict]:
    page = await get(client, admin, "/api/v1/departments", limit=500)
    return {d["code"]: d for d in page["items"]}


ORG = [
    HEADER,
    ["SALES-E", "Sales East", "SALES", "carol", "Carol Chen", "Carol@Example.com", "head", "yes"],
    ["HQ", "Headquarters", "", "", "", "", "", ""],
    ["SALES", "Sales", "HQ", "dave", "Dave", "dave@example.com", "member", ""],
    ["SALES-E", "", "", "dave", "", "", "deputy", "no"],
]


async def test_import_creates_departments_users_and_memberships(client, admin, sessions):
    response = await run(client, admin, csv_bytes(ORG))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True and report["errors"] == [] and report["rows"] == 4
    assert (report["departments_created"], report["users_created"]) == (3, 2)
    assert report["memberships_created"] == 3 and report["unknown_columns"] == []
    assert {c["column"]: c["field"] for c in report["columns"]}["parent code"] == "parent_code"
    departments = await by_code(client, admin)
    hq, sales, east = departments["HQ"], departments["SALES"], departments["SALES-E"]
    assert sales["parent_id"] == hq["id"] and east["parent_id"] == sales["id"]
    assert east["path"] == f"/{hq['id']}/{sales['id']}/{east['id']}/"
    assert east["name"] == "Sales East"
    users = {u["username"]: u for u in (await get(client, admin, "/api/v1/users"))["items"]}
    assert users["carol"]["display_name"] == "Carol Chen"
    assert users["carol"]["email"] == "carol@example.com"
    detail = await get(client, admin, f"/api/v1/departments/{east['id']}")
    assert [h["username"] for h in detail["heads"]] == ["carol"]
    assert [d["username"] for d in detail["deputies"]] == ["dave"]
    dave = await get(client, admin, f"/api/v1/users/{users['dave']['id']}/departments")
    assert [(d["department"]["code"], d["is_primary"]) for d in dave] == [
        ("SALES", True),
        ("SALES-E", False),
    ]
    # imported users have no password: nobody can sign in as them until one is set
    login = await client.post(
        "/api/v1/auth/login", json={"username": "carol", "password": "Whatever-pass-1"}
    )
    assert login.status_code == 401
    async with sessions() as db:
        carol = (await db.execute(select(User).where(User.username == "carol"))).scalar_one()
        assert carol.password_hash is None
    actions = await audit_actions(sessions)
    assert actions[-1] == "org.import"
    assert actions.count("department.create") == 3 and actions.count("user.create") == 3  # +admin
    assert actions.count("department.member.add") == 3
    again = await run(client, admin, csv_bytes(ORG))  # nothing new the second time
    assert again.status_code == 200
    assert {k: v for k, v in again.json().items() if k.endswith(("_created", "_updated"))} == {
        "departments_created": 0,
        "departments_updated": 0,
        "users_created": 0,
        "users_updated": 0,
        "memberships_created": 0,
        "memberships_updated": 0,
    }


async def test_dry_run_writes_nothing(client, admin, sessions):
    before = await snapshot(sessions)
    response = await run(client, admin, csv_bytes(ORG), dry_run=True)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["ok"] is True and report["dry_run"] is True
    assert report["departments_created"] == 3 and report["users_created"] == 2
    after = await snapshot(sessions)
    assert after[:3] == before[:3]
    assert after[3] == before[3] + 1  # only the upload's audit entry


async def test_chinese_headers_and_values_in_xlsx_and_gb18030(client, admin):
    rows = [
        ["部门编码", "部门名称", "上级部门编码", "用户名", "姓名", "邮箱", "职务", "主部门"],
        ["RD-1", "研发一组", "RD", "wang", "王伟", "wang@example.com", "负责人", "是"],
        ["RD", "研发部", "", "", "", "", "", ""],
        ["RD-1", "", "", "li", "李娜", "", "副负责人", "否"],
        ["RD", "", "", "li", "", "", "成员", "是"],
    ]
    response = await run(client, admin, xlsx_bytes(rows), name="组织.xlsx", ctype=XLSX)
    assert response.status_code == 200, response.text
    assert response.json()["departments_created"] == 2
    departments = await by_code(client, admin)
    assert departments["RD-1"]["parent_id"] == departments["RD"]["id"]
    assert departments["RD"]["name"] == "研发部"
    detail = await get(client, admin, f"/api/v1/departments/{departments['RD-1']['id']}")
    assert [h["display_name"] for h in detail["heads"]] == ["王伟"]
    assert [d["display_name"] for d in detail["deputies"]] == ["李娜"]
    more = [
        ["部门编码", "部门名称", "上级部门", "账号", "姓名", "职务"],
        ["RD-2", "研发二组", "RD", "zhao", "赵敏", "副负责人"],
    ]
    gb = await run(client, admin, csv_bytes(more, "gb18030"), name="org-gb.csv")
    assert gb.status_code == 200, gb.text
    assert gb.json()["users_created"] == 1
    zhao = (await by_code(client, admin))["RD-2"]
    assert (await get(client, admin, f"/api/v1/departments/{zhao['id']}"))["deputies"][0][
        "display_name"
    ] == "赵敏"


BAD = [
    [
        "department code",
        "department name",
        "parent code",
        "username",
        "email",
        "position",
        "primary",
    ],
    ["A", "Alpha", "B", "", "", "", ""],  # 2: cycle
    ["B", "Beta", "A", "", "", "", ""],  # 3: cycle
    ["C", "Gamma", "NOPE", "", "", "", ""],  # 4: unknown parent
    ["D", "", "", "u1", "", "", ""],  # 5: a new department without a name
    ["E", "Epsilon", "", "Bad User", "", "", ""],  # 6: bad username
    ["E", "Epsilon", "", "u2", "not-mail", "boss", "maybe"],  # 7: bad e-mail, position, flag
    ["E", "Other name", "", "", "", "", ""],  # 8: conflicting name
    ["F", "Phi", "", "u3", "alice@example.com", "", ""],  # 9: e-mail of an existing user
    ["G", "Gee", "", "u4", "", "", "yes"],  # 10
    ["H", "Aitch", "", "u4", "", "", "yes"],  # 11: a second primary department
    ["", "", "", "u5", "", "head", ""],  # 12: a position without a department
    ["bad code", "Spaces", "", "", "", "", ""],  # 13: bad department code
    ["I", "Self", "I", "", "", "", ""],  # 14: its own parent
]
EXPECTED = [
    (2, "parent code", "department_cycle"),
    (3, "parent code", "department_cycle"),
    (4, "parent code", "unknown_parent"),
    (5, "department name", "required"),
    (6, "username", "invalid_username"),
    (7, "email", "invalid_email"),
    (7, "position", "invalid_position"),
    (7, "primary", "invalid_boolean"),
    (8, "department name", "conflicting_value"),
    (9, "email", "already_exists"),
    (11, "primary", "multiple_primary"),
    (12, "position", "required"),
    (13, "department code", "invalid_code"),
    (14, "parent code", "department_cycle"),
]


async def test_every_bad_row_is_reported_and_nothing_written(client, admin, sessions):
    await new_user(client, admin, "alice", email="alice@example.com")
    before = await snapshot(sessions)
    dry = await run(client, admin, csv_bytes(BAD), dry_run=True)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["ok"] is False
    assert sorted((e["row"], e["column"], e["code"]) for e in report["errors"]) == sorted(EXPECTED)
    cycle = next(e for e in report["errors"] if e["row"] == 2)
    assert cycle["message"] == "The parent codes form a cycle: A → B → A."
    unknown = next(e for e in report["errors"] if e["row"] == 4)
    assert "NOPE" in unknown["message"]
    real = await run(client, admin, csv_bytes(BAD), lang="zh-CN")
    assert real.status_code == 422 and real.json()["code"] == "import_invalid"
    assert real.json()["title"] == "部分行无效，因此未导入任何数据。"
    assert len(real.json()["errors"]) == len(EXPECTED)
    zh_cycle = next(e for e in real.json()["errors"] if e["row"] == 2)
    assert zh_cycle["message"] == "上级部门编码形成了循环：A → B → A。"
    after = await snapshot(sessions)
    assert after[:3] == before[:3]
    assert after[3] == before[3] + 2  # the two uploads
    assert "org.import" not in await audit_actions(sessions)


async def test_conflicts_between_rows(client, admin):
    rows = [
        ["department code", "department name", "parent code", "username", "email", "position"],
        ["A", "Alpha", "", "u1", "one@example.com", "head"],
        ["A", "Alpha", "", "u1", "two@example.com", "member"],  # e-mail and position differ
        ["B", "Beta", "", "u2", "one@example.com", ""],  # someone else's e-mail
        ["C", "Gamma", "A", "", "", ""],
        ["C", "Gamma", "B", "", "", ""],  # another parent
    ]
    response = await run(client, admin, csv_bytes(rows), dry_run=True)
    errors = sorted((e["row"], e["column"], e["code"]) for e in response.json()["errors"])
    assert errors == [
        (3, "email", "conflicting_value"),
        (3, "position", "conflicting_value"),
        (4, "email", "already_exists"),
        (6, "parent code", "conflicting_value"),
    ]


async def test_existing_departments_users_and_memberships_are_updated(client, admin, sessions):
    hq = await department(client, admin, "HQ", "Headquarters")
    sales = await department(client, admin, "SALES", "Sales", hq["id"])
    east = await department(client, admin, "EAST", "East", sales["id"])
    lab = await department(client, admin, "LAB", "Lab")
    carol = await new_user(client, admin, "carol", display_name="Carol", email="c@example.com")
    await join(client, admin, sales["id"], carol, "member", is_primary=True)
    rows = [
        ["部门编码", "部门名称", "上级部门编码", "用户名", "姓名", "邮箱", "职务", "主部门"],
        ["SALES", "", "LAB", "carol", "Carol C.", "", "负责人", ""],
        ["LAB", "Laboratory", "", "", "", "", "", ""],
        ["NEW", "New team", "EAST", "carol", "", "", "", ""],
    ]
    response = await run(client, admin, csv_bytes(rows))
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["departments_created"], report["departments_updated"]) == (1, 2)
    assert (report["users_created"], report["users_updated"]) == (0, 1)
    assert (report["memberships_created"], report["memberships_updated"]) == (1, 1)
    departments = await by_code(client, admin)
    assert departments["LAB"]["name"] == "Laboratory"
    assert departments["SALES"]["path"] == f"/{lab['id']}/{sales['id']}/"
    assert departments["EAST"]["path"] == f"/{lab['id']}/{sales['id']}/{east['id']}/"
    new = departments["NEW"]
    assert new["path"] == f"/{lab['id']}/{sales['id']}/{east['id']}/{new['id']}/"
    assert departments["HQ"]["name"] == "Headquarters"  # not in the file: unchanged
    me = await get(client, admin, f"/api/v1/users/{carol}")
    assert me["display_name"] == "Carol C." and me["email"] == "c@example.com"
    mine = await get(client, admin, f"/api/v1/users/{carol}/departments")
    assert {d["department"]["code"]: (d["position"], d["is_primary"]) for d in mine} == {
        "SALES": ("head", True),  # blank primary: kept
        "NEW": ("member", False),
    }
    actions = await audit_actions(sessions)
    assert "department.move" in actions and "user.update" in actions


async def test_cycle_through_existing_departments(client, admin, sessions):
    hq = await department(client, admin, "HQ")
    await department(client, admin, "SALES", parent_id=hq["id"])
    rows = [["department code", "parent code"], ["HQ", "SALES"]]
    response = await run(client, admin, csv_bytes(rows))
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["code"] == "department_cycle" and error["row"] == 2
    assert error["message"] == "The parent codes form a cycle: HQ → SALES → HQ."
    assert (await by_code(client, admin))["HQ"]["parent_id"] is None


async def test_file_problems(client, admin, monkeypatch):
    unknown = await run(client, admin, csv_bytes([["colour", "size"], ["red", "L"]]), lang="zh-CN")
    assert unknown.status_code == 422 and unknown.json()["code"] == "org_import_no_columns"
    assert unknown.json()["title"] == "文件需要包含部门编码列或用户名列。"
    empty = await run(client, admin, b"")
    assert empty.status_code == 422 and empty.json()["code"] == "empty_file"
    xls = await run(client, admin, b"\xd0\xcf\x11\xe0rest", name="org.xls", ctype="application/x")
    assert xls.status_code == 422 and xls.json()["code"] == "unsupported_file_type"
    missing = await client.post(
        "/api/v1/org/imports", json={"file_id": 999999}, headers=admin.headers
    )
    assert missing.status_code == 404
    duplicate = await run(
        client, admin, csv_bytes([["username", "用户名", "extra"], ["a", "b", "c"]]), dry_run=True
    )
    report = duplicate.json()
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (1, "用户名", "duplicate_column")
    ]
    assert report["unknown_columns"] == ["extra"]
    stray = await run(client, admin, csv_bytes([["username"], ["a", "b"]]), dry_run=True)
    assert [e["code"] for e in stray.json()["errors"]] == ["cell_without_header"]
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    big = await run(client, admin, csv_bytes([["username"]] + [[f"u{i}"] for i in range(4)]))
    assert big.status_code == 422 and big.json()["code"] == "too_many_rows"
    fits = await run(client, admin, csv_bytes([["username"]] + [[f"u{i}"] for i in range(3)]))
    assert fits.status_code == 200 and fits.json()["users_created"] == 3
