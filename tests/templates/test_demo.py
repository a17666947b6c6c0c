"""The Customer Center's org part, demo people and seed extensions, installed through the API
job: departments and groups created before publishing (existing ones reused), demo users in
their departments, groups and app roles, seed rows with system times relative to the install,
owners and departments by name, sub-table rows, quiet rows (no rule fires) and ``_events``
rows (the routing rule fires once the install committed); problems by file and line; export
of the org — on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from builder.apps.models import FormRecord
from runtime.auth.models import User
from runtime.auth.passwords import verify_password
from runtime.auth.principal import Principal
from runtime.jobs.models import DEAD, DONE, Job
from runtime.jobs.worker import Worker
from runtime.org.models import Department, DepartmentMember, Group, GroupMember, Role, RoleMember
from runtime.records.forms import published_form
from runtime.records.writer import RecordWriter, SystemStamp
from templates.layout import from_files
from templates.models import DemoAccount
from templates.source import read_source, write_zip
from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.rules.conftest import make_group
from tests.support.jobs import eventually, running
from tests.templates import demo_template
from tests.templates.test_api import unzip

ZH = {"Accept-Language": "zh-CN"}


async def _all_jobs_done(app, sessions, settings) -> None:
    """Run a worker until no job is waiting or running (the install, then its events)."""

    async def idle() -> bool:
        async with app.state.read_sessions() as db:
            waiting = await db.execute(
                select(func.count()).select_from(Job).where(Job.status.not_in((DONE, DEAD)))
            )
            return waiting.scalar_one() == 0

    async with running(Worker(sessions, settings)):
        await eventually(idle, timeout=120, message="all jobs done")


async def _install(client, admin, app, sessions, settings, path, **form):
    data = write_zip(read_source(path))
    started = await client.post(
        "/api/v1/templates/imports",
        files={"file": ("t.zip", data, "application/zip")},
        data={k: str(v).lower() for k, v in form.items()},
        headers=admin.headers,
    )
    assert started.status_code == 202, started.text
    await _all_jobs_done(app, sessions, settings)
    shown = await client.get(f"/api/v1/jobs/{started.json()['job_id']}", headers=admin.headers)
    return shown.json()


async def _values(client, admin, record_id: int) -> dict:
    shown = await client.get(
        f"/api/v1/records/customer_center/ticket/{record_id}", headers=admin.headers
    )
    assert shown.status_code == 200, shown.text
    return dict(shown.json()["values"])


def _ticket(i: int, **values):
    return {"_id": f"t{i}", "subject": f"打印机故障 {i}", "customer": "c0", **values}


def _seed(tickets):
    return {
        "customer": [{"_id": "c0", "name": "上海示例有限公司", "account_manager": "li.na"}],
        "ticket": tickets,
        "return_request": [
            {
                "order_number": "SO-1",
                "ticket": "t0",
                "customer": "c0",
                "reason": "破损",
                "amount": "10.00",
                "lines": [{"sku": "A", "product": "墨盒", "quantity": 2, "unit_price": "5.00"}],
                "_created_at": "@now-3d",
            }
        ],
    }


async def test_org_demo_users_and_seed_extensions(client, admin, app, sessions, settings, tmp_path):
    # An existing group is reused, never renamed; an existing user too (password untouched).
    await make_group(client, admin, "finance", [])
    await make_account(client, sessions, "chen.jie", USER_PASSWORD)
    tickets = [
        _ticket(
            0,
            _created_at="@now-85d-3h+20m",
            _updated_at="@now-85d",
            _owner="li.na",
            _department="cs_east",
            assignee="wang.wei",
            team="first_line",
            first_response_at="@now-85d-2h",
        ),
        _ticket(1, subject="发票开错了 invoice", _created_at="@now-1d"),  # quiet: no routing
        _ticket(2, subject="发票开错了 invoice", _events=True),  # routed after the install
    ]
    path = demo_template.make(tmp_path / "cc", seed=_seed(tickets))
    before = datetime.now(UTC)
    job = await _install(client, admin, app, sessions, settings, path)
    after = datetime.now(UTC)
    assert job["result"]["ok"] is True, job["result"]
    assert job["result"]["seed_rows"] == 5

    async with sessions() as db:
        departments = {d.code: d for d in (await db.execute(select(Department))).scalars()}
        assert departments["cs_east"].parent_id == departments["cs"].id
        assert departments["cs"].name == "Customer Service Center"  # the admin's language: en
        groups = {g.key: g for g in (await db.execute(select(Group))).scalars()}
        assert set(groups) >= {"first_line", "finance", "warehouse", "supervisors"}
        assert groups["finance"].name == "finance"  # reused as it was
        users = {u.username: u for u in (await db.execute(select(User))).scalars()}
        assert {"li.na", "chen.jie", "liu.yang", "sun.li"} <= set(users)
        assert users["li.na"].display_name == "李娜" and not users["li.na"].must_change_password
        head = (
            await db.execute(
                select(DepartmentMember).where(DepartmentMember.user_id == users["liu.yang"].id)
            )
        ).scalar_one()
        assert head.position == "head" and head.department_id == departments["cs_east"].id
        assert head.is_primary
        in_first_line = set(
            (
                await db.execute(
                    select(GroupMember.user_id).where(
                        GroupMember.group_id == groups["first_line"].id
                    )
                )
            ).scalars()
        )
        assert in_first_line == {users["li.na"].id, users["wang.wei"].id}
        app_id = job["result"]["app"]["id"]
        roles = {
            r.key: r.id
            for r in (await db.execute(select(Role).where(Role.app_id == app_id))).scalars()
        }
        agents = set(
            (
                await db.execute(
                    select(RoleMember.user_id).where(RoleMember.role_id == roles["agent"])
                )
            ).scalars()
        )
        assert agents == {users[n].id for n in ("li.na", "wang.wei", "zhao.min")}
        assert verify_password(users["chen.jie"].password_hash, USER_PASSWORD)
        offered = {
            account.user_id for account in (await db.execute(select(DemoAccount))).scalars()
        }  # not chen.jie: the demo password is not theirs
        assert offered == {users[n].id for n in ("li.na", "liu.yang", "sun.li")}

        ticket_form = (
            await db.execute(
                select(FormRecord.id).where(FormRecord.app_id == app_id, FormRecord.key == "ticket")
            )
        ).scalar_one()
        handle = await published_form(db, ticket_form)
        rows = {
            r["id"]: r
            for r in (await db.execute(select(handle.table).order_by(handle.table.c.id))).mappings()
        }
    first, quiet, loud = rows.values()
    created = first["created_at"].replace(tzinfo=UTC)
    offset = timedelta(days=85, hours=3) - timedelta(minutes=20)
    assert before - offset - timedelta(seconds=5) <= created <= after - offset
    assert first["updated_at"].replace(tzinfo=UTC) - created == timedelta(hours=2, minutes=40)
    assert first["owner_id"] == users["li.na"].id
    assert first["department_id"] == departments["cs_east"].id
    assert first["created_by"] == users["li.na"].id
    values = await _values(client, admin, first["id"])
    assert values["assignee"] == users["wang.wei"].id
    responded = datetime.fromisoformat(values["first_response_at"].replace("Z", "+00:00"))
    assert abs(responded - created - timedelta(minutes=40)) < timedelta(seconds=1)
    # Auto-numbers are generated at the row's own creation time (a ticket of 85 days ago has
    # that day's number), the other rows at the install's.
    day = created.astimezone(ZoneInfo(settings.time_zone)).strftime("%Y%m%d")
    assert values["number"] == f"TK-{day}-0001"
    today = datetime.now(ZoneInfo(settings.time_zone)).strftime("%Y%m%d")
    assert (await _values(client, admin, loud["id"]))["number"].startswith(f"TK-{today}-")
    # The quiet row kept what it had; the _events row was routed by the rule.
    quiet_values = await _values(client, admin, quiet["id"])
    assert quiet_values["team"] is None and quiet_values["assignee"] is None
    loud_values = await _values(client, admin, loud["id"])
    assert loud_values["team"] == "finance"
    assert loud_values["assignee"] == users["zhao.min"].id  # the finance group's member
    returns = await client.get(
        "/api/v1/records/customer_center/return_request", headers=admin.headers
    )
    [request] = returns.json()["items"]
    assert request["values"]["lines"][0]["product"] == "墨盒"

    # Export: the org the definition refers to.
    exported = await client.get(f"/api/v1/templates/apps/{app_id}/export", headers=admin.headers)
    assert exported.status_code == 200, exported.text
    files = unzip(exported.content)
    assert "org" in json.loads(files["manifest.json"])["parts"]
    org = json.loads(files["org.json"])
    assert {g["key"] for g in org["groups"]} == {
        "first_line",
        "finance",
        "warehouse",
        "supervisors",
    }
    template, problems = from_files(files)
    assert problems == [] and template is not None and template.org is not None


async def test_no_demo_installs_the_org_only(client, admin, app, sessions, settings, tmp_path):
    path = demo_template.make(tmp_path / "cc", seed=_seed([_ticket(0)]))
    job = await _install(client, admin, app, sessions, settings, path, demo=False)
    assert job["result"]["ok"] is True and job["result"]["seed_rows"] == 0
    async with sessions() as db:
        assert (
            await db.execute(select(Group.id).where(Group.key == "warehouse"))
        ).scalar_one_or_none()
        assert (await db.execute(select(User.id).where(User.username == "li.na"))).first() is None
        assert (await db.execute(select(func.count()).select_from(DemoAccount))).scalar_one() == 0


async def test_problems_name_the_file_and_line(client, admin, app, sessions, settings, tmp_path):
    org = {
        "departments": [
            {"code": "a", "name": {"en": "A"}, "parent": "b"},
            {"code": "b", "name": {"en": "B"}, "parent": "a"},
            {"code": "a", "name": {"en": "A again"}},
            {"code": "bad code", "name": {"en": "X"}},
        ],
        "groups": demo_template.ORG["groups"],
    }
    users = [
        {**demo_template.USERS[0], "roles": ["wizard"]},
        demo_template.USERS[1],
        demo_template.USERS[1],
    ]
    tickets = [
        _ticket(0, _created_at="@yesterday"),
        _ticket(1, first_response_at="@now-3w"),
        _ticket(2, _events="yes"),
    ]
    path = demo_template.make(tmp_path / "bad", org=org, users=users, seed=_seed(tickets))
    _template, problems = from_files(read_source(path))
    found = {(p.file, p.path, p.code) for p in problems}
    assert {
        ("org.json", "departments[0].parent", "org_cycle"),
        ("org.json", "departments[2].code", "duplicate"),
        ("demo/users.json", "[0].roles[0]", "unknown_role"),
        ("demo/users.json", "[2].username", "duplicate"),
        ("seed/ticket.jsonl", "line 1._created_at", "bad_relative_time"),
        ("seed/ticket.jsonl", "line 2.first_response_at", "bad_relative_time"),
        ("seed/ticket.jsonl", "line 3._events", "bad_system_value"),
    } <= found, found
    assert any(p.file == "org.json" and p.path == "departments[3].code" for p in problems)

    # Names the template does not define must exist in the installation.
    tickets = [_ticket(0, _owner="nobody"), _ticket(1, _department="nowhere")]
    path = demo_template.make(tmp_path / "unknown", seed=_seed(tickets))
    data = write_zip(read_source(path))
    refused = await client.post(
        "/api/v1/templates/imports",
        files={"file": ("t.zip", data, "application/zip")},
        headers={**admin.headers, **ZH},
    )
    assert refused.status_code == 422, refused.text
    listed = {(p["file"], p["path"], p["code"]) for p in refused.json()["problems"]}
    assert listed == {
        ("seed/ticket.jsonl", "line 1._owner", "unknown_user"),
        ("seed/ticket.jsonl", "line 2._department", "unknown_department"),
    }
    assert "没有用户 'nobody'" in refused.json()["problems"][0]["message"]
    # Without demo data the seed rows do not matter.
    accepted = await client.post(
        "/api/v1/templates/imports",
        files={"file": ("t.zip", data, "application/zip")},
        data={"demo": "false"},
        headers=admin.headers,
    )
    assert accepted.status_code == 202, accepted.text
    await _all_jobs_done(app, sessions, settings)


async def test_system_values_are_not_for_requests(client, admin, app, sessions, settings, tmp_path):
    path = demo_template.make(tmp_path / "cc", seed=_seed([_ticket(0)]))
    job = await _install(client, admin, app, sessions, settings, path, demo=False)
    assert job["result"]["ok"] is True
    refused = await client.post(
        "/api/v1/records/customer_center/ticket",
        json={"values": {"subject": "x", "_created_at": "2020-01-01T00:00:00Z", "_owner": "li.na"}},
        headers=admin.headers,
    )
    assert refused.status_code == 422, refused.text
    codes = {(e["field"], e["code"]) for e in refused.json()["errors"]}
    assert codes == {("_created_at", "unknown_field"), ("_owner", "unknown_field")}
    # The writer takes system stamps only when it writes as the system.
    async with sessions() as db:
        form_id = (
            await db.execute(select(FormRecord.id).where(FormRecord.key == "ticket"))
        ).scalar_one()
        handle = await published_form(db, form_id)
        root = (await db.execute(select(User).where(User.id == admin.id))).scalar_one()
        writer = RecordWriter(db, handle, Principal(root, via="session"))
        with pytest.raises(ValueError, match="system"):
            await writer.create_many([{"subject": "x"}], system=[SystemStamp()])


async def test_an_upgrade_creates_the_groups_it_adds(
    client, admin, app, sessions, settings, tmp_path
):
    path = demo_template.make(tmp_path / "cc", seed={})
    job = await _install(client, admin, app, sessions, settings, path, demo=False)
    assert job["result"]["ok"] is True
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps({**manifest, "version": "1.1.0"}))
    org = {**demo_template.ORG, "groups": [*demo_template.ORG["groups"], _VIP]}
    (path / "org.json").write_text(json.dumps(org, ensure_ascii=False))
    grants = json.loads((path / "permissions.json").read_text())
    grants.append(
        {
            "id": "vip_customers",
            "grantee": {"kind": "group", "key": "vip_team"},
            "actions": ["read"],
            "scope": "all",
            "form": "customer",
        }
    )
    (path / "permissions.json").write_text(json.dumps(grants))
    started = await client.post(
        "/api/v1/templates/imports",
        files={"file": ("t.zip", write_zip(read_source(path)), "application/zip")},
        headers=admin.headers,
    )
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "upgrade"
    await _all_jobs_done(app, sessions, settings)
    shown = await client.get(f"/api/v1/jobs/{started.json()['job_id']}", headers=admin.headers)
    assert shown.json()["result"]["ok"] is True, shown.json()
    async with sessions() as db:
        vip = (await db.execute(select(Group).where(Group.key == "vip_team"))).scalar_one()
        assert vip.name == "VIP team"


_VIP = {"key": "vip_team", "name": {"zh-CN": "大客户组", "en": "VIP team"}}
