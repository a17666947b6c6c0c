"""Importing files made elsewhere, or edited in a modeler after export: what is imported,
and every problem named by element id and type."""

from __future__ import annotations

import re

import pytest

from engines.flow.bpmn import from_bpmn, to_bpmn
from engines.flow.bpmn.problems import ZH
from engines.flow.check import CheckContext
from engines.flow.model import Countersign, Layout, Point
from tests.engines.flow.bpmn_support import DATA, TICKET_BPMN, every_element, ticket


def codes(result) -> set[tuple[str, str | None]]:
    return {(p.code, p.element_id) for p in result.problems}


def test_ticket_bpmn_imports_what_it_can_and_reports_the_rest():
    result = from_bpmn(TICKET_BPMN.read_bytes())
    assert result.flow is None  # the user tasks have no assignee yet
    assert codes(result) == {
        ("unsupported_expression_language", "classify"),
        ("unsupported_expression_language", "f_prio_high"),
        ("unsupported_expression_language", "f_not_satisfied"),
        ("assignee_missing", "tech_review"),
        ("assignee_missing", "manager_approve"),
        ("assignee_missing", "agent_handle"),
        ("assignee_missing", "resolve"),
    }
    types = {p.element_id: p.element_type for p in result.problems}
    assert types["classify"] == "bpmn:scriptTask"
    assert types["f_prio_high"] == "bpmn:sequenceFlow"
    assert types["resolve"] == "bpmn:userTask"
    python = next(p for p in result.problems if p.element_id == "f_prio_high")
    assert "priority == 'high'" in python.message
    # The document has the whole graph, for the designer to complete.
    expected = ticket()
    doc = result.document
    assert doc["key"] == "ticket"
    assert [n["id"] for n in doc["nodes"]] == [n.id for n in expected.nodes]
    assert [(e["id"], e["source"], e["target"]) for e in doc["edges"]] == [
        (e.id, e.source, e.target) for e in expected.edges
    ]
    assert {n["id"]: n["name"] for n in doc["nodes"]} == {n.id: n.name for n in expected.nodes}
    assert next(n for n in doc["nodes"] if n["id"] == "gw_priority")["default"] == "f_prio_normal"
    assert all("condition" not in e for e in doc["edges"])  # never guessed from Python


def test_ticket_bpmn_completed_in_the_designer_is_the_ticket_flow():
    doc = from_bpmn(TICKET_BPMN.read_text()).document
    expected = ticket()
    for node in doc["nodes"]:
        original = expected.node(node["id"])
        for key in ("assignee", "assign"):
            if hasattr(original, key):
                node[key] = getattr(original, key)
    for edge in doc["edges"]:
        condition = next(e for e in expected.edges if e.id == edge["id"]).condition
        if condition is not None:
            edge["condition"] = condition
    doc["name"] = expected.name
    assert type(expected).model_validate(doc) == expected


def test_a_modeler_file_without_tangram_extensions():
    result = from_bpmn((DATA / "modeler.bpmn").read_bytes())
    assert codes(result) == {
        ("key_changed", "Process_Purchase"),
        ("assignee_missing", "Task_review"),
        ("countersign_mode_assumed", "Task_review"),
        ("unsupported_element", "Event_error"),
        ("unsupported_expression_language", "Task_total"),
        ("action_missing", "Task_order"),
        ("unsupported_element", "Task_send"),
        ("unsupported_element", "Event_delivered"),
        ("unsupported_element", "SubProcess_check"),
        ("unsupported_element", "Activity_note"),
        ("unsupported_event_definition", "Event_failed"),
        ("unsupported_expression_language", "Flow_yes"),
        ("edge_dropped", "Flow_no"),
        ("edge_dropped", "Flow_5"),
        ("edge_dropped", "Flow_6"),
        ("edge_dropped", "Flow_7"),
        ("edge_dropped", "Flow_8"),
        ("edge_dropped", "Flow_10"),
        ("edge_dropped", "Flow_error"),
    }
    types = {p.element_id: p.element_type for p in result.problems}
    assert types["Task_send"] == "bpmn:sendTask"
    assert types["SubProcess_check"] == "bpmn:subProcess"
    assert types["Activity_note"] == "bpmn:task"
    assigned = next(p for p in result.problems if p.code == "assignee_missing")
    assert "camunda:assignee='demo'" in assigned.message
    # Lanes, the annotation, its association, the group, data objects, documentation,
    # the pool and other vendors' extensions are ignored without a word.
    quiet = {"LaneSet_1", "TextAnnotation_1", "Association_1", "Group_1", "DataObject_1"}
    assert not quiet & {p.element_id for p in result.problems}
    doc = result.document
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert doc["key"] == "process_purchase"
    assert doc["name"] == {"en": "Purchase request"}
    assert nodes["Event_overdue"]["interrupting"] is False
    assert nodes["Event_overdue"]["timer"] == {"duration": "PT4H"}
    assert nodes["Event_wait"]["timer"] == {"duration": "PT5M"}
    assert nodes["Call_archive"]["flow"] == "archive"
    assert nodes["Gateway_ok"]["default"] == "Flow_no"
    assert nodes["Task_review"]["countersign"] == {"sequential": True}
    assert nodes["Task_total"]["assign"] == {}
    assert nodes["StartEvent_1"]["layout"] == Layout(x=182, y=162, width=36, height=36).model_dump()
    assert "layout" not in nodes["Task_order"]  # no shape in the file
    edges = {e["id"]: e for e in doc["edges"]}
    assert edges["Flow_1"]["waypoints"] == [{"x": 218.0, "y": 180.0}, {"x": 270.0, "y": 180.0}]
    assert set(edges) == {
        "Flow_1",
        "Flow_2",
        "Flow_yes",
        "Flow_3",
        "Flow_4",
        "Flow_9",
        "Flow_overdue",
    }


