"""Bad flows are refused when the app is published (422 ``definition_invalid``, one error per
problem, each naming the flow and node), and a loop that never waits fails its instance."""

from __future__ import annotations

from typing import Any

import pytest

from tests.runtime.flows.conftest import FlowApp, chain, flow, org, publish_flows

pytestmark = pytest.mark.asyncio


def task(node_id: str, assignee: dict[str, Any], **extra: Any) -> dict:
    return {"id": node_id, "type": "user_task", "assignee": assignee, **extra}


def linear(key: str, *middle: dict, **extra: Any) -> dict:
    nodes = [{"id": "start", "type": "start"}, *middle, {"id": "end", "type": "end"}]
    return flow(key, nodes, chain("start", *(n["id"] for n in middle), "end"), **extra)


@pytest.fixture
async def empty(client, admin) -> FlowApp:
    """A published app without flows, whose draft the tests fill with bad ones."""
    return await publish_flows(client, admin, [])


async def refused(app: FlowApp, flows: list[dict]) -> dict[str, str]:
    """Save ``flows`` in the draft (accepted) and publish: the errors as ``{field: code}``."""
    draft = await app.app.draft()
    saved = await app.client.put(
        f"{app.app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "flows": flows},
        },
        headers=app.admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await app.app.publish()
    assert published.status_code == 422, published.text
    body = published.json()
    assert body["code"] == "definition_invalid"
    return {e["field"]: e["code"] for e in body["errors"]}


async def test_unreachable_node(empty: FlowApp) -> None:
    lost = flow(
        "lost",
        [
            {"id": "start", "type": "start"},
            {"id": "orphan", "type": "user_task", "assignee": {"kind": "starter"}},
            {"id": "end", "type": "end"},
        ],
        [*chain("start", "end"), *chain("orphan", "end")],
    )
    assert await refused(empty, [lost]) == {"flows[lost].nodes[orphan]": "unreachable"}


async def test_gateway_whose_conditions_can_all_be_false(empty: FlowApp) -> None:
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "size", "type": "exclusive_gateway"},
        {"id": "big", "type": "end"},
        {"id": "small", "type": "end"},
    ]
    edges = [
        *chain("start", "size"),
        {
            "id": "to_big",
            "source": "size",
            "target": "big",
            "condition": {">": [{"var": "record.amount"}, 100]},
        },
        {
            "id": "to_small",
            "source": "size",
            "target": "small",
            "condition": {"<": [{"var": "record.amount"}, 10]},
        },
    ]
    errors = await refused(empty, [flow("sizes", nodes, edges)])
    assert errors == {"flows[sizes].nodes[size].default": "default_missing"}


async def test_unknown_assignees_are_checked_against_the_database(
    empty: FlowApp, sessions, people
) -> None:
    await org(sessions, people)
    known = linear(
        "known",
        task("a", {"kind": "role", "key": "managers"}),
        task("b", {"kind": "group", "key": "team_a"}),
        task("c", {"kind": "user", "key": "agent1"}, cc=[{"kind": "department", "key": "hq"}]),
    )
    unknown = linear(
        "unknown",
        task("a", {"kind": "role", "key": "wizards"}),
        task("b", {"kind": "group", "key": "team_z"}),
        task(
            "c",
            {"kind": "user", "key": "nobody"},
            fallback={"kind": "user", "key": "ghost"},
            cc=[{"kind": "department", "key": "mars"}],
        ),
    )
    assert await refused(empty, [known, unknown]) == {
        "flows[unknown].nodes[a].assignee.key": "unknown_role",
        "flows[unknown].nodes[b].assignee.key": "unknown_group",
        "flows[unknown].nodes[c].assignee.key": "unknown_user",
        "flows[unknown].nodes[c].fallback.key": "unknown_user",
        "flows[unknown].nodes[c].cc[0].key": "unknown_department",
    }


