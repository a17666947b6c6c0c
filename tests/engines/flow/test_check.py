"""Static whole-flow checks: every problem at once, each naming its node or edge."""

from __future__ import annotations

from typing import Any

import pytest

from engines.flow.check import CheckContext, assignee_keys, check_flow, check_flows
from engines.flow.model import load
from engines.urls import HttpUrl, UrlProblem

from .support import doc, edge_of, flow, node_of, ticket_form

DATA_FLOWS = [
    "ticket",
    "approval",
    "countersign",
    "parallel",
    "inclusive",
    "loop",
    "timers",
    "service",
    "call",
    "child",
    "child_wait",
    "terminate",
    "rework",
    "join_twice",
    "mixed",
]


def context() -> CheckContext:
    return CheckContext(forms={"ticket": ticket_form()}, flows={"child", "child_wait"})


def problems(document: dict[str, Any]) -> set[tuple[str, str]]:
    found = check_flow(load(document), context())
    return {(p.path, p.code) for p in found}


def only(document: dict[str, Any]) -> tuple[str, str]:
    (problem,) = problems(document)
    return problem


@pytest.mark.parametrize("name", DATA_FLOWS)
def test_the_test_flows_are_valid(name: str) -> None:
    assert check_flow(flow(name), context()) == []


def test_unreachable_node() -> None:
    document = doc("loop")
    document["nodes"].append({"id": "orphan", "type": "script"})
    document["edges"].append({"id": "f_orphan", "source": "orphan", "target": "end"})
    assert only(document) == ("flows[loop].nodes[orphan]", "unreachable")


def test_unreachable_end() -> None:
    document = doc("loop")
    document["nodes"].append({"id": "end2", "type": "end"})
    assert only(document) == ("flows[loop].nodes[end2]", "unreachable")


def test_no_way_to_an_end() -> None:
    document = doc("loop")
    document["nodes"].append({"id": "spin", "type": "script"})
    document["edges"] += [
        {"id": "f_spin", "source": "gw", "target": "spin", "condition": {"var": "spin"}},
        {"id": "f_spin_again", "source": "spin", "target": "spin"},
    ]
    assert only(document) == ("flows[loop].nodes[spin]", "no_way_out")


def test_a_boundary_timer_counts_as_a_way_out() -> None:
    document = doc("timers")
    edge_of(document, "f_task")["target"] = "task"  # the task loops on itself …
    assert problems(document) == set()  # … but its boundary timers lead to ends


def test_two_starts_are_named() -> None:
    document = doc("loop")
    document["nodes"].append({"id": "start2", "type": "start"})
    document["edges"].append({"id": "f_start2", "source": "start2", "target": "init"})
    assert problems(document) == {
        ("flows[loop].nodes[start]", "start_count"),
        ("flows[loop].nodes[start2]", "start_count"),
    }


def test_no_start_and_no_end() -> None:
    document = doc("child")
    document["nodes"] = [node_of(document, "compute")]
    document["edges"] = []
    assert problems(document) == {
        ("flows[child].nodes", "start_count"),
        ("flows[child].nodes", "no_end"),
        ("flows[child].nodes[compute]", "outgoing_count"),
    }


def test_edge_shapes() -> None:
    document = doc("loop")
    document["edges"] += [
        {"id": "f_into_start", "source": "inc", "target": "start"},
        {"id": "f_out_of_end", "source": "end", "target": "inc"},
        {"id": "f_ghost", "source": "gw", "target": "ghost", "condition": {"var": "g"}},
    ]
    assert problems(document) == {
        ("flows[loop].nodes[start]", "incoming_not_allowed"),
        ("flows[loop].nodes[end]", "outgoing_not_allowed"),
        ("flows[loop].nodes[inc]", "outgoing_count"),
        ("flows[loop].edges[f_ghost].target", "unknown_node"),
    }


def test_default_missing_when_every_condition_can_be_false() -> None:
    document = doc("inclusive")
    node_of(document, "split")["default"] = None
    edge_of(document, "f_d")["condition"] = {"var": "d"}
    assert only(document) == ("flows[inclusive].nodes[split].default", "default_missing")


def test_a_condition_and_its_negation_need_no_default() -> None:
    document = doc("ticket")
    node_of(document, "gw_satisfied")["default"] = None
    edge_of(document, "f_satisfied")["condition"] = {"var": "satisfied"}
    assert problems(document) == set()
    edge_of(document, "f_satisfied")["condition"] = True
    assert problems(document) == set()


def test_gateway_conditions_present_and_default_bare() -> None:
    document = doc("inclusive")
    edge_of(document, "f_x")["condition"] = None
    edge_of(document, "f_d")["condition"] = {"var": "d"}
    assert problems(document) == {
        ("flows[inclusive].edges[f_x].condition", "condition_missing"),
        ("flows[inclusive].edges[f_d].condition", "condition_on_default"),
    }