def test_two_processes_import_the_executable_one():
    result = from_bpmn((DATA / "two_processes.bpmn").read_text())
    assert result.flow is not None
    assert result.flow.key == "shop"
    assert [n.id for n in result.flow.nodes] == ["shop_start", "shop_end"]
    assert codes(result) == {
        ("unsupported_element", "order_message"),
        ("extra_process", "customer"),
    }
    extra = next(p for p in result.problems if p.code == "extra_process")
    assert extra.element_type == "bpmn:process"
    assert "'shop' was imported" in extra.message


def test_foreign_timers():
    result = from_bpmn((DATA / "foreign_timers.bpmn").read_bytes())
    timers = {n["id"]: n.get("timer") for n in result.document["nodes"]}
    assert timers["iso_duration"] == {"duration": "PT15M"}
    assert timers["fixed_date"] == {"at": "2030-01-31T09:00:00Z"}  # a date is a literal
    assert timers["jsonlogic_date"] == {"at": {"var": "record.due"}}
    assert codes(result) == {
        ("unsupported_expression_language", "juel_date"),
        ("invalid_timer", "months"),
        ("unsupported_expression_language", "feel_duration"),
        ("unsupported_timer", "cycle"),
        ("timer_missing", "empty_timer"),
        ("invalid_json", "broken_jsonlogic"),
        ("unsupported_event_definition", "timer_start"),
    }
    # What the importer reported is not reported again by validation.
    assert not any(p.code == "invalid_property" for p in result.problems)


def test_damaged_extensions_are_reported_and_left_out():
    result = from_bpmn((DATA / "bad_extensions.bpmn").read_bytes())
    assert result.flow is None
    assert codes(result) == {
        ("unknown_extension_property", "damaged"),
        ("invalid_property", "damaged"),
        ("invalid_extension", "start"),
        ("invalid_extension", "not_json"),
        ("assignee_missing", "not_json"),
        ("invalid_extension", "not_object"),
        ("assignee_missing", "not_object"),
        ("duplicate_extension", "twice"),
        ("unknown_extension_property", "bad_countersign"),
        ("invalid_property", "bad_countersign"),
        ("invalid_script", "bad_script"),
        ("invalid_script", "broken_script"),
        ("invalid_json", "bad_condition"),
        ("unsupported_expression_language", "python_condition"),
    }
    invalid = {p.element_id: p for p in result.problems if p.code == "invalid_property"}
    assert invalid["bad_countersign"].message.startswith("countersign.mode:")
    assert invalid["bad_countersign"].element_type == "bpmn:userTask"
    assert invalid["damaged"].message.startswith("step_limit:")
    assert invalid["damaged"].element_type == "bpmn:process"
    nodes = {n["id"]: n for n in result.document["nodes"]}
    assert nodes["twice"]["assignee"] == {"kind": "starter"}


def test_default_expression_language_of_the_definitions():
    xml = (DATA / "bad_extensions.bpmn").read_text()
    xml = xml.replace(
        'targetNamespace="x"', 'targetNamespace="x" expressionLanguage="https://jsonlogic.com"'
    )
    xml = xml.replace(
        '<bpmn:conditionExpression language="python">amount &gt; 10',
        '<bpmn:conditionExpression>{"var": "go"}',
    )
    edges = {e["id"]: e for e in from_bpmn(xml).document["edges"]}
    assert edges["python_condition"]["condition"] == {"var": "go"}


# --- edited in a modeler after export ---------------------------------------------------------


def _edit(pattern: str, replacement: str, flow=None) -> object:
    xml = to_bpmn(flow or every_element())
    edited, count = re.subn(pattern, replacement, xml, count=1, flags=re.S)
    assert count == 1, pattern
    result = from_bpmn(edited)
    assert result.problems == []
    return result.flow


