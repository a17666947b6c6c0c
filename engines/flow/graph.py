"""A flow's graph, indexed once per flow version: nodes by id, edges in and out, boundary
timers by the activity they sit on, and upstream sets for inclusive joins."""

from __future__ import annotations

from collections import deque
from functools import cached_property
from typing import Any

from engines.flow.model import BoundaryTimer, Edge, Flow
from engines.logic import CompiledRule, compile_rule


class Graph:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.nodes: dict[str, Any] = {n.id: n for n in flow.nodes}
        self.edges: dict[str, Edge] = {e.id: e for e in flow.edges}
        self.outgoing: dict[str, list[Edge]] = {n.id: [] for n in flow.nodes}
        self.incoming: dict[str, list[Edge]] = {n.id: [] for n in flow.nodes}
        for edge in flow.edges:
            if edge.source in self.outgoing:
                self.outgoing[edge.source].append(edge)
            if edge.target in self.incoming:
                self.incoming[edge.target].append(edge)
        self.boundaries: dict[str, list[BoundaryTimer]] = {}
        for node in flow.nodes:
            if isinstance(node, BoundaryTimer):
                self.boundaries.setdefault(node.attached_to, []).append(node)
        self.starts = [n.id for n in flow.nodes if n.type == "start"]
        self._region: dict[str, frozenset[str]] = {}
        #: Gateways that wait for several incoming edges.
        self.joins = frozenset(
            n.id
            for n in flow.nodes
            if n.type in ("parallel_gateway", "inclusive_gateway") and len(self.incoming[n.id]) > 1
        )
        self._upstream_of: dict[str, frozenset[str]] = {}

    @cached_property
    def conditions(self) -> dict[str, CompiledRule]:
        """Compiled edge conditions (only valid flows are compiled)."""
        return {e.id: compile_rule(e.condition) for e in self.flow.edges if e.condition is not None}

    @cached_property
    def scripts(self) -> dict[str, list[tuple[str, CompiledRule]]]:
        """Each script node's assignments, compiled."""
        return {
            n.id: [(name, compile_rule(rule)) for name, rule in n.assign.items()]
            for n in self.flow.nodes
            if n.type == "script"
        }

    @cached_property
    def inputs(self) -> dict[str, list[tuple[str, CompiledRule]]]:
        return {
            n.id: [(name, compile_rule(rule)) for name, rule in n.inputs.items()]
            for n in self.flow.nodes
            if n.type == "call_activity"
        }

    @cached_property
    def outputs(self) -> dict[str, list[tuple[str, CompiledRule]]]:
        return {
            n.id: [(name, compile_rule(rule)) for name, rule in n.outputs.items()]
            for n in self.flow.nodes
            if n.type == "call_activity"
        }

    def successors(self, node_id: str) -> list[str]:
        """Next nodes, counting a boundary timer as a successor of its activity."""
        nexts = [e.target for e in self.outgoing.get(node_id, ())]
        nexts.extend(b.id for b in self.boundaries.get(node_id, ()))
        return nexts

    def reachable_from(self, start: str) -> set[str]:
        seen = {start}
        queue = deque([start])
        while queue:
            for nxt in self.successors(queue.popleft()):
                if nxt not in seen and nxt in self.nodes:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    def reaching(self, targets: set[str]) -> set[str]:
        """Nodes from which one of ``targets`` can be reached (the targets included)."""
        predecessors: dict[str, list[str]] = {n: [] for n in self.nodes}
        for node_id in self.nodes:
            for nxt in self.successors(node_id):
                if nxt in predecessors:
                    predecessors[nxt].append(node_id)
        seen = set(targets)
        queue = deque(targets)
        while queue:
            for prev in predecessors.get(queue.popleft(), ()):
                if prev not in seen:
                    seen.add(prev)
                    queue.append(prev)
        return seen

    def restart_region(self, node_id: str) -> frozenset[str]:
        """The nodes a token restarted at ``node_id`` may reach on its own (itself included):
        joins (parallel or inclusive gateways with several incoming edges) are reached but not
        passed, since passing one takes the other branches too. Memoised."""
        hit = self._region.get(node_id)
        if hit is None:
            seen = {node_id}
            queue = deque([node_id])
            while queue:
                current = queue.popleft()
                if current != node_id and current in self.joins:
                    continue
                for nxt in self.successors(current):
                    if nxt not in seen and nxt in self.nodes:
                        seen.add(nxt)
                        queue.append(nxt)
            hit = self._region[node_id] = frozenset(seen)
        return hit

    def upstream_of(self, node_id: str) -> frozenset[str]:
        """The nodes from which ``node_id`` can be reached (itself included), memoised."""
        hit = self._upstream_of.get(node_id)
        if hit is None:
            hit = self._upstream_of[node_id] = frozenset(self.reaching({node_id}))
        return hit

    @cached_property
    def upstream(self) -> dict[str, frozenset[str]]:
        """For each inclusive gateway: the nodes from which a token could still arrive at it
        without passing through it first (the OR-join waits while a token sits on one)."""
        result: dict[str, frozenset[str]] = {}
        for node_id, node in self.nodes.items():
            if node.type != "inclusive_gateway":
                continue
            predecessors: dict[str, list[str]] = {n: [] for n in self.nodes}
            for source in self.nodes:
                if source == node_id:
                    continue
                for nxt in self.successors(source):
                    if nxt in predecessors:
                        predecessors[nxt].append(source)
            seen: set[str] = set()
            queue = deque([node_id])
            while queue:
                for prev in predecessors.get(queue.popleft(), ()):
                    if prev not in seen and prev != node_id:
                        seen.add(prev)
                        queue.append(prev)
            result[node_id] = frozenset(seen)
        return result


_GRAPHS: dict[int, tuple[Flow, Graph]] = {}


def graph_of(flow: Flow) -> Graph:
    """The graph of a flow object, built once (flows are immutable)."""
    hit = _GRAPHS.get(id(flow))
    if hit is not None and hit[0] is flow:
        return hit[1]
    graph = Graph(flow)
    if len(_GRAPHS) > 512:
        _GRAPHS.clear()
    _GRAPHS[id(flow)] = (flow, graph)
    return graph
