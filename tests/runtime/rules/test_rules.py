"""Rules fired by record writes: triggers, conditions, local actions, the run log, switches,
test runs, bounded chains and failures that never break the write — on both databases."""

from __future__ import annotations

from tests.runtime.rules.conftest import Desk


def rule(key: str, trigger: dict, actions: list[dict], condition=None, **extra) -> dict:
    body = {"key": key, "form": "ticket", "trigger": trigger, "actions": actions, **extra}
    if condition is not None:
        body["condition"] = condition
    return body


async def test_publish_refuses_bad_rules_naming_each_problem(desk: Desk):
    bad = [
        rule(
            "a",
            {"on": "field_changed", "field": "nope"},
            [{"type": "set_fields", "values": {"ghost": 1}}],
        ),
        rule(
            "b",
            {"on": "created"},
            [
                {"type": "comment", "body": "{% if %}"},
                {"type": "webhook", "url": "ftp://example.com/x"},
                {"type": "start_flow", "flow": "missing"},
                {"type": "assign", "field": "subject", "user": "fay"},
            ],
            condition={"==": [{"var": "record.nosuch"}, 1]},
        ),
        rule(
            "c", {"on": "created"}, [{"type": "set_fields", "values": {"status": {"bogus_op": []}}}]
        ),
    ]
    published = await desk.publish_rules(bad)
    assert published.status_code == 422, published.text
    found = {(e["field"], e["code"]) for e in published.json()["errors"]}
    assert {
        ("rules[a].trigger.field", "unknown_field"),
        ("rules[a].actions[0].values.ghost", "unknown_field"),
        ("rules[b].condition", "unknown_var"),
        ("rules[b].actions[0].body", "bad_template"),
        ("rules[b].actions[1].url", "webhook_scheme"),
        ("rules[b].actions[2].flow", "unknown_flow"),
        ("rules[b].actions[3].field", "not_a_user_field"),
    } <= found
    assert any(f.startswith("rules[c].actions[0].values.status") for f, _ in found), found


async def test_created_and_field_changed_rules_write_with_the_triggering_write(desk: Desk):
    await desk.rules(
        [
            rule(
                "triage",
                {"on": "created"},
                [
                    {
                        "type": "set_fields",
                        "values": {
                            "status": "open",
                            "priority": {
                                "if": [
                                    {"in": ["urgent", {"var": "record.subject"}]},
                                    "urgent",
                                    "normal",
                                ]
                            },
                        },
                    },
                    {
                        "type": "comment",
                        "body": "Opened as {{ record.priority }}",
                        "internal": True,
                    },
                ],
            ),
            rule(
                "escalate_urgent",
                {"on": "field_changed", "field": "priority", "to": "urgent"},
                [{"type": "set_fields", "values": {"escalated": True}}],
            ),
            rule(
                "reopen_note",
                {"on": "field_changed", "field": "status", "from": "resolved", "to": "open"},
                [{"type": "comment", "body": "Reopened by {{ event.actor_id }}"}],
            ),
        ]
    )
    calm = await desk.ticket(subject="printer jam")
    assert (await desk.get(calm["id"]))["values"].items() >= {
        "status": "open",
        "priority": "normal",
    }.items()
    urgent = await desk.ticket(subject="urgent: site down")
    values = (await desk.get(urgent["id"]))["values"]
    assert values["priority"] == "urgent" and values["status"] == "open"
    assert values["escalated"] is True  # a rule's write fired the next rule (depth 1)
    runs = await desk.runs(record_id=urgent["id"])
    assert [(r["rule"], r["status"], r["depth"]) for r in runs] == [
        ("triage", "done", 0),
        ("escalate_urgent", "done", 1),
    ]
    assert runs[0]["changes"]["status"] == [None, "open"]
    assert [a["type"] for a in runs[0]["actions"]] == ["set_fields", "comment"]
    timeline = await desk.client.get(
        f"{desk.app.url('ticket')}/{calm['id']}/timeline", headers=desk.admin.headers
    )
    assert timeline.status_code == 200, timeline.text
    notes = [e for e in timeline.json() if e["kind"] == "comment"]
    assert [(n["body"], n["internal"]) for n in notes] == [("Opened as normal", True)]

    record = await desk.get(calm["id"])
    resolved = await desk.patch(record, status="resolved")
    assert resolved.status_code == 200, resolved.text
    reopened = await desk.patch(resolved.json(), status="open")
    assert reopened.status_code == 200
    runs = await desk.runs(rule="reopen_note")
    assert len(runs) == 1 and runs[0]["record_id"] == calm["id"]