def test_default_must_leave_the_gateway() -> None:
    document = doc("inclusive")
    node_of(document, "split")["default"] = "f_after"
    assert only(document) == ("flows[inclusive].nodes[split].default", "unknown_edge")


def test_conditions_only_on_gateway_edges() -> None:
    document = doc("parallel")
    edge_of(document, "f_draft")["condition"] = {"var": "go"}
    edge_of(document, "f_a")["condition"] = {"var": "go"}
    assert problems(document) == {
        ("flows[parallel].edges[f_draft].condition", "condition_not_allowed"),
        ("flows[parallel].edges[f_a].condition", "condition_not_allowed"),
    }


def test_invalid_jsonlogic_points_inside_the_rule() -> None:
    document = doc("inclusive")
    edge_of(document, "f_x")["condition"] = {"and": [{"var": "x"}, {"bogus": 1}]}
    edge_of(document, "f_y")["condition"] = {"==": [1]}
    found = {(p.path, p.code) for p in check_flow(load(document), context())}
    assert found == {
        ("flows[inclusive].edges[f_x].condition.and[1].bogus", "logic.unknown_operator"),
        ("flows[inclusive].edges[f_y].condition['==']", "logic.bad_arity"),
    }


def test_unknown_record_fields_in_rules() -> None:
    document = doc("approval")
    edge_of(document, "f_approved")["condition"] = {
        "and": [
            {"==": [{"var": "outcome"}, "approved"]},
            {">": [{"var": "record.amount"}, 0]},
            {"!=": [{"var": "record.id"}, None]},  # a system column
            {"var": ["record.nope", 0]},
        ]
    }
    assert only(document) == ("flows[leave].edges[f_approved].condition", "unknown_field")


def test_record_fields_inside_scoped_operators() -> None:
    document = doc("approval")
    edge_of(document, "f_approved")["condition"] = {
        "some": [{"var": "record.tags"}, {"==": [{"var": "record.not_a_field"}, 1]}]
    }
    assert problems(document) == set()  # the body reads each tag, not the record
    edge_of(document, "f_approved")["condition"] = {"some": [{"var": "record.tagz"}, True]}
    assert only(document) == ("flows[leave].edges[f_approved].condition", "unknown_field")


def test_record_rules_need_a_form() -> None:
    document = doc("inclusive")
    edge_of(document, "f_x")["condition"] = {"var": "record.amount"}
    assert only(document) == ("flows[inclusive].edges[f_x].condition", "fields_without_form")


def test_unknown_fields_in_field_rights() -> None:
    document = doc("approval")
    node_of(document, "draft")["fields"] = {"subject": "required", "nope": "editable"}
    assert only(document) == ("flows[leave].nodes[draft].fields.nope", "unknown_field")
    document = doc("countersign")
    node_of(document, "after")["fields"] = {"subject": "editable"}
    assert only(document) == ("flows[countersign].nodes[after].fields", "fields_without_form")


def test_unknown_form() -> None:
    document = doc("approval")
    document["form"] = "nope"
    document["nodes"].append({"id": "orphan", "type": "end"})
    found = problems(document)
    assert ("flows[leave].form", "unknown_form") in found
    # the graph is still checked
    assert ("flows[leave].nodes[orphan]", "unreachable") in found


@pytest.mark.parametrize(
    ("targets", "code"),
    [
        (["nowhere"], "unknown_node"),
        (["end"], "not_a_user_task"),
        (["finance"], "return_to_self"),
    ],
)
def test_return_to_targets(targets: list[str], code: str) -> None:
    document = doc("approval")
    node_of(document, "finance")["return_to"] = targets
    assert only(document) == ("flows[leave].nodes[finance].return_to", code)


def test_return_to_a_later_node() -> None:
    document = doc("approval")
    node_of(document, "draft")["return_to"] = ["finance"]
    assert only(document) == ("flows[leave].nodes[draft].return_to", "not_upstream")


def test_boundary_on_a_non_activity() -> None:
    document = doc("timers")
    node_of(document, "escalate")["attached_to"] = "wait"
    assert only(document) == ("flows[timers].nodes[escalate].attached_to", "not_an_activity")
    node_of(document, "escalate")["attached_to"] = "ghost"
    found = problems(document)
    assert ("flows[timers].nodes[escalate].attached_to", "unknown_node") in found


def test_duplicate_ids() -> None:
    document = doc("loop")
    node_of(document, "inc")["id"] = "f_init"  # a node named like an edge
    found = problems(document)
    assert ("flows[loop].ids[f_init]", "duplicate_id") in found


