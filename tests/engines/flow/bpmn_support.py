"""Shared by the BPMN tests: the data files, flows built from them, and XML helpers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from engines.flow.bpmn.namespaces import BPMN, BPMNDI, DC, DI, TANGRAM
from engines.flow.model import Flow, Layout, Point, load

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[3]
TICKET_JSON = ROOT / "benchmarks" / "flows" / "ticket.json"
TICKET_BPMN = ROOT / "benchmarks" / "flows" / "ticket.bpmn"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "tangram": TANGRAM}


def flow_file(path: Path) -> Flow:
    return load(json.loads(path.read_text()))


def every_element() -> Flow:
    return flow_file(DATA / "every_element.json")


def ticket() -> Flow:
    return flow_file(TICKET_JSON)


def variant(flow: Flow, **changes: Any) -> Flow:
    """The flow with changes applied to its JSON (validated again)."""
    return load({**flow.model_dump(), **changes})


def xml_tree(xml: str) -> ElementTree.Element:
    return ElementTree.fromstring(xml)


def by_id(root: ElementTree.Element, element_id: str) -> ElementTree.Element:
    found = root.find(f".//*[@id='{element_id}']")
    assert found is not None, element_id
    return found


def extension(element: ElementTree.Element) -> dict[str, Any] | None:
    props = element.find("bpmn:extensionElements/tangram:properties", NS)
    return None if props is None else json.loads(props.text or "")


# --- flows every round trip is tried on ----------------------------------------------------


def _without_layout(flow: Flow) -> Flow:
    doc = flow.model_dump()
    for node in doc["nodes"]:
        node["layout"] = None
    for edge in doc["edges"]:
        edge["waypoints"] = []
    return variant(flow, nodes=doc["nodes"], edges=doc["edges"])


def _all_laid_out(flow: Flow) -> Flow:
    doc = flow.model_dump()
    for index, node in enumerate(doc["nodes"]):
        node["layout"] = Layout(x=index * 150.25, y=-40, width=90, height=60.5).model_dump()
    for edge in doc["edges"]:
        edge["waypoints"] = [Point(x=0, y=0).model_dump(), Point(x=1e-3, y=12345.678).model_dump()]
    return variant(flow, nodes=doc["nodes"], edges=doc["edges"])


def _key_is_a_node_id(flow: Flow) -> Flow:
    doc = flow.model_dump()
    doc["nodes"][0]["id"] = flow.key
    for edge in doc["edges"]:
        edge["source"] = flow.key if edge["source"] == "start" else edge["source"]
    return variant(flow, nodes=doc["nodes"], edges=doc["edges"])


#: Name → flow maker, for the round trip and bpmn-moddle tests.
CASES: dict[str, Callable[[], Flow]] = {
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
