"""Hostile and broken files: refused or reported as problems, never expanded, never an
exception."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engines.flow.bpmn import ImportResult, from_bpmn, to_bpmn
from engines.flow.bpmn.parse import MAX_BYTES
from tests.engines.flow.bpmn_support import DATA, every_element


def only_problem(result: ImportResult):
    assert result.flow is None
    assert result.document is None
    assert len(result.problems) == 1
    return result.problems[0]


@pytest.mark.parametrize(
    "name", ["xxe.bpmn", "billion_laughs.bpmn", "external_dtd.bpmn", "parameter_entity.bpmn"]
)
@pytest.mark.parametrize("as_bytes", [True, False])
def test_document_type_declarations_are_refused(name, as_bytes):
    path = DATA / name
    problem = only_problem(from_bpmn(path.read_bytes() if as_bytes else path.read_text()))
    assert problem.code == "xml_forbidden"
    assert "DOCTYPE" in problem.message
    assert problem.line == 2
    assert problem.column == 1


def test_xxe_never_reads_the_file():
    result = from_bpmn((DATA / "xxe.bpmn").read_bytes())
    assert "root:" not in repr(result)


def test_an_entity_without_a_doctype_is_not_expanded():
    xml = (DATA / "two_processes.bpmn").read_text().replace('name="Shop"', 'name="&secret;"', 1)
    problem = only_problem(from_bpmn(xml))
    assert problem.code == "xml_malformed"
    assert "undefined entity" in problem.message


@pytest.mark.parametrize(
    ("data", "line", "column"),
    [
        ((DATA / "not_xml.bpmn").read_bytes(), 1, 1),
        ((DATA / "truncated.bpmn").read_bytes(), 6, 7),
        (b"\x89PNG\r\n\x1a\n\x00\x00", 1, 1),
        ("plain text, not XML", 1, 1),
        ("<a><b></a>", 1, 9),
    ],
)
def test_malformed_xml_is_reported_with_line_and_column(data, line, column):
    problem = only_problem(from_bpmn(data))
    assert problem.code == "xml_malformed"
    assert (problem.line, problem.column) == (line, column)
    assert f"line {line}, column {column}" in problem.message


@pytest.mark.parametrize("data", ["", b"", "   \n", b"\n"])
def test_empty_input(data):
    assert only_problem(from_bpmn(data)).code == "xml_malformed"


def test_too_large_input_is_refused_before_parsing():
    data = b"<a>" + b" " * MAX_BYTES + b"</a>"
    problem = only_problem(from_bpmn(data))
    assert problem.code == "xml_too_large"


def test_xml_that_is_not_bpmn():
    problem = only_problem(from_bpmn((DATA / "not_bpmn.xml").read_bytes()))
    assert problem.code == "not_bpmn"
    assert "html" in problem.message
    # The right element name in the wrong namespace (BPMN 2.0 beta) is not BPMN either.
    beta = '<definitions xmlns="http://www.omg.org/bpmn20" id="d" targetNamespace="x" />'
    assert only_problem(from_bpmn(beta)).code == "not_bpmn"


def test_bpmn_without_a_process():
    xml = (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'id="d" targetNamespace="x"><bpmn:message id="m" /></bpmn:definitions>'
    )
    result = from_bpmn(xml)
    assert result.flow is None
    assert [p.code for p in result.problems] == ["no_process"]


def test_unknown_and_unsupported_elements_are_reported_by_id_and_type():
    xml = (
        (DATA / "two_processes.bpmn")
        .read_text()
        .replace(
            '<bpmn:endEvent id="shop_end" />',
            '<bpmn:endEvent id="shop_end" />'
            '<bpmn:eventBasedGateway id="wait_for" />'
            '<bpmn:complexGateway id="complex" />'
            '<bpmn:intermediateThrowEvent id="throw" />'
            '<bpmn:manualTask id="manual" />'
            '<bpmn:fancyNewThing id="fancy" />'
            '<bpmn:userTask id="looping"><bpmn:standardLoopCharacteristics id="loop" />'
            '<bpmn:potentialOwner id="owner" /></bpmn:userTask>',
        )
    )
    result = from_bpmn(xml)
    found = {(p.code, p.element_id, p.element_type) for p in result.problems}
    assert {
        ("unsupported_element", "wait_for", "bpmn:eventBasedGateway"),
        ("unsupported_element", "complex", "bpmn:complexGateway"),
        ("unsupported_element", "throw", "bpmn:intermediateThrowEvent"),
        ("unsupported_element", "manual", "bpmn:manualTask"),
        ("unsupported_element", "fancy", "bpmn:fancyNewThing"),
        ("unsupported_element", "loop", "bpmn:standardLoopCharacteristics"),
        ("unsupported_element", "owner", "bpmn:potentialOwner"),
        ("assignee_missing", "looping", "bpmn:userTask"),
    } <= found


def test_python_condition_is_reported_not_translated():
    xml = (
        (DATA / "two_processes.bpmn")
        .read_text()
        .replace(
            '<bpmn:sequenceFlow id="shop_flow" sourceRef="shop_start" targetRef="shop_end" />',
            '<bpmn:sequenceFlow id="shop_flow" sourceRef="shop_start" targetRef="shop_end">'
            '<bpmn:conditionExpression xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:type="bpmn:tFormalExpression" language="python">total &gt; 10 and ok'
            "</bpmn:conditionExpression></bpmn:sequenceFlow>",
        )
    )
    result = from_bpmn(xml)
    problem = next(p for p in result.problems if p.element_id == "shop_flow")
    assert problem.code == "unsupported_expression_language"
    assert problem.element_type == "bpmn:sequenceFlow"
    assert "'python'" in problem.message
    assert result.flow is not None
    assert result.flow.edges[0].condition is None


def test_missing_references_and_duplicate_ids():
    result = from_bpmn((DATA / "broken_refs.bpmn").read_bytes())
    assert {(p.code, p.element_id, p.element_type) for p in result.problems} == {
        ("duplicate_id", "end", "bpmn:endEvent"),
        ("duplicate_id", "good", "bpmn:sequenceFlow"),
        ("missing_reference", "no_source", "bpmn:sequenceFlow"),
        ("missing_reference", "no_target", "bpmn:sequenceFlow"),
        ("missing_reference", "no_ends", "bpmn:sequenceFlow"),
        ("unknown_reference", "to_nowhere", "bpmn:sequenceFlow"),
        ("unknown_reference", "lost_timer", "bpmn:boundaryEvent"),
        ("id_missing", None, "bpmn:userTask"),
    }
    flow = result.flow
    assert [n.id for n in flow.nodes] == ["start", "end"]
    assert flow.node("end").name == {}  # the first of the two
    assert [(e.id, e.source, e.target) for e in flow.edges] == [("good", "start", "end")]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_damaged_exports_never_raise(data):
    xml = to_bpmn(every_element())
    cut = data.draw(st.integers(0, len(xml)))
    damage = data.draw(
        st.sampled_from(["truncate", "delete", "insert", "replace_quote", "drop_line"])
    )
    if damage == "truncate":
        broken = xml[:cut]
    elif damage == "delete":
        broken = xml[:cut] + xml[cut + data.draw(st.integers(1, 200)) :]
    elif damage == "insert":
        broken = (
            xml[:cut]
            + data.draw(st.sampled_from(["<", ">", "&", '"', "]]>", "\x00", "é"]))
            + xml[cut:]
        )
    elif damage == "replace_quote":
        broken = xml[:cut] + xml[cut:].replace('"', "'", 1).replace("{", "[", 1)
    else:
        lines = xml.splitlines()
        index = data.draw(st.integers(0, len(lines) - 1))
        broken = "\n".join(lines[:index] + lines[index + 1 :])
    result = from_bpmn(broken)
    assert isinstance(result, ImportResult)
    assert result.flow is not None or result.problems
    assert all(p.code and p.message for p in result.problems)


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deeply_nested_json_is_reported(depth):
    xml = (DATA / "bad_extensions.bpmn").read_text()
    xml = xml.replace("{assignee: starter}", "[" * depth + "]" * depth)
    problem = next(p for p in from_bpmn(xml).problems if p.element_id == "not_json")
    assert problem.code == "invalid_extension"
    assert "nested deeper than 256 levels" in problem.message


def test_deeply_nested_xml_is_read():
    xml = (DATA / "two_processes.bpmn").read_text()
    nested = "<bpmn:documentation>" * 50_000 + "</bpmn:documentation>" * 50_000
    xml = xml.replace(
        '<bpmn:startEvent id="shop_start" />',
        f'<bpmn:startEvent id="shop_start">{nested}</bpmn:startEvent>',
    )
    assert from_bpmn(xml).flow is not None
