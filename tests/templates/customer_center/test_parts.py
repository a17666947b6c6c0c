"""Every part of the Customer Center template validates on its own and as a whole app, the
BPMN files round-trip through the flow engine's importer and exporter, and the template
publishes through the builder API (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from builder.apps.service import validate_definition
from engines.flow.bpmn.exporter import to_bpmn
from engines.flow.bpmn.importer import from_bpmn
from engines.form.check import check_form
from engines.form.schema import FormSchema
from engines.report.spec import parse_dashboard
from engines.rules.calendar import parse_calendar
from engines.rules.sla import SlaPolicy
from engines.rules.spec import Rule
from tests.templates.customer_center import install as template
from tests.templates.customer_center.install import GROUPS, ROOT

FORMS = {
    "customer",
    "ticket",
    "communication",
    "article",
    "return_request",
    "survey",
    "kb_category",
    "deflection",
}


def _json(name: str):
    return json.loads((ROOT / name).read_text(encoding="utf-8"))


def test_manifest():
    manifest = template.manifest()
    assert manifest["key"] == "customer_center"
    assert manifest["name"] == {"zh-CN": "客户中心", "en": "Customer Center"}
    assert manifest["version"] == "1.0.0" and manifest["locales"] == ["zh-CN", "en"]
    assert set(manifest["description"]) == {"zh-CN", "en"}


def test_every_part_validates_alone():
    forms = [FormSchema.model_validate(_json(f"forms/{k}.json")) for k in sorted(FORMS)]
    assert {f.key for f in forms} == FORMS
    for form in forms:
        assert check_form(form) == [], form.key
    for path in sorted((ROOT / "rules").glob("*.json")):
        assert Rule.model_validate(_json(f"rules/{path.name}")).key == path.stem
    for policy in _json("sla/policies.json"):
        assert set(SlaPolicy.model_validate(policy).targets) >= {"urgent", "high", "normal", "low"}
    [calendar] = [parse_calendar(c) for c in _json("sla/calendars.json")]
    assert calendar.timezone == "Asia/Shanghai"
    for path in sorted((ROOT / "dashboards").glob("*.json")):
        assert parse_dashboard(_json(f"dashboards/{path.name}")).key == path.stem


def test_labels_in_both_languages():
    definition = template.definition()
    for form in definition.forms:
        assert set(form.label) == {"zh-CN", "en"}, form.key
        for spec in form.fields:
            assert set(spec.label) == {"zh-CN", "en"}, (form.key, spec.key)
    for part in (definition.flows, definition.rules, definition.dashboards, definition.roles):
        for item in part:
            assert set(item.name if hasattr(item, "name") else item.title) == {"zh-CN", "en"}


def test_the_whole_app_validates():
    definition = template.definition()
    assert validate_definition(definition) == []  # forms, relations, flows, rules, SLA …


def test_bpmn_files_round_trip():
    for path in sorted((ROOT / "flows").glob("*.bpmn")):
        text = path.read_text(encoding="utf-8")
        imported = from_bpmn(text)
        assert imported.problems == [] and imported.flow is not None, imported.problems
        assert imported.flow.key == path.stem
        assert to_bpmn(imported.flow) == text  # exported by the engine: the file is canonical
        again = from_bpmn(to_bpmn(imported.flow)).flow
        assert again == imported.flow


def test_cn_9x5_keeps_holidays_and_make_up_days():
    [data] = _json("sla/calendars.json")
    calendar = parse_calendar(data)
    from datetime import date

    assert calendar.is_holiday(date(2026, 10, 1))  # National Day
    assert calendar.is_working_day(date(2026, 10, 10))  # Saturday make-up workday
    assert not calendar.is_working_day(date(2026, 10, 3))


async def test_publishes_through_the_builder_api(client, admin):
    for key in GROUPS:
        made = await client.post(
            "/api/v1/groups", json={"key": key, "name": key}, headers=admin.headers
        )
        assert made.status_code == 201, made.text
    app = await template.install(client, admin)
    versions = await client.get(f"{app['base']}/versions", headers=admin.headers)
    assert versions.status_code == 200 and [v["number"] for v in versions.json()] == [1]
    forms = (await client.get(f"{app['base']}/draft", headers=admin.headers)).json()
    assert {f["key"] for f in forms["definition"]["forms"]} == FORMS
