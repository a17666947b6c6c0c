"""Where to draw nodes that have no layout, and edges that have no waypoints.

Nodes are placed left to right in layers (longest path from the start, back edges ignored),
one row per node in a layer; boundary timers sit on the bottom border of their activity.
Nodes that have a layout keep it and take part in the layering, but nothing is moved out of
their way: placing one node never moves another. The same inputs always give the same
places, so an importer can tell an untouched automatic placement from a moved one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engines.flow.model import Layout, Point

#: Default size of each node type (the sizes bpmn-js draws).
SIZES: dict[str, tuple[float, float]] = {
    "start": (36, 36),
    "end": (36, 36),
    "timer": (36, 36),
    "boundary_timer": (36, 36),
    "exclusive_gateway": (50, 50),
    "parallel_gateway": (50, 50),
    "inclusive_gateway": (50, 50),
}
TASK_SIZE = (100.0, 80.0)
COLUMN = 180.0
ROW = 130.0
MARGIN = 100.0


@dataclass(frozen=True)
class Item:
    """A node as the layout sees it."""

    id: str
    type: str
    attached_to: str | None = None


def place(
    items: Sequence[Item], edges: Sequence[tuple[str, str]], fixed: Mapping[str, Layout]
) -> dict[str, Layout]:
    """A layout for every item not in ``fixed`` (``edges`` are ``(source, target)`` ids)."""
    hosts = {i.id: i.attached_to for i in items if i.attached_to is not None}
    flowing = [i.id for i in items if i.id not in hosts]
    known = set(flowing)
    # A boundary timer's successors follow its activity.
    links = [(hosts.get(s, s), t) for s, t in edges]
    links = [(s, t) for s, t in links if s in known and t in known and s != t]
    layers = _layers(flowing, links)
    rows: dict[int, int] = {}
    result: dict[str, Layout] = {}
    for item in items:
        if item.id in hosts or item.id in fixed:
            continue
        layer = layers[item.id]
        row = rows.get(layer, 0)
        rows[layer] = row + 1
        width, height = SIZES.get(item.type, TASK_SIZE)
        cx = MARGIN + layer * COLUMN + TASK_SIZE[0] / 2
        cy = MARGIN + row * ROW + TASK_SIZE[1] / 2
        result[item.id] = Layout(x=cx - width / 2, y=cy - height / 2, width=width, height=height)
    on_host: dict[str, int] = {}
    for item in items:
        if item.id not in hosts or item.id in fixed:
            continue
        host_id = hosts[item.id]
        host = fixed.get(host_id) or result.get(host_id) or Layout(x=MARGIN, y=MARGIN)
        index = on_host.get(host_id, 0)
        on_host[host_id] = index + 1
        width, height = SIZES["boundary_timer"]
        x = host.x + host.width - width - 10 - index * (width + 8)
        result[item.id] = Layout(
            x=x, y=host.y + host.height - height / 2, width=width, height=height
        )
    return result


def _layers(nodes: list[str], links: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layer of each node once the back edges of a depth-first walk are cut."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in links:
        successors[source].append(target)
    state: dict[str, int] = {}  # 1: on the walk's stack, 2: done
    order: list[str] = []
    forward: dict[str, list[str]] = {n: [] for n in nodes}
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(successors[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                order.append(node)
                stack.pop()
            elif state.get(child) != 1:  # not a back edge
                forward[node].append(child)
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(successors[child])))
    layer = dict.fromkeys(nodes, 0)
    for node in reversed(order):  # a topological order of the forward edges
        for child in forward[node]:
            layer[child] = max(layer[child], layer[node] + 1)
    return layer


def route(source: Layout, target: Layout) -> list[Point]:
    """Waypoints of an edge between two shapes: right side to left side, with elbows; an
    edge going back leaves downwards and runs below both."""
    sy = source.y + source.height / 2
    ty = target.y + target.height / 2
    start = Point(x=source.x + source.width, y=sy)
    end = Point(x=target.x, y=ty)
    if target.x >= start.x + 20:
        if sy == ty:
            return [start, end]
        mid = (start.x + end.x) / 2
        return [start, Point(x=mid, y=sy), Point(x=mid, y=ty), end]
    below = max(source.y + source.height, target.y + target.height) + 40
    sx = source.x + source.width / 2
    tx = target.x + target.width / 2
    return [
        Point(x=sx, y=source.y + source.height),
        Point(x=sx, y=below),
        Point(x=tx, y=below),
        Point(x=tx, y=target.y + target.height),
    ]
