"""Node behaviours (DESIGN §10.1, §10.6): one small class per node type, registered in one
place. ``enter`` runs when a token arrives: it moves the token on, or parks it (a task, a
timer, a job, a join) until an outside event resumes the instance."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from engines.flow.model import TimerEvent, parse_duration
from engines.flow.state import WAITING, Effect, Instance, Timer, Token
from engines.logic import truthy
from engines.registry import Registry

if TYPE_CHECKING:
    from engines.flow.engine import Engine


class NodeBehaviour(ABC):
    """What happens when a token enters a node of this ``type``."""

    type: ClassVar[str]

    @abstractmethod
    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        """Move the token on, or park it until an outside event resumes the instance."""


class StartBehaviour(NodeBehaviour):
    type = "start"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        engine.leave(inst, token)


class EndBehaviour(NodeBehaviour):
    type = "end"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        engine.consume(inst, token)
        if getattr(node, "terminate", False):
            engine.finish(inst, "completed", action="terminated", node=token.node)
        elif not inst.tokens:
            engine.finish(inst, "completed")


class ScriptBehaviour(NodeBehaviour):
    type = "script"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        graph = engine.graph(inst)
        context = engine.context(inst)
        for name, rule in graph.scripts[token.node]:
            value = rule(context)
            inst.variables[name] = value
            context[name] = value
        inst.dirty = True
        engine.leave(inst, token)


class UserTaskBehaviour(NodeBehaviour):
    type = "user_task"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        engine.park(inst, token)
        engine.request_assignment(inst, token)
        engine.arm_boundaries(inst, token)
        visited = inst.visited
        if not visited or visited[-1] != token.node:
            if token.node in visited:
                visited.remove(token.node)  # each node once, the latest visit last
            visited.append(token.node)
            inst.dirty = True


class ServiceBehaviour(NodeBehaviour):
    type = "service_task"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        engine.park(inst, token)
        # A fresh id per visit: a late duplicate of an earlier visit's job cannot advance it.
        job = inst.next_seq()
        token.data = {"job": job}
        inst.effects.append(Effect("service", token.seq, token.node, {"job": job}))
        engine.arm_boundaries(inst, token)


class CallBehaviour(NodeBehaviour):
    type = "call_activity"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        engine.park(inst, token)
        context = engine.context(inst)
        inputs = {name: rule(context) for name, rule in engine.graph(inst).inputs[token.node]}
        flow = getattr(node, "flow", "")
        # A fresh id per visit, as for service jobs: a late child_done cannot advance a later one.
        call = inst.next_seq()
        token.data = {"call": call}
        inst.effects.append(
            Effect("call", token.seq, token.node, {"flow": flow, "variables": inputs, "call": call})
        )
        engine.arm_boundaries(inst, token)


class ExclusiveBehaviour(NodeBehaviour):
    type = "exclusive_gateway"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        graph = engine.graph(inst)
        outs = graph.outgoing[token.node]
        if len(outs) == 1 and outs[0].condition is None:
            engine.move(inst, token, outs[0])
            return
        context = engine.context(inst)
        default = getattr(node, "default", None)
        conditions = graph.conditions
        for edge in outs:
            if edge.id != default and (
                edge.condition is None or truthy(conditions[edge.id](context))
            ):
                engine.move(inst, token, edge)
                return
        if default is not None:
            engine.move(inst, token, graph.edges[default])
            return
        engine.fail(
            inst, "no_path", "no condition holds and the gateway has no default", token.node
        )


class ParallelBehaviour(NodeBehaviour):
    type = "parallel_gateway"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        graph = engine.graph(inst)
        incoming = graph.incoming[token.node]
        if len(incoming) > 1:
            # Wait for a token on every incoming edge; the arriving token stands for its own
            # edge (others that came the same way, e.g. around a loop, wait for the next round).
            engine.park(inst, token)
            arrived: dict[str | None, Token] = {token.via: token}
            for other in inst.tokens.values():
                if (
                    other.node == token.node
                    and other.status == WAITING
                    and other.via not in arrived
                ):
                    arrived[other.via] = other
            for edge in incoming:
                if edge.id not in arrived:
                    return
            for edge in incoming:
                other = arrived[edge.id]
                if other is not token:
                    engine.consume(inst, other)
        engine.fork(inst, token, graph.outgoing[token.node])


class InclusiveBehaviour(NodeBehaviour):
    type = "inclusive_gateway"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        graph = engine.graph(inst)
        if len(graph.incoming[token.node]) > 1:
            engine.park(inst, token)
            if not engine.inclusive_ready(inst, token.node):
                return
            for other in list(inst.tokens.values()):
                if other.node == token.node and other is not token:
                    engine.consume(inst, other)
        self.split(engine, inst, token, node)

    @staticmethod
    def split(engine: Engine, inst: Instance, token: Token, node: object) -> None:
        graph = engine.graph(inst)
        context = engine.context(inst)
        default = getattr(node, "default", None)
        chosen = [
            e
            for e in graph.outgoing[token.node]
            if e.id != default and (e.condition is None or truthy(graph.conditions[e.id](context)))
        ]
        if not chosen and default is not None:
            chosen = [graph.edges[default]]
        if not chosen:
            engine.fail(
                inst, "no_path", "no condition holds and the gateway has no default", token.node
            )
            return
        engine.fork(inst, token, chosen)


class TimerBehaviour(NodeBehaviour):
    type = "timer"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        engine.park(inst, token)
        assert isinstance(node, TimerEvent)
        engine.add_timer(inst, token.node, token.seq, node.timer, None)


class BoundaryBehaviour(NodeBehaviour):
    """A token stands on a boundary timer only after it fired: it leaves at once."""

    type = "boundary_timer"

    def enter(self, engine: Engine, inst: Instance, token: Token, node: object) -> None:
        engine.leave(inst, token)


NODE_BEHAVIOURS: Registry[NodeBehaviour] = Registry(
    "flow_node",
    [
        StartBehaviour(),
        EndBehaviour(),
        ScriptBehaviour(),
        UserTaskBehaviour(),
        ServiceBehaviour(),
        CallBehaviour(),
        ExclusiveBehaviour(),
        ParallelBehaviour(),
        InclusiveBehaviour(),
        TimerBehaviour(),
        BoundaryBehaviour(),
    ],
)

__all__ = ["NODE_BEHAVIOURS", "NodeBehaviour", "Timer", "parse_duration"]
