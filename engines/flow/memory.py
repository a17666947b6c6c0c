"""Run instances entirely in memory: assignments resolved by a plain function, service tasks
and call activities run inline, timers fired by hand. Used by engine tests, the designer's
dry run and the benchmark's no-persistence mode; the runtime persists instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engines.flow.engine import Engine
from engines.flow.model import Assignee, Flow, ServiceTask, UserTask
from engines.flow.state import ADMINS, Effect, Instance, Resolution

Resolver = Callable[[Instance, Assignee], Resolution]
Service = Callable[[Instance, ServiceTask], dict[str, Any] | None]


def assignee_chain(flow: Flow, node: UserTask) -> list[Assignee]:
    """The node's assignee, then its fallback, then the flow's fallback."""
    chain = [node.assignee]
    if node.fallback is not None:
        chain.append(node.fallback)
    if flow.fallback is not None:
        chain.append(flow.fallback)
    return chain


def signer_assignees(node: UserTask) -> list[Assignee]:
    """A countersign's assignees: the node's own, then its ``also`` ones."""
    also = node.countersign.also if node.countersign is not None else []
    return [node.assignee, *also]


def merge(into: Resolution, more: Resolution) -> None:
    """Add ``more``'s users and pools to ``into``, each once, in order."""
    into.users.extend(u for u in more.users if u not in into.users)
    into.pools.extend(p for p in more.pools if p not in into.pools)


__all__ = [
    "ADMINS",
    "MemoryRunner",
    "Resolver",
    "Service",
    "assignee_chain",
    "merge",
    "signer_assignees",
]


class MemoryRunner:
    """Drives instances through an :class:`Engine`, doing the outside world's part at once.

    ``resolver`` maps an assignee to users and pools (the chain of :func:`assignee_chain`,
    then :data:`ADMINS`); ``service`` runs a service task and returns its variables (None:
    service tasks wait for :meth:`Engine.service_done`); ``flows`` are the flows call
    activities start. With ``keep_effects`` every effect is also appended to ``effects``.
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        engine: Engine | None = None,
        service: Service | None = None,
        flows: dict[str, Flow] | None = None,
        keep_effects: bool = False,
    ) -> None:
        self.engine = engine or Engine()
        self.resolver = resolver
        self.service = service
        self.flows = flows or {}
        #: Children started by call activities: (parent, token seq) → child.
        self.children: dict[tuple[int, int], Instance] = {}
        self.effects: list[Effect] | None = [] if keep_effects else None

    def start(self, flow: Flow, **kwargs: Any) -> Instance:
        inst = self.engine.start(flow, **kwargs)
        self.settle(inst)
        return inst

    def complete(self, inst: Instance, seq: int, **kwargs: Any) -> None:
        self.engine.complete(inst, seq, **kwargs)
        self.settle(inst)

    def return_to(self, inst: Instance, seq: int, **kwargs: Any) -> None:
        self.engine.return_to(inst, seq, **kwargs)
        self.settle(inst)

    def fire(self, inst: Instance, seq: int) -> bool:
        fired = self.engine.fire_timer(inst, seq)
        self.settle(inst)
        return fired

    def settle(self, inst: Instance) -> None:
        """Resolve pending assignments and run inline effects until the instance waits."""
        engine = self.engine
        graph = engine.graph(inst)
        while inst.pending or inst.effects:
            while inst.pending:
                assignment = inst.pending.pop(0)
                node = graph.nodes[assignment.node]
                engine.assign(inst, assignment, self.resolve(inst, node))
            effects, inst.effects = inst.effects, []
            if self.effects is not None:
                self.effects.extend(effects)
            for effect in effects:
                if effect.node is None or effect.token is None:
                    continue
                if effect.kind == "service" and self.service is not None:
                    result = self.service(inst, graph.nodes[effect.node])
                    engine.service_done(
                        inst, effect.token, job=effect.data.get("job"), variables=result
                    )
                elif effect.kind == "call":
                    self._call(inst, effect)

    def resolve(self, inst: Instance, node: UserTask) -> Resolution:
        chain = assignee_chain(inst.flow, node)
        if node.countersign is not None and node.countersign.also:
            merged = Resolution()
            for assignee in signer_assignees(node):
                merge(merged, self.resolver(inst, assignee))
            if merged:
                return merged
            chain = chain[1:]
        for assignee in chain:
            resolution = self.resolver(inst, assignee)
            if resolution:
                return resolution
        return ADMINS

    def _call(self, parent: Instance, effect: Effect) -> None:
        data = effect.data
        token = effect.token
        assert token is not None
        flow = self.flows.get(data["flow"])
        if flow is None:
            self.engine.fail(parent, "unknown_flow", f"no flow {data['flow']!r}", effect.node)
            return
        child = self.start(flow, variables=data["variables"], started_by=parent.started_by)
        self.children[(id(parent), token)] = child
        if child.finished:
            self.engine.child_done(parent, token, child.variables, call=data.get("call"))

    def child_finished(self, parent: Instance, token: int) -> bool:
        """Tell the parent that the child of ``token`` has ended (tests call this)."""
        child = self.children[(id(parent), token)]
        done = self.engine.child_done(parent, token, child.variables)
        self.settle(parent)
        return done
