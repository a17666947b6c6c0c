"""Flow → BPMN 2.0 XML: one process plus its diagram, with Tangram's properties in
``tangram:properties`` extensions (see README.md for the mapping)."""

from __future__ import annotations

from typing import Any

from engines.flow.bpmn import layout
from engines.flow.bpmn.mapping import (
    EXTENSION,
    FLOW_EXTENSION,
    TIMER_EXTENSION,
    completion_condition,
    dump_json,
    labels_to_export,
    primary_name,
)
from engines.flow.bpmn.namespaces import EXPORTER, JSONLOGIC, SCRIPT_FORMAT, TANGRAM
from engines.flow.bpmn.vocabulary import ELEMENTS
from engines.flow.bpmn.xmlwrite import El, number, serialize
from engines.flow.model import (
    BoundaryTimer,
    CallActivity,
    EndEvent,
    ExclusiveGateway,
    Flow,
    InclusiveGateway,
    Point,
    ScriptTask,
    Timer,
    TimerEvent,
    UserTask,
)

EXPORTER_VERSION = "1"
FORMAL = "bpmn:tFormalExpression"


def to_bpmn(flow: Flow) -> str:
    """The flow as a BPMN 2.0 XML document that bpmn-js and Camunda Modeler open."""
    return serialize(_Exporter(flow).definitions())


class _Exporter:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.used = {n.id for n in flow.nodes} | {e.id for e in flow.edges}
        self.process_id = flow.key if flow.key not in self.used else self.unique(flow.key)
        self.used.add(self.process_id)

    def unique(self, base: str) -> str:
        candidate, n = base, 1
        while candidate in self.used:
            candidate, n = f"{base}_{n}", n + 1
        self.used.add(candidate)
        return candidate

    def definitions(self) -> El:
        root = El(
            "bpmn:definitions",
            {
                "id": self.unique(f"{self.flow.key}_definitions"),
                "targetNamespace": f"{TANGRAM}/flows",
                "expressionLanguage": JSONLOGIC,
                "exporter": EXPORTER,
                "exporterVersion": EXPORTER_VERSION,
            },
        )
        process = root.add(
            "bpmn:process",
            id=self.process_id,
            name=primary_name(self.flow.name),
            isExecutable="true",
        )
        # Python mode: JSON mode would refuse strings JSON can escape (lone surrogates).
        props = self.flow.model_dump(include=set(FLOW_EXTENSION), exclude_defaults=True)
        if self.process_id != self.flow.key:
            props["key"] = self.flow.key
        _extension(process, self.flow.name, props)
        for node in self.flow.nodes:
            self.node(process, node)
        for edge in self.flow.edges:
            element = process.add(
                "bpmn:sequenceFlow",
                id=edge.id,
                name=primary_name(edge.name),
                sourceRef=edge.source,
                targetRef=edge.target,
            )
            _extension(element, edge.name, {})
            if edge.condition is not None:
                _expression(element, "bpmn:conditionExpression", edge.condition)
        root.children.append(self.diagram())
        return root

    def node(self, process: El, node: Any) -> None:
        element = process.add(
            f"bpmn:{ELEMENTS[node.type]}", id=node.id, name=primary_name(node.name)
        )
        if isinstance(node, ExclusiveGateway | InclusiveGateway):
            element.set(default=node.default)
        elif isinstance(node, BoundaryTimer):
            element.set(
                cancelActivity="true" if node.interrupting else "false",
                attachedToRef=node.attached_to,
            )
        elif isinstance(node, CallActivity):
            element.set(calledElement=node.flow)
        elif isinstance(node, ScriptTask):
            element.set(scriptFormat=SCRIPT_FORMAT)
        wanted = set(EXTENSION.get(node.type, ()))
        props = node.model_dump(include=wanted, exclude_defaults=True)
        if "action" in props:  # its kind is a default, yet it tells the actions apart
            props["action"] = {"kind": node.action.kind, **props["action"]}
        if isinstance(node, TimerEvent | BoundaryTimer):
            props = node.timer.model_dump(include=set(TIMER_EXTENSION), exclude_defaults=True)
        _extension(element, node.name, props)
        for edge in self.flow.edges:
            if edge.target == node.id:
                element.add("bpmn:incoming", edge.id)
        for edge in self.flow.edges:
            if edge.source == node.id:
                element.add("bpmn:outgoing", edge.id)
        if isinstance(node, UserTask) and node.countersign is not None:
            loop = element.add(
                "bpmn:multiInstanceLoopCharacteristics",
                isSequential="true" if node.countersign.sequential else "false",
            )
            _expression(loop, "bpmn:completionCondition", completion_condition(node.countersign))
        elif isinstance(node, ScriptTask):
            element.add("bpmn:script", dump_json(node.assign))
        elif isinstance(node, EndEvent) and node.terminate:
            element.add("bpmn:terminateEventDefinition")
        elif isinstance(node, TimerEvent | BoundaryTimer):
            _timer(element.add("bpmn:timerEventDefinition"), node.timer)

    def diagram(self) -> El:
        diagram = El("bpmndi:BPMNDiagram", {"id": self.unique(f"{self.process_id}_diagram")})
        plane = diagram.add(
            "bpmndi:BPMNPlane",
            id=self.unique(f"{self.process_id}_plane"),
            bpmnElement=self.process_id,
        )
        fixed = {n.id: n.layout for n in self.flow.nodes if n.layout is not None}
        placed = layout.place(
            items(self.flow), [(e.source, e.target) for e in self.flow.edges], fixed
        )
        bounds = {**fixed, **placed}
        for node in self.flow.nodes:
            shape = plane.add(
                "bpmndi:BPMNShape",
                id=self.unique(f"{node.id}_di"),
                bpmnElement=node.id,
                isMarkerVisible="true" if node.type == "exclusive_gateway" else None,
                tangram__auto="true" if node.id in placed else None,
            )
            box = bounds[node.id]
            shape.add(
                "dc:Bounds",
                x=number(box.x),
                y=number(box.y),
                width=number(box.width),
                height=number(box.height),
            )
        for edge in self.flow.edges:
            points: list[Point] = list(edge.waypoints)
            auto = not points and edge.source in bounds and edge.target in bounds
            if auto:
                points = layout.route(bounds[edge.source], bounds[edge.target])
            if not points:
                continue
            shape = plane.add(
                "bpmndi:BPMNEdge",
                id=self.unique(f"{edge.id}_di"),
                bpmnElement=edge.id,
                tangram__auto="true" if auto else None,
            )
            for point in points:
                shape.add("di:waypoint", x=number(point.x), y=number(point.y))
        return diagram


def items(flow: Flow) -> list[layout.Item]:
    """The flow's nodes as the layout sees them."""
    return [layout.Item(n.id, n.type, getattr(n, "attached_to", None)) for n in flow.nodes]


def _extension(element: El, labels: dict[str, str], props: dict[str, Any]) -> None:
    stored = labels_to_export(labels)
    if stored is not None:
        props = {"name": stored, **props}
    if props:
        element.add("bpmn:extensionElements").add("tangram:properties", dump_json(props))


def _expression(parent: El, tag: str, rule: Any) -> None:
    parent.add(tag, dump_json(rule), xsi__type=FORMAL, language=JSONLOGIC)


def _timer(definition: El, timer: Timer) -> None:
    if timer.duration is not None:
        definition.add("bpmn:timeDuration", timer.duration, xsi__type=FORMAL)
    else:
        _expression(definition, "bpmn:timeDate", timer.at)


__all__ = ["to_bpmn"]
