"""Draft previews for designers: a rule's test run and a widget's result over the published
tables, flow and form checks — nothing written — on both databases."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.flows.conftest import REQUEST, chain, flow
from tests.runtime.records.conftest import publish_app
from tests.runtime.rules.conftest import Desk

ZH = {"Accept-Language": "zh-CN"}
XML = {"Content-Type": "application/xml"}
BROKEN_BPMN = Path(__file__).parents[1] / "engines" / "flow" / "data" / "broken_refs.bpmn"


def vip_rule(key: str = "vip_high", **changes) -> dict:
    return {
        "key": key,
        "form": "ticket",
        "trigger": {"on": "created"},
        "condition": {"in": ["vip", {"var": "record.subject"}]},
        "actions": [{"type": "set_fields", "values": {"priority": "high"}}],
        **changes,
    }


async def _save_draft(desk: Desk, **parts) -> None:
    draft = await desk.app.draft()
    saved = await desk.client.put(
        f"{desk.app.base}/draft",
        json={"row_version": draft["row_version"], "definition": {**draft["definition"], **parts}},
        headers=desk.admin.headers,
    )
    assert saved.status_code == 200, saved.text


async def test_a_draft_rule_runs_dry_on_a_published_record(desk: Desk):
    await _save_draft(desk, rules=[vip_rule()])  # in the draft only: it never fires
    ticket = await desk.ticket(subject="vip customer")
    assert (await desk.get(ticket["id"]))["values"].get("priority") is None
    url = f"{desk.app.base}/draft/rules/test"

    tried = await desk.client.post(
        url, json={"rule_key": "vip_high", "record_id": ticket["id"]}, headers=desk.admin.headers
    )
    assert tried.status_code == 200, tried.text
    body = tried.json()
    assert body["fires"] is True and body["status"] == "done"
    assert body["changes"] == {"priority": [None, "high"]}
    after = await desk.get(ticket["id"])
    assert after["values"].get("priority") is None and after["row_version"] == ticket["row_version"]
    assert await desk.runs() == []

    edited = vip_rule(condition={"in": ["gold", {"var": "record.subject"}]})
    other = await desk.client.post(
        url, json={"rule": edited, "record_id": ticket["id"]}, headers=desk.admin.headers
    )
    assert other.status_code == 200, other.text
    assert other.json()["fires"] is False and other.json()["condition"] is False

    ghost = vip_rule(actions=[{"type": "set_fields", "values": {"ghost": 1}}])
    bad = await desk.client.post(
        url, json={"rule": ghost, "record_id": ticket["id"]}, headers={**desk.admin.headers, **ZH}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "rule_invalid"
    assert bad.json()["title"] == "该规则存在问题，无法测试。"
    assert ("rule.actions[0].values.ghost", "unknown_field") in {
        (e["field"], e["code"]) for e in bad.json()["errors"]
    }
    shapeless = await desk.client.post(
        url, json={"rule": {"key": "x"}, "record_id": 1}, headers=desk.admin.headers
    )
    assert shapeless.status_code == 422 and shapeless.json()["code"] == "rule_invalid"
    assert "rule.form" in {e["field"] for e in shapeless.json()["errors"]}
    both = await desk.client.post(
        url,
        json={"rule": vip_rule(), "rule_key": "vip_high", "record_id": 1},
        headers=desk.admin.headers,
    )
    assert both.status_code == 422 and both.json()["code"] == "validation_failed"
    unknown = await desk.client.post(
        url, json={"rule_key": "nope", "record_id": 1}, headers=desk.admin.headers
    )
    assert unknown.status_code == 404
    elsewhere = await desk.client.post(
        url,
        json={"rule": vip_rule(form="survey"), "record_id": 1},
        headers=desk.admin.headers,
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "form_not_published"
    missing = await desk.client.post(
        url, json={"rule_key": "vip_high", "record_id": 999}, headers=desk.admin.headers
    )
    assert missing.status_code == 404
    user = desk.people["ann"]
    assert (
        await desk.client.post(
            url, json={"rule_key": "vip_high", "record_id": 1}, headers=user.headers
        )
    ).status_code == 403


def by_status(**changes) -> dict:
    return {
        "key": "by_status",
        "chart": "bar",
        "form": "ticket",
        "measures": [{"key": "n", "agg": "count"}],
        "dimensions": [{"key": "status", "field": "status"}],
        **changes,
    }


async def test_a_draft_widget_runs_over_the_published_tables(desk: Desk):
    for status in ("new", "new", "open"):
        await desk.ticket(status=status)
    url = f"{desk.app.base}/draft/widgets/preview"
    shown = await desk.client.post(url, json={"widget": by_status()}, headers=desk.admin.headers)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["widget"] == "by_status" and body["ok"] is True and body["cached"] is False
    rows = {(r["status"], r["n"]) for r in body["result"]["rows"]}
    assert rows == {("new", 2), ("open", 1)}

    board = {
        "key": "ops",
        "widgets": [by_status()],
        "filters": [{"key": "state", "kind": "equals", "field": "status"}],
    }
    await _save_draft(desk, dashboards=[board])
    filtered = await desk.client.post(
        url,
        json={"dashboard": "ops", "widget_key": "by_status", "filters": {"state": "open"}},
        headers=desk.admin.headers,
    )
    assert filtered.status_code == 200, filtered.text
    assert [(r["status"], r["n"]) for r in filtered.json()["result"]["rows"]] == [("open", 1)]

    broken = await desk.client.post(
        url,
        json={"widget": by_status(dimensions=[{"key": "d", "field": "nosuch"}])},
        headers=desk.admin.headers,
    )
    assert broken.status_code == 422 and broken.json()["code"] == "widget_invalid"
    shapeless = await desk.client.post(
        url, json={"widget": {"key": "w"}}, headers=desk.admin.headers
    )
    assert shapeless.status_code == 422
    assert "widget.chart" in {e["field"] for e in shapeless.json()["errors"]}

    draft = await desk.app.draft()
    added = await desk.client.post(
        f"{desk.app.base}/forms",
        json={"key": "survey", "label": {"en": "Survey"}, "row_version": draft["row_version"]},
        headers=desk.admin.headers,
    )
    assert added.status_code == 201
    unpublished = await desk.client.post(
        url,
        json={"widget": by_status(form="survey", dimensions=[])},
        headers={**desk.admin.headers, **ZH},
    )
    assert unpublished.status_code == 422 and unpublished.json()["code"] == "form_not_published"
    assert unpublished.json()["title"] == "表单 'survey' 尚未发布，请先发布。"
    no_board = await desk.client.post(
        url, json={"dashboard": "nope", "widget_key": "x"}, headers=desk.admin.headers
    )
    assert no_board.status_code == 404 and no_board.json()["code"] == "dashboard_not_found"


async def _flow_app(client, admin):
    return await publish_app(
        client, admin, "bp", ["request"], lambda ids: [{**REQUEST, "id": ids["request"]}]
    )


def review(*extra_nodes: dict, assignee: dict | None = None) -> dict:
    nodes = [
        {"id": "start", "type": "start"},
        {
            "id": "check",
            "type": "user_task",
            "name": {"en": "Check"},
            "assignee": assignee or {"kind": "starter"},
        },
        {"id": "end", "type": "end"},
        *extra_nodes,
    ]
    return flow("review", nodes, chain("start", "check", "end"))


async def test_flow_checks_name_nodes_and_edges(client, admin):
    app = await _flow_app(client, admin)
    url = f"{app.base}/draft/flows/check"
    fine = await client.post(url, json={"flow": review()}, headers=admin.headers)
    assert fine.status_code == 200, fine.text
    assert fine.json()["ok"] is True and fine.json()["problems"] == []

    island = {"id": "island", "type": "user_task", "assignee": {"kind": "field", "key": "ghost"}}
    bad = await client.post(url, json={"flow": review(island)}, headers=admin.headers)
    body = bad.json()
    assert bad.status_code == 200 and body["ok"] is False
    about = {(p["element_type"], p.get("element_id"), p["code"]) for p in body["problems"]}
    assert ("node", "island", "unreachable") in about
    assert any(
        p["element_id"] == "island" and p["path"].endswith("assignee.key") for p in body["problems"]
    ), body["problems"]

    shapeless = review()
    shapeless["nodes"][1] = {"id": "check", "type": "user_task", "assignee": {"kind": "nobody"}}
    model = (await client.post(url, json={"flow": shapeless}, headers=admin.headers)).json()
    assert model["ok"] is False
    assert {p["element_id"] for p in model["problems"]} == {"check"}
    assert all(p["path"].startswith("nodes[1]") for p in model["problems"])

    draft = await app.draft()
    saved = await client.put(
        f"{app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "flows": [review()]},
        },
        headers=admin.headers,
    )
    assert saved.status_code == 200
    exported = await client.get(f"{app.base}/flows/review/bpmn", headers=admin.headers)
    xml = await client.post(url, content=exported.content, headers={**admin.headers, **XML})
    assert xml.status_code == 200, xml.text
    assert xml.json()["ok"] is True and xml.json()["flow"]["key"] == "review"
    broken = await client.post(
        url, content=BROKEN_BPMN.read_bytes(), headers={**admin.headers, **XML}
    )
    assert broken.status_code == 200 and broken.json()["ok"] is False
    assert all("element_type" in p for p in broken.json()["problems"])
    assert any(p.get("element_id") for p in broken.json()["problems"])
    text = await client.post(
        url, content=b"hello", headers={**admin.headers, "Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    not_an_object = await client.post(url, json={"flow": [1]}, headers=admin.headers)
    assert not_an_object.status_code == 422


async def test_flow_check_problems_speak_the_callers_language(client, admin):
    app = await _flow_app(client, admin)
    url = f"{app.base}/draft/flows/check"
    timer = {"duration": "PT8H", "business_hours": True, "calendar": "nowhere"}
    late = {"id": "late", "type": "boundary_timer", "attached_to": "check", "timer": timer}
    bodies = {}
    for language in ("en", "zh-CN"):
        headers = {**admin.headers, "Accept-Language": language}
        answer = await client.post(url, json={"flow": review(late)}, headers=headers)
        assert answer.status_code == 200, answer.text
        bodies[language] = answer.json()["problems"]
    assert [p["code"] for p in bodies["en"]] == [p["code"] for p in bodies["zh-CN"]]
    calendar = [p for p in bodies["zh-CN"] if p["code"] == "unknown_calendar"]
    assert calendar == [
        {
            "path": "flows[review].nodes[late].timer.calendar",
            "code": "unknown_calendar",
            "message": "没有工作日历 'nowhere'（定时器 'late' 按它计算工作时间）",
            "element_type": "node",
            "element_id": "late",
            "params": {"calendar": "nowhere", "node": "late"},
            "bpmn_type": None,
            "line": None,
            "column": None,
        }
    ]
    english = {p["code"]: p["message"] for p in bodies["en"]}
    assert english["unknown_calendar"].startswith("no calendar 'nowhere'")
    assert english["no_way_out"] == "no path leads from here to an end"
    # The draft's own calendars are known.
    draft = await app.draft()
    calendars = [{"key": "nowhere", "timezone": "UTC", "weekly": {"0": [["09:00", "17:00"]]}}]
    saved = await client.put(
        f"{app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "calendars": calendars},
        },
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    again = (await client.post(url, json={"flow": review(late)}, headers=admin.headers)).json()
    assert "unknown_calendar" not in {p["code"] for p in again["problems"]}


async def test_form_checks_give_paths_and_field_keys(client, admin):
    app = await _flow_app(client, admin)
    url = f"{app.base}/draft/forms/check"
    form_id = app.ids["request"]
    fine = await client.post(url, json={"form": {**REQUEST, "id": form_id}}, headers=admin.headers)
    assert fine.status_code == 200 and fine.json() == {"ok": True, "problems": []}

    fields = [
        {"id": 1, "key": "title", "type": "wormhole", "label": {"en": "Title"}},
        {
            "id": 2,
            "key": "parent",
            "type": "relation",
            "label": {"en": "Parent"},
            "options": {"form_id": 9999},
        },
    ]
    bad = await client.post(
        url,
        json={"form": {"id": 9998, "key": "request", "label": {"en": "R"}, "fields": fields}},
        headers=admin.headers,
    )
    problems = {(p["path"], p["code"], p.get("field")) for p in bad.json()["problems"]}
    assert bad.json()["ok"] is False
    assert ("form.fields[0].type", "unknown_type", "title") in problems
    assert ("form.fields[1].options.form_id", "unknown_form", "parent") in problems
    assert ("form.key", "already_exists", None) in problems

    shapeless = await client.post(
        url,
        json={
            "form": {"id": form_id, "key": "request", "label": {"en": "R"}, "fields": [{"id": 1}]}
        },
        headers={**admin.headers, **ZH},
    )
    paths = {(p["path"], p["message"]) for p in shapeless.json()["problems"]}
    assert ("form.fields[0].key", "此字段为必填项。") in paths


async def test_form_check_messages_are_in_the_callers_language(client, admin):
    app = await _flow_app(client, admin)
    url = f"{app.base}/draft/forms/check"
    fields = [
        {"id": 1, "key": "owner", "type": "text", "label": {"en": "Owner"}},
        {
            "id": 2,
            "key": "parent",
            "type": "relation",
            "label": {"en": "Parent"},
            "options": {"form_id": 9999},
        },
    ]
    reserved = {"id": 9998, "key": "trial", "label": {"en": "T"}, "fields": fields[:1]}
    zh = await client.post(url, json={"form": reserved}, headers={**admin.headers, **ZH})
    problem = zh.json()["problems"][0]
    assert problem["path"] == "form.fields[0].key" and problem["code"] == "value_error"
    assert problem["message"] == "“owner”是系统列的保留名称，请换一个键。"
    assert "reserved for a system column" in problem["detail"]
    en = await client.post(url, json={"form": reserved}, headers=admin.headers)
    assert en.json()["problems"][0]["message"].startswith("“owner” is reserved")

    dangling = {"id": 9998, "key": "trial", "label": {"en": "T"}, "fields": fields[1:]}
    zh = await client.post(url, json={"form": dangling}, headers={**admin.headers, **ZH})
    by_code = {p["code"]: p for p in zh.json()["problems"]}
    assert by_code["unknown_form"]["message"] == "关联的表单不属于此应用。"
    assert by_code["unknown_form"]["field"] == "parent"
    assert by_code["unknown_form"]["detail"] == "no form with id 9999 in this app"
