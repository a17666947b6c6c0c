"""Templates through the API: export → import into a fresh installation reproduces the app;
a broken template reports every problem at once and writes nothing; unsafe and oversize
archives are refused; upgrades keep local changes, take upstream ones and list conflicts —
on both databases."""

from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import func, select

from builder.apps.models import App
from templates.models import TemplateInstall
from tests.conftest import ADMIN_PASSWORD, _empty_tables, clear_caches, make_account
from tests.templates.conftest import finish_job, publish_sample, upload

ZH = {"Accept-Language": "zh-CN"}


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _comparable(definition: dict) -> dict:
    """A definition with form ids replaced by keys (ids differ between installations)."""
    ids = {f["id"]: f["key"] for f in definition["forms"]}
    text = json.dumps(definition, sort_keys=True)
    forms = []
    for form in json.loads(text)["forms"]:
        form["id"] = form["key"]
        for spec in form["fields"]:
            if "form_id" in (spec.get("options") or {}):
                spec["options"]["form_id"] = ids[spec["options"]["form_id"]]
        forms.append(form)
    return {**json.loads(text), "forms": forms}


async def _count_apps(sessions) -> int:
    async with sessions() as db:
        return (await db.execute(select(func.count()).select_from(App))).scalar_one()


async def test_round_trip_into_a_fresh_installation(client, admin, app, sessions, settings, desk):
    exported = await client.get(
        f"/api/v1/templates/apps/{desk.app_id}/export",
        params={"with_data": "true"},
        headers=admin.headers,
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "application/zip"
    assert 'filename="desk-1.0.0.zip"' in exported.headers["content-disposition"]
    files = unzip(exported.content)
    assert {
        "manifest.json",
        "forms/customer.json",
        "forms/ticket.json",
        "flows/triage.bpmn",
        "rules/urgent_escalates.json",
        "sla/policies.json",
        "sla/calendars.json",
        "dashboards/ops.json",
        "roles.json",
        "permissions.json",
        "locales/zh-CN.json",
        "locales/en.json",
        "seed/customer.jsonl",
        "seed/ticket.jsonl",
    } <= set(files)
    manifest = json.loads(files["manifest.json"])
    assert manifest["key"] == "desk" and manifest["version"] == "1.0.0"
    assert manifest["locales"] == ["zh-CN", "en"]
    # Labels live in the translations, not in the parts.
    assert "label" not in json.loads(files["forms/ticket.json"])
    zh = json.loads(files["locales/zh-CN.json"])
    assert zh["forms/ticket.json"]["label"] == "工单"
    assert zh["forms/customer.json"]["fields[level].options.options[gold].label"] == "金牌"
    assert b"tangram:" in files["flows/triage.bpmn"]
    before = (await client.get(f"{desk.app.base}/draft", headers=admin.headers)).json()

    # A fresh installation: every table emptied, a new administrator.
    await _empty_tables(settings.database_url)
    clear_caches()
    fresh = await make_account(client, sessions, "root", ADMIN_PASSWORD, admin=True)
    started = await upload(client, fresh, exported.content)
    assert started.status_code == 202, started.text
    assert started.json()["kind"] == "install"
    job = await finish_job(app, sessions, settings, client, fresh, started.json()["job_id"])
    assert job["progress_percent"] == 100.0, job
    assert job["result"]["ok"] is True, job["result"]
    assert job["result"]["seed_rows"] == 5
    assert job["progress_message"] == "Installed desk 1.0.0"
    app_id = job["result"]["app"]["id"]

    after = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=fresh.headers)).json()
    assert _comparable(after["definition"]) == _comparable(before["definition"])
    shown = (await client.get(f"/api/v1/apps/{app_id}", headers=fresh.headers)).json()
    assert shown["published_version_id"] is not None and shown["name"] == {"en": "desk"}
    customers = (await client.get("/api/v1/records/desk/customer", headers=fresh.headers)).json()
    tickets = (await client.get("/api/v1/records/desk/ticket", headers=fresh.headers)).json()
    names = {
        c["id"]: c["values"]["name"] if "values" in c else c["name"] for c in customers["items"]
    }
    assert sorted(names.values()) == ["ACME 阿克米", "Globex"]
    by_subject = {
        (t.get("values") or t)["subject"]: names[(t.get("values") or t)["customer"]]
        for t in tickets["items"]
    }
    assert by_subject == {"打印机坏了": "ACME 阿克米", "VPN": "Globex", "Invoice": "ACME 阿克米"}
    installed = await client.get(f"/api/v1/templates/apps/{app_id}", headers=fresh.headers)
    assert installed.json()["template"] == "desk" and installed.json()["version"] == "1.0.0"


