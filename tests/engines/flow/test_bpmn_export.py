"""What an exported file says: the BPMN element of each node, the expressions, the
extension, and a diagram in which every node and edge can be drawn."""

from __future__ import annotations

import json

import pytest

from engines.flow.bpmn import JSONLOGIC, SCRIPT_FORMAT, TANGRAM, to_bpmn
from engines.flow.bpmn.namespaces import BPMN, XSI, q
from tests.engines.flow.bpmn_support import (
    NS,
    by_id,
    every_element,
    extension,
    ticket,
    variant,
    xml_tree,
)

FORMAL = "bpmn:tFormalExpression"


@pytest.fixture(scope="module")
def root():
    return xml_tree(to_bpmn(every_element()))


@pytest.mark.parametrize(
    ("node_id", "tag"),
    [
        ("start", "startEvent"),
        ("end", "endEvent"),
        ("approve", "userTask"),
        ("classify", "scriptTask"),
        ("update", "serviceTask"),
        ("route", "exclusiveGateway"),
        ("fork", "parallelGateway"),
        ("choose", "inclusiveGateway"),
        ("wait", "intermediateCatchEvent"),
        ("approve_timeout", "boundaryEvent"),
        ("pay", "callActivity"),
    ],
)
def test_each_node_type_has_its_bpmn_element(root, node_id, tag):
    element = by_id(root, node_id)
    assert element.tag == q(BPMN, tag)
    assert element in list(root.find("bpmn:process", NS))


def test_definitions_and_process(root):
    assert root.tag == q(BPMN, "definitions")
    assert root.get("exporter") == "Tangram"
    assert root.get("targetNamespace")
    processes = root.findall("bpmn:process", NS)
    assert len(processes) == 1
    process = processes[0]
    assert (process.get("id"), process.get("name"), process.get("isExecutable")) == (
        "expense",
        "Expense claim",
        "true",
    )
    assert extension(process) == {
        "name": {"en": "Expense claim", "zh-CN": "费用报销"},
        "form": "expense",
        "triggers": [
            {"on": "created", "condition": {"==": [{"var": "record.kind"}, "travel"]}},
            {"on": "field_changed", "field": "status", "to": "submitted"},
            {"on": "updated"},
        ],
        "fallback": {"kind": "role", "key": "admin"},
        "step_limit": 500,
    }


def test_names_are_the_english_or_first_label(root):
    assert by_id(root, "approve").get("name") == "Finance approval"
    assert extension(by_id(root, "approve"))["name"] == {
        "en": "Finance approval",
        "zh-CN": "财务审批",
    }
    assert by_id(root, "classify").get("name") == "分类"  # no English label: the first one
    assert by_id(root, "fork").get("name") is None
    assert by_id(root, "join").get("name") == ""
    # A name that says it all needs no extension.
    assert extension(by_id(root, "choose")) is None
    # Characters XML cannot carry leave the attribute; the extension keeps them.
    assert by_id(root, "wait").get("name") == "Wait a day"
    assert extension(by_id(root, "wait")) == {"name": {"en": "Wait a day\u0007"}}
    assert by_id(root, "route").get("name") == 'Amount <large> & "quoted"\nsecond line'


def test_conditions_are_jsonlogic_formal_expressions(root):
    condition = by_id(root, "e_choose_review").find("bpmn:conditionExpression", NS)
    assert condition.get(q(XSI, "type")) == FORMAL
    assert condition.get("language") == JSONLOGIC == "https://jsonlogic.com"
    assert json.loads(condition.text) == {"<": [{"var": "record.amount"}, 5000]}
    assert by_id(root, "e_route_small").find("bpmn:conditionExpression", NS) is None
    assert by_id(root, "route").get("default") == "e_route_small"
    assert by_id(root, "choose").get("default") == "e_choose_head"
    flow = by_id(root, "e_route_large")
    assert (flow.get("sourceRef"), flow.get("targetRef"), flow.get("name")) == (
        "route",
        "approve",
        "large",
    )


def test_script_task_holds_its_assignments_as_jsonlogic(root):
    task = by_id(root, "classify")
    assert task.get("scriptFormat") == SCRIPT_FORMAT
    assert json.loads(task.find("bpmn:script", NS).text) == every_element().node("classify").assign


def test_user_task_properties_and_countersign(root):
    task = by_id(root, "approve")
    props = extension(task)
    assert props["assignee"] == {"kind": "role", "key": "finance"}
    assert set(props) == {
        "name",
        "assignee",
        "fallback",
        "countersign",
        "fields",
        "due",
        "cc",
        "return_to",
        "on_reject",
    }
    loop = task.find("bpmn:multiInstanceLoopCharacteristics", NS)
    assert loop.get("isSequential") == "true"
    completion = loop.find("bpmn:completionCondition", NS)
    assert completion.get("language") == JSONLOGIC
    assert json.loads(completion.text) == {
        "or": [
            {">=": [{"var": "nrOfApproved"}, 2]},
            {">": [{"var": "nrOfRejected"}, {"-": [{"var": "nrOfInstances"}, 2]}]},
        ]
    }
    parallel = by_id(root, "review").find("bpmn:multiInstanceLoopCharacteristics", NS)
    assert parallel.get("isSequential") == "false"
    assert by_id(root, "escalate").find("bpmn:multiInstanceLoopCharacteristics", NS) is None


def test_incoming_and_outgoing_are_listed(root):
    end = by_id(root, "end")
    assert [e.text for e in end.findall("bpmn:incoming", NS)] == [
        "e_reviewed",
        "e_head_done",
        "e_paid",
    ]
    assert [e.text for e in by_id(root, "fork").findall("bpmn:outgoing", NS)] == [
        "e_fork_update",
        "e_fork_mail",
    ]


