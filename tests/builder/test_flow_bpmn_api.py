"""A draft's flows out as BPMN and back in, through the apps API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.flows.conftest import REQUEST, chain, flow
from tests.runtime.records.conftest import publish_app

pytestmark = pytest.mark.asyncio
TICKET_BPMN = Path(__file__).parents[2] / "benchmarks" / "flows" / "ticket.bpmn"
XML = {"Content-Type": "application/xml"}


def review() -> dict:
    nodes = [
        {"id": "start", "type": "start"},
        {
            "id": "check",
            "type": "user_task",
            "name": {"en": "Check", "zh-CN": "审核"},
            "assignee": {"kind": "starter"},
            "fields": {"status": "editable"},
        },
        {"id": "end", "type": "end"},
    ]
    return flow("review", nodes, chain("start", "check", "end"))


async def _app(client, admin):
    under_test = await publish_app(
        client, admin, "bp", ["request"], lambda ids: [{**REQUEST, "id": ids["request"]}]
    )
    draft = await under_test.draft()
    saved = await client.put(
        f"{under_test.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "flows": [review()]},
        },
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    return under_test


async def test_export_then_import_into_the_draft(client, admin) -> None:
    app = await _app(client, admin)
    exported = await client.get(f"{app.base}/flows/review/bpmn", headers=admin.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/xml")
    assert b"bpmn:userTask" in exported.content and b"bpmndi:BPMNShape" in exported.content

    checked = await client.post(
        f"{app.base}/flows/bpmn", content=exported.content, headers={**admin.headers, **XML}
    )
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["ok"] and body["problems"] == [] and body["draft_row_version"] is None

    renamed = exported.content.replace(b'id="review"', b'id="review2"', 1)
    draft = await app.draft()
    saved = await client.post(
        f"{app.base}/flows/bpmn",
        params={"row_version": draft["row_version"]},
        content=renamed,
        headers={**admin.headers, **XML},
    )
    assert saved.status_code == 200, saved.text
    keys = [f["key"] for f in (await app.draft())["definition"]["flows"]]
    assert sorted(keys) == ["review", "review2"]
    assert (await app.publish()).status_code == 200

    assert (
        await client.get(f"{app.base}/flows/nope/bpmn", headers=admin.headers)
    ).status_code == 404


async def test_foreign_and_hostile_files_are_reported(client, admin, user) -> None:
    app = await _app(client, admin)
    spiff = await client.post(
        f"{app.base}/flows/bpmn", content=TICKET_BPMN.read_bytes(), headers={**admin.headers, **XML}
    )
    assert spiff.status_code == 200, spiff.text
    codes = {(p.get("element_id"), p["code"]) for p in spiff.json()["problems"]}
    assert ("classify", "unsupported_expression_language") in codes
    assert not spiff.json()["ok"]

    draft = await app.draft()
    refused = await client.post(
        f"{app.base}/flows/bpmn",
        params={"row_version": draft["row_version"]},
        content=TICKET_BPMN.read_bytes(),
        headers={**admin.headers, **XML},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "bpmn_invalid"
    assert any(e["field"] == "classify" for e in refused.json()["errors"])

    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    hostile = await client.post(
        f"{app.base}/flows/bpmn", content=xxe, headers={**admin.headers, **XML}
    )
    assert hostile.status_code == 200
    assert [p["code"] for p in hostile.json()["problems"]] == ["xml_forbidden"]
    assert b"root:" not in hostile.content

    wrong = await client.post(f"{app.base}/flows/bpmn", json={"x": 1}, headers=admin.headers)
    assert wrong.status_code == 415
    outsider = await client.get(f"{app.base}/flows/review/bpmn", headers=user.headers)
    assert outsider.status_code in (403, 404)