async def test_a_broken_template_reports_every_problem_and_writes_nothing(
    client, admin, sessions, desk
):
    exported = await client.get(
        f"/api/v1/templates/apps/{desk.app_id}/export",
        params={"with_data": "true"},
        headers=admin.headers,
    )
    files = unzip(exported.content)
    manifest = json.loads(files["manifest.json"])
    files["manifest.json"] = json.dumps(
        {**manifest, "key": "desk2", "min_platform": "99.0.0"}
    ).encode()
    ticket = json.loads(files["forms/ticket.json"])
    ticket["fields"][1]["type"] = "no_such_type"
    files["forms/ticket.json"] = json.dumps(ticket).encode()
    rule = json.loads(files["rules/urgent_escalates.json"])
    rule["actions"][0]["values"] = {"ghost": 1}
    files["rules/urgent_escalates.json"] = json.dumps(rule).encode()
    files["flows/triage.bpmn"] = files["flows/triage.bpmn"].replace(
        b"</bpmn:process>", b"<bpmn:process>"
    )
    files["dashboards/ops.json"] = b"{not json"
    files["notes.txt"] = b"hello"
    files["seed/customer.jsonl"] += b'{"_id": 9, "level": "platinum"}\n'
    apps_before = await _count_apps(sessions)

    refused = await client.post(
        "/api/v1/templates/imports",
        files={"file": ("t.zip", rezip(files), "application/zip")},
        headers={**admin.headers, **ZH},
    )
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert (
        body["code"] == "template_invalid" and body["title"] == "模板存在问题，因此未安装任何内容。"
    )
    where = {(p["file"], p["code"]) for p in body["problems"]}
    assert ("manifest.json", "platform_too_old") in where
    ticket_problem = next(p for p in body["problems"] if p["file"] == "forms/ticket.json")
    assert ticket_problem["path"].startswith("fields[1]"), ticket_problem
    assert any(f == "flows/triage.bpmn" for f, _ in where)
    assert ("dashboards/ops.json", "malformed_json") in where
    assert ("notes.txt", "unknown_file") in where
    seed = sorted((p["path"], p["code"]) for p in body["problems"] if p["file"].startswith("seed/"))
    assert seed == [("line 3.level", "not_an_option"), ("line 3.name", "required")]
    assert {e["field"].split("#")[0] for e in body["errors"]} >= {
        "manifest.json",
        "forms/ticket.json",
        "flows/triage.bpmn",
        "dashboards/ops.json",
    }
    platform = next(p for p in body["problems"] if p["code"] == "platform_too_old")
    assert platform["path"] == "min_platform" and "99.0.0" in platform["message"]
    assert await _count_apps(sessions) == apps_before

    # The same through the check endpoint, and a rule problem named in its file once the
    # other files are fine.
    good = unzip(exported.content)
    good["manifest.json"] = json.dumps({**manifest, "key": "desk2"}).encode()
    good["rules/urgent_escalates.json"] = json.dumps(rule).encode()
    checked = await upload(client, admin, rezip(good), path="validate")
    assert checked.status_code == 422
    [found] = checked.json()["problems"]
    assert found["file"] == "rules/urgent_escalates.json"
    assert found["path"] == "actions[0].values.ghost" and found["code"] == "unknown_field"
    assert await _count_apps(sessions) == apps_before

    # Checked against this installation: the key is taken, a grant names an unknown group.
    permissions = json.loads(good["permissions.json"])
    permissions[0]["grantee"] = {"kind": "group", "key": "ghosts"}
    good["permissions.json"] = json.dumps(permissions).encode()
    good["rules/urgent_escalates.json"] = unzip(exported.content)["rules/urgent_escalates.json"]
    good["manifest.json"] = json.dumps({**manifest, "key": "desk"}).encode()
    here = await upload(client, admin, rezip(good), key="desk")
    assert here.status_code == 422, here.text
    assert {(p["file"], p["path"], p["code"]) for p in here.json()["problems"]} == {
        ("manifest.json", "key", "app_exists"),
        ("permissions.json", "[0].grantee.key", "unknown_group"),
    }
    assert await _count_apps(sessions) == apps_before