def test_countersign_n_larger_than_one_user() -> None:
    document = doc("countersign")
    node_of(document, "sign").update(
        assignee={"kind": "user", "key": "alice"}, countersign={"mode": "n_of_m", "n": 2}
    )
    assert only(document) == (
        "flows[countersign].nodes[sign].countersign.n",
        "countersign_n_too_large",
    )


def test_field_assignees() -> None:
    document = doc("approval")
    node_of(document, "manager")["assignee"] = {"kind": "field", "key": "subject"}
    node_of(document, "draft")["assignee"] = {"kind": "department_head", "key": "team"}
    node_of(document, "finance")["assignee"] = {"kind": "field", "key": "nope"}
    node_of(document, "finance")["fallback"] = {"kind": "department_head", "key": "assignee"}
    assert problems(document) == {
        ("flows[leave].nodes[manager].assignee.key", "wrong_field_type"),
        ("flows[leave].nodes[finance].assignee.key", "unknown_field"),
        ("flows[leave].nodes[finance].fallback.key", "wrong_field_type"),
    }


def test_assignee_rules_and_cc_are_checked() -> None:
    document = doc("approval")
    node_of(document, "manager")["cc"] = [{"kind": "rule", "rule": {"nope": []}}]
    document["fallback"] = {"kind": "rule", "rule": {"var": "record.zzz"}}
    assert problems(document) == {
        ("flows[leave].nodes[manager].cc[0].rule.nope", "logic.unknown_operator"),
        ("flows[leave].fallback.rule", "unknown_field"),
    }


def test_triggers() -> None:
    document = doc("approval")
    document["triggers"] = [
        {"on": "field_changed", "field": "nope"},
        {"on": "created", "condition": {"var": "record.zzz"}},
        {"on": "updated"},
    ]
    assert problems(document) == {
        ("flows[leave].triggers[0].field", "unknown_field"),
        ("flows[leave].triggers[1].condition", "unknown_field"),
    }
    document = doc("loop")
    document["triggers"] = [{"on": "created"}]
    assert only(document) == ("flows[loop].triggers[0]", "trigger_without_form")


def test_service_actions() -> None:
    document = doc("approval")
    document["nodes"] += [
        {
            "id": "set",
            "type": "service_task",
            "action": {"kind": "set_fields", "values": {"zz": 1}},
        },
        {
            "id": "mail",
            "type": "service_task",
            "action": {"kind": "send_mail", "to": {"var": "record.zz"}, "subject": "{% if %}"},
        },
        {
            "id": "make",
            "type": "service_task",
            "action": {"kind": "create_record", "form": "nope", "result": "record"},
        },
        {
            "id": "copy",
            "type": "service_task",
            "action": {"kind": "create_record", "form": "ticket", "values": {"zz": 1}},
        },
    ]
    edge_of(document, "f_finance")["target"] = "set"
    document["edges"] += [
        {"id": "f_set", "source": "set", "target": "mail"},
        {"id": "f_mail", "source": "mail", "target": "make"},
        {"id": "f_make", "source": "make", "target": "copy"},
        {"id": "f_copy", "source": "copy", "target": "end"},
    ]
    assert problems(document) == {
        ("flows[leave].nodes[set].action.values.zz", "unknown_field"),
        ("flows[leave].nodes[mail].action.to", "unknown_field"),
        ("flows[leave].nodes[mail].action.subject", "template_invalid"),
        ("flows[leave].nodes[make].action.form", "unknown_form"),
        ("flows[leave].nodes[make].action.result", "reserved_variable"),
        ("flows[leave].nodes[copy].action.values.zz", "unknown_field"),
    }


def test_reserved_variable_names() -> None:
    document = doc("loop")
    node_of(document, "init")["assign"] = {"record": 1, "starter": 2, "n": 0}
    assert problems(document) == {
        ("flows[loop].nodes[init].assign.record", "reserved_variable"),
        ("flows[loop].nodes[init].assign.starter", "reserved_variable"),
    }


def test_call_activity_inputs_and_outputs() -> None:
    document = doc("call")
    document["form"] = "ticket"
    node_of(document, "call").update(
        inputs={"amount": {"var": "record.nope"}, "x": 1},
        outputs={"x": {"bogus": 1}, "doubled": {"var": "record.whatever"}, "instance": 1},
    )
    assert problems(document) == {
        ("flows[parent].nodes[call].inputs.amount", "unknown_field"),
        ("flows[parent].nodes[call].outputs.x.bogus", "logic.unknown_operator"),
        ("flows[parent].nodes[call].outputs.instance", "reserved_variable"),
    }


def test_unknown_called_flow() -> None:
    document = doc("call")
    node_of(document, "call")["flow"] = "nope"
    assert only(document) == ("flows[parent].nodes[call].flow", "unknown_flow")


