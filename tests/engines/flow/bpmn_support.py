"""Shared by the BPMN tests: the data files, flows built from them, and XML helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from engines.flow.bpmn.namespaces import BPMN, BPMNDI, DC, DI, TANGRAM
from engines.flow.model import Flow, load

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