async def test_unsafe_and_oversize_archives_are_refused(client, admin, sessions, settings, desk):
    exported = await client.get(
        f"/api/v1/templates/apps/{desk.app_id}/export", headers=admin.headers
    )
    files = unzip(exported.content)
    for name in ("../evil.json", "/etc/passwd", "forms/..\\..\\x.json"):
        refused = await upload(client, admin, rezip({**files, name: b"{}"}))
        assert refused.status_code == 422, name
        [found] = refused.json()["problems"]
        assert found["code"] == "unsafe_path", name
    bomb = rezip({**files, "seed/ticket.jsonl": b" " * (65 * 1024 * 1024)})
    refused = await upload(client, admin, bomb)
    assert refused.status_code == 422 and refused.json()["problems"][0]["code"] == "too_large"
    not_zip = await upload(client, admin, b"hello")
    assert not_zip.status_code == 422
    assert not_zip.json()["problems"][0]["code"] == "not_a_template"
    assert not (settings.var_dir / "templates").exists() or not any(
        (settings.var_dir / "templates").iterdir()
    )


async def _upgrade_template(client, admin, vendor_id: int, version: str) -> bytes:
    exported = await client.get(
        f"/api/v1/templates/apps/{vendor_id}/export",
        params={"version": version},
        headers=admin.headers,
    )
    assert exported.status_code == 200, exported.text
    return exported.content


async def _edit(client, admin, base: str, change) -> None:
    draft = (await client.get(f"{base}/draft", headers=admin.headers)).json()
    definition = draft["definition"]
    change(definition)
    saved = await client.put(
        f"{base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await client.post(
        f"{base}/publish", json={"row_version": saved.json()["row_version"]}, headers=admin.headers
    )
    assert published.status_code == 200, published.text


def _form(definition: dict, key: str) -> dict:
    return next(f for f in definition["forms"] if f["key"] == key)


