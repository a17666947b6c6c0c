"""Reading the diagram back: shape bounds become layouts, edge waypoints stay waypoints, and
a placement the exporter made (``tangram:auto``) that nobody moved becomes "no layout"
again."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from engines.flow.bpmn import layout
from engines.flow.bpmn.context import Context
from engines.flow.bpmn.namespaces import BPMNDI, DC, DI, TANGRAM, q
from engines.flow.model import Layout, Point

AUTO = q(TANGRAM, "auto")


def apply(
    ctx: Context, root: Element, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> None:
    """Set ``layout`` on ``nodes`` and ``waypoints`` on ``edges`` from the file's diagrams
    (the first shape of an element counts)."""
    shapes: dict[str, tuple[Layout, bool]] = {}
    lines: dict[str, tuple[list[Point], bool]] = {}
    for plane in root.iter(q(BPMNDI, "BPMNPlane")):
        for shape in plane.iter(q(BPMNDI, "BPMNShape")):
            owner = shape.get("bpmnElement")
            bounds = shape.find(q(DC, "Bounds"))
            if owner and owner not in shapes and bounds is not None:
                numbers = _numbers(ctx, shape, bounds, ("x", "y", "width", "height"))
                if numbers is not None:
                    shapes[owner] = (Layout(**numbers), shape.get(AUTO) == "true")
        for line in plane.iter(q(BPMNDI, "BPMNEdge")):
            owner = line.get("bpmnElement")
            if not owner or owner in lines:
                continue
            points = []
            for waypoint in line.findall(q(DI, "waypoint")):
                point = _numbers(ctx, line, waypoint, ("x", "y"))
                if point is not None:
                    points.append(Point(**point))
            lines[owner] = (points, line.get(AUTO) == "true")
    fixed = {
        n["id"]: shapes[n["id"]][0] for n in nodes if n["id"] in shapes and not shapes[n["id"]][1]
    }
    items = [layout.Item(n["id"], n["type"], n.get("attached_to")) for n in nodes]
    placed = layout.place(items, [(e["source"], e["target"]) for e in edges], fixed)
    for node in nodes:
        if node["id"] in shapes:
            box, auto = shapes[node["id"]]
            if not (auto and placed.get(node["id"]) == box):
                node["layout"] = box.model_dump()
    for edge in edges:
        if edge["id"] not in lines:
            continue
        points, auto = lines[edge["id"]]
        ends = shapes.get(edge["source"]), shapes.get(edge["target"])
        if auto and ends[0] and ends[1] and layout.route(ends[0][0], ends[1][0]) == points:
            continue
        if points:
            edge["waypoints"] = [p.model_dump() for p in points]


def _numbers(
    ctx: Context, owner: Element, element: Element, names: tuple[str, ...]
) -> dict[str, float] | None:
    try:
        values = {name: float(element.get(name, "")) for name in names}
    except ValueError:
        ctx.report(
            owner,
            "invalid_diagram",
            f"{element.tag.rsplit('}', 1)[-1]} needs numbers for {', '.join(names)}; ignored",
        )
        return None
    if any(v != v or v in (float("inf"), float("-inf")) for v in values.values()):
        ctx.report(owner, "invalid_diagram", "the diagram has a coordinate that is not finite")
        return None
    return values