def test_check_flows_finds_call_cycles_and_duplicate_keys() -> None:
    a, b = doc("call"), doc("call")
    a["key"], b["key"] = "a", "b"
    node_of(a, "call")["flow"] = "b"
    node_of(b, "call")["flow"] = "a"
    own = doc("call")
    own["key"] = "own"
    node_of(own, "call")["flow"] = "own"
    child = load(doc("child"))
    given = CheckContext(forms={"ticket": ticket_form()})
    found = check_flows([load(a), load(b), load(own), child, child], given)
    assert {(p.path, p.code) for p in found} == {
        ("flows[a]", "call_cycle"),
        ("flows[b]", "call_cycle"),
        ("flows[own]", "call_cycle"),
        ("flows[child]", "duplicate_key"),
    }
    assert given.flows == set()  # the caller's context is left alone


def test_check_flows_accepts_a_call_chain() -> None:
    found = check_flows([flow("call"), flow("child")], CheckContext())
    assert found == []


def test_problem_dicts() -> None:
    document = doc("loop")
    document["nodes"].append({"id": "end2", "type": "end"})
    (problem,) = check_flow(load(document))
    assert problem.as_dict() == {
        "path": "flows[loop].nodes[end2]",
        "code": "unreachable",
        "message": "no path leads here from the start",
    }


def test_assignee_keys() -> None:
    found = assignee_keys([flow("approval"), flow("countersign"), flow("ticket")])
    assert found == {
        "role": {"managers", "signers"},
        "user": {"bob", "alice", "tech", "manager", "agent"},
    }


def test_webhook_urls_headers_and_secrets() -> None:
    document = doc("service")
    hook = node_of(document, "hook")
    hook["action"] = {
        "kind": "webhook",
        "url": "gopher://127.0.0.1:6379/_",
        "headers": {"X-Tangram-Signature": "forged", "X-Ok": "fine"},
        "secret": "crm",
    }
    assert problems(document) == {
        ("flows[service].nodes[hook].action.url", "webhook_scheme"),
        ("flows[service].nodes[hook].action.headers.X-Tangram-Signature", "webhook_header"),
    }
    # The installation's checks come through the context: its egress policy, its secrets.
    hook["action"] = {"kind": "webhook", "url": "http://10.0.0.1/hook", "secret": "crm"}
    assert problems(document) == set()

    def private(url: HttpUrl) -> UrlProblem | None:
        return UrlProblem("webhook_forbidden_address", "no") if url.ip is not None else None

    strict = CheckContext(
        forms={"ticket": ticket_form()}, url_check=private, webhook_secrets={"erp"}
    )
    found = {(p.path, p.code) for p in check_flow(load(document), strict)}
    assert found == {
        ("flows[service].nodes[hook].action.url", "webhook_forbidden_address"),
        ("flows[service].nodes[hook].action.secret", "webhook_secret_unknown"),
    }


def test_problems_have_stable_codes_params_and_messages_in_the_callers_language() -> None:
    from engines.flow.messages import FlowProblem

    document = {
        "key": "lonely",
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "wait",
                "type": "timer",
                "timer": {"duration": "PT1H", "business_hours": True, "calendar": "nowhere"},
            },
            {"id": "island", "type": "script"},
        ],
        "edges": [{"id": "e1", "source": "start", "target": "wait"}],
    }
    flow = load(document)
    english = {(p.path, p.code): p for p in check_flow(flow)}
    chinese = {(p.path, p.code): p for p in check_flow(flow, CheckContext(locale="zh-CN"))}
    assert english.keys() == chinese.keys()
    assert english["flows[lonely].nodes", "no_end"].message == "a flow needs an end event"
    assert chinese["flows[lonely].nodes", "no_end"].message == "流程需要一个结束事件"
    calendar = chinese["flows[lonely].nodes[wait].timer.calendar", "unknown_calendar"]
    assert isinstance(calendar, FlowProblem) and calendar.code == "unknown_calendar"
    assert calendar.params == {"calendar": "nowhere", "node": "wait"}
    assert calendar.message == "没有工作日历 'nowhere'（定时器 'wait' 按它计算工作时间）"
    assert "no calendar 'nowhere'" in calendar.message_in("en")
    count = chinese["flows[lonely].nodes[wait]", "outgoing_count"]
    assert count.message == "定时器需要且只能有一条出去的连线（要分支请使用网关），当前有 0 条"
    assert chinese["flows[lonely].nodes[island]", "unreachable"].message == "从开始事件无法到达此处"


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    import string

    from engines.flow.messages import MESSAGES

    def names(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for key, (en, zh) in MESSAGES.items():
        assert en and zh, key
        assert names(en) - {"type"} <= names(zh) | {"type", "wanted"}, key
