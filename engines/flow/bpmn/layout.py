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
    types = {i.id: i.type for i in items}
    known = set(flowing)
    # A boundary timer's successors follow its activity.
    links = [(hosts.get(s, s), t) for s, t in edges]
    links = [(s, t) for s, t in links if s in known and t in known and s != t]
    starts_first = sorted(flowing, key=lambda n: types[n] != "start")
    layers = _layers(starts_first, links)
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
    """Longest-path layer of each node once the edges that close a loop are cut: an edge
    closes a loop when it leads back (no further from the start than where it leaves)
    to a node from which its source can be reached again."""
    successors: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in links:
        successors[source].append(target)
    distance = _distances(nodes, successors)
    reach: dict[str, set[str]] = {}

    def reaches(start: str) -> set[str]:
        if start not in reach:
            seen, stack = {start}, [start]
            while stack:
                for nxt in successors[stack.pop()]:
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
            reach[start] = seen
        return reach[start]

    forward = [(s, t) for s, t in links if distance[t] > distance[s] or s not in reaches(t)]
    incoming = dict.fromkeys(nodes, 0)
    after: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in forward:
        incoming[target] += 1
        after[source].append(target)
    layer = dict.fromkeys(nodes, 0)
    ready = [n for n in nodes if incoming[n] == 0]
    while ready:
        node = ready.pop(0)
        for nxt in after[node]:
            layer[nxt] = max(layer[nxt], layer[node] + 1)
            incoming[nxt] -= 1
            if incoming[nxt] == 0:
                ready.append(nxt)
    return layer


def _distances(nodes: list[str], successors: dict[str, list[str]]) -> dict[str, int]:
    """Breadth-first distance from the first node (a start event), then from each node not
    reached yet, in order."""
    distance: dict[str, int] = {}
    base = 0
    for root in nodes:
        if root in distance:
            continue
        distance[root] = base
        queue = [root]
        while queue:
            node = queue.pop(0)
            for nxt in successors[node]:
                if nxt not in distance:
                    distance[nxt] = distance[node] + 1
                    queue.append(nxt)
        base = max(distance.values()) + 1
    return distance


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