async def test_conditions_switches_and_test_runs(desk: Desk):
    await desk.rules(
        [
            rule(
                "vip_high",
                {"on": "created"},
                [{"type": "set_fields", "values": {"priority": "high"}}],
                condition={"in": ["vip", {"var": "record.subject"}]},
            )
        ]
    )
    plain = await desk.ticket(subject="ordinary")
    assert (await desk.get(plain["id"]))["values"].get("priority") is None
    assert await desk.runs() == []
    vip = await desk.ticket(subject="vip customer")
    assert (await desk.get(vip["id"]))["values"]["priority"] == "high"

    listed = await desk.client.get(desk.rules_url, headers=desk.admin.headers)
    assert (
        listed.json()[0].items() >= {"key": "vip_high", "enabled": True, "switched": False}.items()
    )
    off = await desk.client.put(
        f"{desk.rules_url}/vip_high/enabled", json={"enabled": False}, headers=desk.admin.headers
    )
    assert off.status_code == 200 and off.json()["enabled"] is False, off.text
    again = await desk.ticket(subject="vip again")
    assert (await desk.get(again["id"]))["values"].get("priority") is None

    tried = await desk.client.post(
        f"{desk.rules_url}/vip_high/test",
        json={"record_id": again["id"]},
        headers=desk.admin.headers,
    )
    assert tried.status_code == 200, tried.text
    body = tried.json()
    assert body["fires"] is True and body["status"] == "done"
    assert body["changes"] == {"priority": [None, "high"]}
    after = await desk.get(again["id"])
    assert after["values"].get("priority") is None and after["row_version"] == again["row_version"]
    assert len(await desk.runs()) == 1  # the test run left no run behind
    no = await desk.client.post(
        f"{desk.rules_url}/vip_high/test",
        json={"record_id": plain["id"]},
        headers=desk.admin.headers,
    )
    assert (
        no.json().items() >= {"fires": False, "condition": False, "trigger_matches": True}.items()
    )

    user = desk.people["ann"]
    forbidden = await desk.client.get(desk.rules_url, headers=user.headers)
    assert forbidden.status_code == 403


async def test_a_failing_rule_is_logged_and_the_write_goes_on(desk: Desk):
    await desk.rules(
        [
            rule(
                "bad_status",
                {"on": "created"},
                [
                    {"type": "set_fields", "values": {"priority": "high"}},
                    {"type": "set_fields", "values": {"status": "no_such_status"}},
                ],
            ),
            rule("good", {"on": "created"}, [{"type": "set_fields", "values": {"bumps": 1}}]),
        ]
    )
    created = await desk.ticket(subject="still saved")
    values = (await desk.get(created["id"]))["values"]
    assert values.get("priority") is None  # the failed firing rolled back as a whole
    assert values["bumps"] == 1  # the next rule ran
    [failed, good] = await desk.runs(record_id=created["id"])
    assert failed["status"] == "failed" and "actions[1] (set_fields)" in failed["error"]
    assert [a["ok"] for a in failed["actions"]] == [True, False]
    assert good["status"] == "done"


async def test_rules_triggering_each_other_are_bounded(desk: Desk):
    ping = rule(
        "ping",
        {"on": "updated"},
        [{"type": "set_fields", "values": {"bumps": {"+": [{"var": "record.bumps"}, 1]}}}],
        condition={"!=": [{"var": "record.status"}, "closed"]},
    )
    await desk.rules([ping])
    created = await desk.ticket(subject="loop", bumps=0)
    changed = await desk.patch(created, status="open")
    assert changed.status_code == 200, changed.text
    values = (await desk.get(created["id"]))["values"]
    assert values["bumps"] == 1  # fired once; firing again on its own write is a loop
    runs = await desk.runs(record_id=created["id"])
    assert [(r["rule"], r["status"]) for r in runs] == [("ping", "done"), ("ping", "loop")]

    chain = [
        rule(
            f"step{i}",
            {"on": "field_changed", "field": "bumps", "to": i},
            [{"type": "set_fields", "values": {"bumps": i + 1}}],
        )
        for i in range(10)
    ]
    await desk.rules(chain)
    record = await desk.ticket(subject="chain")
    started = await desk.patch(record, bumps=0)
    assert started.status_code == 200, started.text
    runs = await desk.runs(record_id=record["id"])
    statuses = [(r["rule"], r["status"], r["depth"]) for r in runs]
    assert statuses[:5] == [(f"step{i}", "done", i) for i in range(5)]
    assert statuses[5] == ("step5", "too_deep", 5)
    assert (await desk.get(record["id"]))["values"]["bumps"] == 5


async def test_forbidden_webhooks_and_failing_templates(desk: Desk):
    metadata = [
        rule(
            "leak",
            {"on": "created"},
            [{"type": "webhook", "url": "http://169.254.169.254/latest/meta-data"}],
        )
    ]
    published = await desk.publish_rules(metadata)
    assert published.status_code == 422, published.text
    assert ("rules[leak].actions[0].url", "webhook_forbidden_address") in {
        (e["field"], e["code"]) for e in published.json()["errors"]
    }
    await desk.rules(
        [
            rule(
                "bad_note",
                {"on": "created"},
                [{"type": "comment", "body": "{{ record.subject.nope() }}"}],
            )
        ]
    )
    created = await desk.ticket(subject="still written")
    assert (await desk.get(created["id"]))["values"]["subject"] == "still written"
    [run] = await desk.runs(rule="bad_note")
    assert run["status"] == "failed" and "the template failed" in run["error"]
