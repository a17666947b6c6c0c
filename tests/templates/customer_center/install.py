"""Test-only: read templates/customer_center into an AppDefinition and install it through the
builder API (create the app, a form per template form for its stable id, put the draft with
relations pointed at those ids, publish). Not a template installer: that is ``templates/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from builder.apps.definition import AppDefinition
from engines.flow.bpmn.importer import from_bpmn

ROOT = Path(__file__).resolve().parents[3] / "templates" / "customer_center"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _groups() -> tuple[str, ...]:
    """The groups of the template's ``org.json`` (once generated), else the ones its rules
    and flows name."""
    org = ROOT / "org.json"
    if org.is_file():
        return tuple(group["key"] for group in _json(org).get("groups", []))
    return ("first_line", "finance", "warehouse", "supervisors")


#: User groups the rules and flows name (routing, escalation); they must exist to publish.
GROUPS = _groups()


def manifest() -> dict[str, Any]:
    return dict(_json(ROOT / "manifest.json"))


def flows() -> list[dict[str, Any]]:
    out = []
    for path in sorted((ROOT / "flows").glob("*.bpmn")):
        result = from_bpmn(path.read_text(encoding="utf-8"))
        assert result.flow is not None, (path.name, result.problems)
        out.append(result.flow.model_dump(mode="json", exclude_none=True))
    return out


def document() -> dict[str, Any]:
    """The definition as JSON, in the template's own form ids."""
    return {
        "forms": [_json(p) for p in sorted((ROOT / "forms").glob("*.json"))],
        "flows": flows(),
        "rules": [_json(p) for p in sorted((ROOT / "rules").glob("*.json"))],
        "sla": _json(ROOT / "sla" / "policies.json"),
        "calendars": _json(ROOT / "sla" / "calendars.json"),
        "dashboards": [_json(p) for p in sorted((ROOT / "dashboards").glob("*.json"))],
        "roles": _json(ROOT / "roles.json"),
        "permissions": _json(ROOT / "permissions.json"),
        "intake": _json(ROOT / "intake.json"),
    }


def definition() -> AppDefinition:
    return AppDefinition.model_validate(document())


def _remap(form: dict[str, Any], ids: dict[int, int]) -> dict[str, Any]:
    fields = []
    for spec in form["fields"]:
        options = spec.get("options") or {}
        if spec["type"] in ("relation", "multirelation"):
            spec = {**spec, "options": {**options, "form_id": ids[options["form_id"]]}}
        fields.append(spec)
    return {**form, "id": ids[form["id"]], "fields": fields}


async def install(client, admin, key: str = "customer_center") -> dict[str, Any]:
    """Install the template as app ``key``; the groups of :data:`GROUPS` must exist.
    Returns the app (``AppOut``) with ``form_ids`` (template id → installed id)."""
    doc = document()
    made = await client.post(
        "/api/v1/apps",
        json={"key": key, "name": manifest()["name"], "description": manifest()["description"]},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    app = made.json()
    base = f"/api/v1/apps/{app['id']}"
    draft = (await client.get(f"{base}/draft", headers=admin.headers)).json()
    ids: dict[int, int] = {}
    for form in doc["forms"]:
        added = await client.post(
            f"{base}/forms",
            json={"key": form["key"], "label": form["label"], "row_version": draft["row_version"]},
            headers=admin.headers,
        )
        assert added.status_code == 201, added.text
        draft = added.json()
        ids[form["id"]] = next(
            f["id"] for f in draft["definition"]["forms"] if f["key"] == form["key"]
        )
    definition = {**doc, "forms": [_remap(f, ids) for f in doc["forms"]]}
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
    return {**app, "form_ids": ids, "base": base}