async def test_upgrade_keeps_local_changes_takes_upstream_ones_and_lists_conflicts(
    client, admin, app, sessions, settings
):
    vendor = await publish_sample(client, admin, "vendor")
    v1 = await _upgrade_template(client, admin, vendor.app_id, "1.0.0")
    started = await upload(client, admin, v1, key="customer_desk")
    job = await finish_job(app, sessions, settings, client, admin, started.json()["job_id"])
    assert job["result"]["ok"] is True, job
    installed_id = job["result"]["app"]["id"]
    # The vendor's own app is not from a template; the installed one is.
    async with sessions() as db:
        rows = (await db.execute(select(TemplateInstall))).scalars().all()
        assert [(r.app_id, r.template_key, r.version) for r in rows] == [
            (installed_id, "vendor", "1.0.0")
        ]
    record = await client.post(
        "/api/v1/records/customer_desk/ticket",
        json={"values": {"subject": "kept", "priority": "high", "status": "new"}},
        headers=admin.headers,
    )
    assert record.status_code == 201, record.text

    # Locally: a new role, a renamed dashboard, the flow's name changed.
    local = f"/api/v1/apps/{installed_id}"

    def local_change(definition: dict) -> None:
        definition["roles"].append({"key": "auditor", "name": {"en": "Auditor"}})
        definition["dashboards"][0]["title"] = {"en": "Our ops", "zh-CN": "我们的运营"}
        definition["flows"][0]["name"] = {"en": "Local triage"}

    await _edit(client, admin, local, local_change)

    # Upstream: a new field on tickets, a new rule name, and the flow's name changed too.
    def upstream_change(definition: dict) -> None:
        ticket = _form(definition, "ticket")
        ticket["fields"].append(
            {"id": 7, "key": "channel", "type": "text", "label": {"en": "Channel", "zh-CN": "渠道"}}
        )
        definition["rules"][0]["name"] = {"en": "Urgent ones escalate", "zh-CN": "紧急工单升级"}
        definition["flows"][0]["name"] = {"en": "Vendor triage"}

    await _edit(client, admin, vendor.app.base, upstream_change)
    v2 = await _upgrade_template(client, admin, vendor.app_id, "1.1.0")
    planned = await upload(client, admin, v2)
    assert planned.status_code == 200, planned.text
    upgrade = planned.json()["upgrade"]
    assert planned.json()["kind"] == "upgrade" and planned.json()["job_id"] is None
    assert upgrade["from_version"] == "1.0.0" and upgrade["to_version"] == "1.1.0"
    [conflict] = upgrade["conflicts"]
    assert (conflict["part"], conflict["element"], conflict["paths"]) == (
        "flows",
        "triage",
        ["name"],
    )
    assert conflict["base"]["name"] == {"en": "Triage", "zh-CN": "分诊"}
    assert conflict["local"]["name"] == {"en": "Local triage"}
    assert conflict["theirs"]["name"] == {"en": "Vendor triage"}
    assert conflict["choice"] is None

    early = await client.post(
        f"/api/v1/templates/apps/{installed_id}/upgrade/apply", headers=admin.headers
    )
    assert early.status_code == 409 and early.json()["code"] == "upgrade_unresolved"
    decided = await client.put(
        f"/api/v1/templates/apps/{installed_id}/upgrade/conflicts/0",
        json={"choice": "theirs"},
        headers=admin.headers,
    )
    assert decided.status_code == 200 and decided.json()["unresolved"] == 0
    bad = await client.put(
        f"/api/v1/templates/apps/{installed_id}/upgrade/conflicts/0",
        json={"choice": "mine"},
        headers=admin.headers,
    )
    assert bad.status_code == 422
    applied = await client.post(
        f"/api/v1/templates/apps/{installed_id}/upgrade/apply", headers={**admin.headers, **ZH}
    )
    assert applied.status_code == 202, applied.text
    job = await finish_job(app, sessions, settings, client, admin, applied.json()["job_id"])
    assert job["result"]["ok"] is True, job["result"]
    assert job["progress_message"] == "已升级到 1.1.0"
    assert [op["op"] for op in job["result"]["operations"]] == ["add_column"]

    definition = (await client.get(f"{local}/draft", headers=admin.headers)).json()["definition"]
    assert "auditor" in [r["key"] for r in definition["roles"]]  # local addition kept
    assert definition["dashboards"][0]["title"]["en"] == "Our ops"  # local change kept
    assert "channel" in [f["key"] for f in _form(definition, "ticket")["fields"]]  # upstream
    assert definition["rules"][0]["name"]["zh-CN"] == "紧急工单升级"  # upstream
    assert definition["flows"][0]["name"] == {"en": "Vendor triage"}  # the decision
    records = (
        await client.get("/api/v1/records/customer_desk/ticket", headers=admin.headers)
    ).json()
    assert [(r.get("values") or r)["subject"] for r in records["items"]] == ["kept"]
    shown = (
        await client.get(f"/api/v1/templates/apps/{installed_id}", headers=admin.headers)
    ).json()
    assert shown["version"] == "1.1.0" and shown["upgrade_pending"] is False

    # The same version again is not an upgrade.
    again = await upload(client, admin, v2)
    assert again.status_code == 422 and again.json()["problems"][0]["code"] == "not_newer"