def test_a_renamed_element_keeps_its_other_labels():
    flow = _edit(r'name="Finance approval"', 'name="Finance sign-off"')
    assert flow.node("approve").name == {"en": "Finance sign-off", "zh-CN": "财务审批"}
    flow = _edit(r'name="分类"', 'name="归类"')
    assert flow.node("classify").name == {"zh-CN": "归类"}
    flow = _edit(
        r'<bpmn:userTask id="approve" name="Finance approval">', '<bpmn:userTask id="approve">'
    )
    assert flow.node("approve").name == {"zh-CN": "财务审批"}
    flow = _edit(
        r'<bpmn:endEvent id="end_reminder" name="Reminded">',
        '<bpmn:endEvent id="end_reminder" name="Reminder sent">',
    )
    assert flow.node("end_reminder").name == {"en": "Reminder sent"}


def test_a_moved_shape_keeps_where_it_was_put_and_nothing_else_changes():
    original = every_element()
    flow = _edit(r'(<bpmndi:BPMNShape id="classify_di"[^>]*>\s*<dc:Bounds )x="\d+"', r'\1x="333"')
    assert flow.node("classify").layout.x == 333
    others = [n.id for n in original.nodes if n.layout is None and n.id != "classify"]
    assert all(flow.node(n).layout is None for n in others)
    # The edges drawn to the old place keep their drawn waypoints (a modeler re-routes them
    # when it moves a shape); the other edges are untouched.
    for edge, before in zip(flow.edges, original.edges, strict=True):
        if "classify" in (edge.source, edge.target):
            assert len(edge.waypoints) >= 2
        else:
            assert edge.waypoints == before.waypoints


def test_edited_waypoints_are_kept():
    flow = _edit(r'(<bpmndi:BPMNEdge id="e_start_di"[^>]*>\s*<di:waypoint )x="186"', r'\1x="190"')
    edge = next(e for e in flow.edges if e.id == "e_start")
    assert edge.waypoints[0] == Point(x=190, y=120)


def test_edited_condition_and_timer():
    flow = _edit(
        r'\{"var": "large"\}</bpmn:conditionExpression>',
        '{"var": "huge"}</bpmn:conditionExpression>',
    )
    assert next(e for e in flow.edges if e.id == "e_route_large").condition == {"var": "huge"}
    flow = _edit(r">PT48H<", ">PT72H<")
    assert flow.node("approve_timeout").timer.duration == "PT72H"


def test_the_extension_decides_the_countersign():
    # Removing the loop marker in a modeler does not undo the countersign.
    flow = _edit(
        r"<bpmn:multiInstanceLoopCharacteristics isSequential=\"true\">.*?"
        r"</bpmn:multiInstanceLoopCharacteristics>",
        "",
    )
    assert flow.node("approve").countersign == Countersign(
        mode="n_of_m", n=2, sequential=True, allow_add_signer=False
    )


def test_a_task_added_in_a_modeler_is_reported():
    xml = to_bpmn(ticket()).replace(
        '<bpmn:sequenceFlow id="f_start_classify"',
        '<bpmn:userTask id="Activity_1" name="New step" /><bpmn:sequenceFlow id="f_start_classify"',
    )
    result = from_bpmn(xml)
    assert codes(result) == {("assignee_missing", "Activity_1")}
    assert result.flow is None
    assert result.document["nodes"][-1] == {
        "id": "Activity_1",
        "type": "user_task",
        "name": {"en": "New step"},
    }


# --- import and check are separate ------------------------------------------------------------


def test_check_runs_only_when_asked():
    xml = to_bpmn(every_element())
    assert from_bpmn(xml).check_problems == []
    checked = from_bpmn(xml, check=True)
    assert {p.code for p in checked.check_problems} >= {"unknown_form", "unknown_flow"}
    assert checked.problems == []
    assert not checked.ok
    context = CheckContext(flows={"payment"})
    paths = {p.path for p in from_bpmn(xml, check=True, context=context).check_problems}
    assert "flows[expense].nodes[pay].flow" not in paths


def test_problems_as_dicts():
    problem = from_bpmn(TICKET_BPMN.read_text()).problems[0]
    assert problem.as_dict() == {
        "code": problem.code,
        "message": problem.message,
        "element_id": problem.element_id,
        "element_type": problem.element_type,
    }


@pytest.mark.parametrize(
    "name", ["broken_refs.bpmn", "bad_extensions.bpmn", "foreign_timers.bpmn", "modeler.bpmn"]
)
def test_import_problems_are_worded_in_the_callers_language(name):
    xml = (DATA / name).read_bytes()
    english = from_bpmn(xml).problems
    chinese = from_bpmn(xml, context=CheckContext(locale="zh-CN")).problems
    assert english, name
    assert [p.code for p in chinese] == [p.code for p in english]
    for en, zh in zip(english, chinese, strict=True):
        assert en.code in ZH, en.code
        assert re.search("[\u4e00-\u9fff]", zh.message), zh.message
        assert (zh.element_id, zh.element_type) == (en.element_id, en.element_type)
