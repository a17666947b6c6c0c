"""Export then import gives back the same flow, for every element and property."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from engines.flow.bpmn import from_bpmn, to_bpmn
from engines.flow.model import Layout, Point
from tests.engines.flow.bpmn_flows import flows
from tests.engines.flow.bpmn_support import every_element, ticket, variant


def _without_layout(flow):
    doc = flow.model_dump()
    for node in doc["nodes"]:
        node["layout"] = None
    for edge in doc["edges"]:
        edge["waypoints"] = []
    return variant(flow, nodes=doc["nodes"], edges=doc["edges"])


def _all_laid_out(flow):
    doc = flow.model_dump()
    for index, node in enumerate(doc["nodes"]):
        node["layout"] = Layout(x=index * 150.25, y=-40, width=90, height=60.5).model_dump()
    for edge in doc["edges"]:
        edge["waypoints"] = [Point(x=0, y=0).model_dump(), Point(x=1e-3, y=12345.678).model_dump()]
    return variant(flow, nodes=doc["nodes"], edges=doc["edges"])


def _key_is_a_node_id(flow):
    doc = flow.model_dump()
    doc["nodes"][0]["id"] = flow.key
    for edge in doc["edges"]:
        edge["source"] = flow.key if edge["source"] == "start" else edge["source"]
    return variant(flow, nodes=doc["nodes"], edges=doc["edges"])


CASES = {
    "every_element": every_element,
    "ticket": ticket,
    "every_element_no_layout": lambda: _without_layout(every_element()),
    "every_element_all_laid_out": lambda: _all_laid_out(every_element()),
    "ticket_all_laid_out": lambda: _all_laid_out(ticket()),
    "key_is_a_node_id": lambda: _key_is_a_node_id(every_element()),
    "no_names": lambda: variant(ticket(), name={}),
    "only_chinese_names": lambda: variant(ticket(), name={"zh-CN": "工单"}),
    "empty_flow": lambda: variant(ticket(), nodes=[], edges=[]),
}


@pytest.mark.parametrize("case", CASES)
def test_round_trip_is_lossless(case):
    flow = CASES[case]()
    result = from_bpmn(to_bpmn(flow))
    assert result.problems == []
    assert result.flow == flow
    assert result.ok


@pytest.mark.parametrize("case", CASES)
def test_export_is_stable(case):
    flow = CASES[case]()
    xml = to_bpmn(flow)
    assert to_bpmn(flow) == xml
    reimported = from_bpmn(xml).flow
    assert reimported is not None
    assert to_bpmn(reimported) == xml


def test_bytes_round_trip():
    flow = every_element()
    assert from_bpmn(to_bpmn(flow).encode("utf-8")).flow == flow


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(flows())
def test_generated_flows_round_trip(flow):
    result = from_bpmn(to_bpmn(flow))
    assert result.problems == []
    assert result.flow == flow