def test_service_tasks_keep_action_and_attempts(root):
    assert extension(by_id(root, "update")) == {
        "action": {
            "kind": "set_fields",
            "values": {"status": "approved", "approved_at": {"var": "now"}},
        },
        "max_attempts": 3,
    }
    assert extension(by_id(root, "mail"))["action"]["kind"] == "send_mail"
    assert "max_attempts" not in extension(by_id(root, "mail"))  # the default
    assert extension(by_id(root, "hook"))["action"]["url"] == "https://erp.example.com/hook?a=1&b=2"


def test_timers_and_boundary_events(root):
    duration = by_id(root, "wait").find("bpmn:timerEventDefinition/bpmn:timeDuration", NS)
    assert (duration.text, duration.get(q(XSI, "type"))) == ("P1DT2H", FORMAL)
    date = by_id(root, "deadline").find("bpmn:timerEventDefinition/bpmn:timeDate", NS)
    assert date.get("language") == JSONLOGIC
    assert json.loads(date.text) == {"var": "record.pay_on"}
    interrupting = by_id(root, "approve_timeout")
    assert (interrupting.get("attachedToRef"), interrupting.get("cancelActivity")) == (
        "approve",
        "true",
    )
    beside = by_id(root, "pay_reminder")
    assert (beside.get("attachedToRef"), beside.get("cancelActivity")) == ("pay", "false")
    assert beside.find("bpmn:timerEventDefinition/bpmn:timeDate", NS) is not None


def test_end_events_and_call_activity(root):
    assert by_id(root, "end_rejected").find("bpmn:terminateEventDefinition", NS) is not None
    assert by_id(root, "end").find("bpmn:terminateEventDefinition", NS) is None
    call = by_id(root, "pay")
    assert call.get("calledElement") == "payment"
    assert extension(call) == {
        "name": {"en": "Payment", "zh-CN": "付款"},
        "inputs": {"amount": {"var": "total"}, "payee": {"var": "record.owner"}},
        "outputs": {"paid": {"var": "paid"}},
    }


def _shapes(root):
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    shapes = {s.get("bpmnElement"): s for s in plane.findall("bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in plane.findall("bpmndi:BPMNEdge", NS)}
    return plane, shapes, edges


def _bounds(shape):
    box = shape.find("dc:Bounds", NS)
    return tuple(float(box.get(k)) for k in ("x", "y", "width", "height"))


@pytest.mark.parametrize("make", [every_element, ticket])
def test_every_node_and_edge_is_drawn(make):
    flow = make()
    root = xml_tree(to_bpmn(flow))
    plane, shapes, edges = _shapes(root)
    assert plane.get("bpmnElement") == root.find("bpmn:process", NS).get("id")
    assert set(shapes) == {n.id for n in flow.nodes}
    assert set(edges) == {e.id for e in flow.edges}
    for edge in edges.values():
        assert len(edge.findall("di:waypoint", NS)) >= 2
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_layouts_are_kept_and_missing_ones_computed(root):
    _, shapes, edges = _shapes(root)
    assert _bounds(shapes["approve"]) == (420.5, 80, 120, 80)
    assert shapes["approve"].get(q(TANGRAM, "auto")) is None
    assert shapes["classify"].get(q(TANGRAM, "auto")) == "true"
    assert _bounds(shapes["classify"])[2:] == (100, 80)
    assert _bounds(shapes["route"])[2:] == (50, 50)
    assert _bounds(shapes["end"])[2:] == (36, 36)
    assert shapes["route"].get("isMarkerVisible") == "true"
    points = [
        (float(p.get("x")), float(p.get("y")))
        for p in edges["e_approved"].findall("di:waypoint", NS)
    ]
    assert points == [(540.5, 120), (600, 120), (600, 130.25)]
    assert edges["e_approved"].get(q(TANGRAM, "auto")) is None
    assert edges["e_start"].get(q(TANGRAM, "auto")) == "true"


def test_boundary_timers_sit_on_their_activity(root):
    _, shapes, _ = _shapes(root)
    x, y, width, height = _bounds(shapes["approve"])
    bx, by, bw, bh = _bounds(shapes["approve_timeout"])
    assert x <= bx and bx + bw <= x + width
    assert by + bh / 2 == y + height  # centred on the bottom border


def test_computed_layout_runs_left_to_right_without_overlaps():
    flow = ticket()
    _, shapes, _ = _shapes(xml_tree(to_bpmn(flow)))
    boxes = {node_id: _bounds(shape) for node_id, shape in shapes.items()}
    for a, (ax, ay, aw, ah) in boxes.items():
        for b, (bx, by, bw, bh) in boxes.items():
            if a < b:
                assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay, (a, b)
    for edge in flow.edges:
        if edge.id != "f_not_satisfied":  # the one edge that loops back
            assert boxes[edge.source][0] < boxes[edge.target][0], edge.id


def test_process_id_avoids_a_node_with_the_flow_key():
    flow = every_element()
    doc = flow.model_dump()
    doc["nodes"][0]["id"] = "expense"
    doc["edges"][0]["source"] = "expense"
    root = xml_tree(to_bpmn(variant(flow, nodes=doc["nodes"], edges=doc["edges"])))
    process = root.find("bpmn:process", NS)
    assert process.get("id") != "expense"
    assert extension(process)["key"] == "expense"


def test_extension_only_where_needed():
    root = xml_tree(to_bpmn(ticket()))
    with_extension = {
        e.get("id") for e in root.iter() if e.find("bpmn:extensionElements", NS) is not None
    }
    # The process (Chinese name) and the user tasks (assignees); nothing else.
    assert with_extension == {
        "ticket",
        "tech_review",
        "manager_approve",
        "agent_handle",
        "resolve",
    }