async def test_unknown_field_in_field_rights(empty: FlowApp) -> None:
    rights = {"resolution": "required", "colour": "editable"}
    bad = linear("rights", task("handle", {"kind": "starter"}, fields=rights))
    assert await refused(empty, [bad]) == {
        "flows[rights].nodes[handle].fields.colour": "unknown_field"
    }


async def test_call_activities_calling_each_other(empty: FlowApp) -> None:
    def caller(key: str, calls: str) -> dict:
        flow_doc = linear(key, {"id": "call", "type": "call_activity", "flow": calls})
        flow_doc["form"] = None
        return flow_doc

    errors = await refused(
        empty, [caller("ping", "pong"), caller("pong", "ping"), caller("solo", "ping")]
    )
    assert errors == {"flows[ping]": "call_cycle", "flows[pong]": "call_cycle"}


async def test_a_loop_without_a_wait_fails_on_the_step_limit(client, admin, people) -> None:
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "count", "type": "script", "assign": {"n": {"+": [{"var": "n"}, 1]}}},
        {"id": "again", "type": "exclusive_gateway", "default": "e_done"},
        {"id": "end", "type": "end"},
    ]
    edges = [
        *chain("start", "count", "again"),
        {
            "id": "e_loop",
            "source": "again",
            "target": "count",
            "condition": {">": [{"var": "n"}, 0]},  # always true: the loop never stops
        },
        {"id": "e_done", "source": "again", "target": "end"},
    ]
    looping = flow("looping", nodes, edges, step_limit=50)
    app = await publish_flows(client, admin, [looping])
    record = await app.record(people["requester"])
    started = await app.start(people["requester"], "looping", record["id"], n=0)
    assert started.status_code == 201, started.text
    detail = await app.instance(people["requester"], started.json()["id"])
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "step_limit"
    assert detail["error"]["node"] in {"count", "again"}
    assert detail["tasks"] == []
    history = await app.history(admin, detail["id"])
    assert [h["action"] for h in history] == ["started", "failed"]
    assert history[-1]["data"]["code"] == "step_limit"


def hook(node_id: str, url: str, **extra: Any) -> dict:
    return {
        "id": node_id,
        "type": "service_task",
        "action": {"kind": "webhook", "url": url, **extra},
    }


async def test_webhooks_that_cannot_be_called_are_refused_naming_the_node(
    empty: FlowApp,
) -> None:
    calls = linear(
        "calls",
        hook("ftp", "ftp://files.example.com/drop"),
        hook("creds", "https://bot:hunter2@crm.example.com/hook"),
        hook("metadata", "http://169.254.169.254/latest/meta-data/"),
        hook("mapped", "http://[::ffff:169.254.169.254]/"),
        hook("numeric", "http://2852039166/"),
        hook("headers", "https://crm.example.com/hook", headers={"Host": "evil.example"}),
        hook("secret", "https://crm.example.com/hook", secret="nowhere"),
        hook("fine", "http://localhost:8080/hook"),
    )
    problems = await refused(empty, [calls])
    assert problems == {
        "flows[calls].nodes[ftp].action.url": "webhook_scheme",
        "flows[calls].nodes[creds].action.url": "webhook_url",
        "flows[calls].nodes[metadata].action.url": "webhook_forbidden_address",
        "flows[calls].nodes[mapped].action.url": "webhook_forbidden_address",
        "flows[calls].nodes[numeric].action.url": "webhook_url",
        "flows[calls].nodes[headers].action.headers.Host": "webhook_header",
        "flows[calls].nodes[secret].action.secret": "webhook_secret_unknown",
    }
    validated = await empty.client.post(
        f"{empty.app.base}/draft/validate", headers=empty.admin.headers
    )
    messages = {p["path"]: p["message"] for p in validated.json()["problems"]}
    assert "169.254.0.0/16" in messages["flows[calls].nodes[metadata].action.url"]
    assert "user name or password" in messages["flows[calls].nodes[creds].action.url"]
