"""The token-based interpreter (DESIGN §4, §10.6).

Every public method is one transition: it changes an :class:`Instance` in memory, steps it
with :meth:`Engine.run` until only tasks, timers, jobs, joins or calls remain, and leaves
behind the effects and history the caller persists (the runtime does that in one database
transaction with an optimistic lock on the instance; the benchmark keeps it in memory).

Assignments are resolved outside the engine (they need the organisation): a token reaching a
user task adds an :class:`Assignment` to ``inst.pending``; the caller resolves it and calls
:meth:`Engine.assign`, which creates the tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from engines.flow.errors import BadAction, FlowError, InstanceFinished, TaskNotOpen
from engines.flow.graph import Graph, graph_of
from engines.flow.model import DEFAULT_CALENDAR, Edge, Flow, UserTask, parse_duration
from engines.flow.model import Timer as TimerSpec
from engines.flow.nodes import NODE_BEHAVIOURS, InclusiveBehaviour
from engines.flow.state import (
    ADMINS,
    CANCELLED,
    CLEAN,
    COMPLETED,
    DIRTY,
    DONE,
    FAILED,
    FIRED,
    NEW,
    OPEN,
    PENDING,
    READY,
    REJECTED,
    RUNNING,
    VOID,
    WAITING,
    Assignment,
    Effect,
    Event,
    Instance,
    Resolution,
    Task,
    Timer,
    Token,
)
from engines.logic import LogicError, compile_rule
from engines.rules.calendar import BusinessCalendar, CalendarError, load_calendar

OUTCOMES = {"complete": "completed", "approve": "approved", "reject": "rejected"}


def utc_now() -> datetime:
    return datetime.now(UTC)


#: Finds the business calendar a timer names (None: the default one).
Calendars = Callable[[str | None], BusinessCalendar]


def shipped_calendars(name: str | None) -> BusinessCalendar:
    """The calendar lookup of instances given none: the shipped calendars only."""
    return load_calendar(name or DEFAULT_CALENDAR)


def _touch(item: Any) -> None:
    if item.state == CLEAN:
        item.state = DIRTY


class Engine:
    """Stateless apart from its clock; one engine serves every instance."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.clock = clock
        self._behaviours = NODE_BEHAVIOURS.as_mapping()

    # --- helpers the node behaviours use -----------------------------------------------------

    @staticmethod
    def graph(inst: Instance) -> Graph:
        graph: Graph | None = inst.graph
        if graph is None or graph.flow is not inst.flow:
            graph = inst.graph = graph_of(inst.flow)
        return graph

    @staticmethod
    def context(inst: Instance) -> dict[str, Any]:
        """What conditions and rules read: variables, ``record``, ``starter``, ``instance``."""
        context = dict(inst.variables)
        context["record"] = inst.record or {}
        context["starter"] = inst.started_by
        context["instance"] = {"id": inst.id}
        return context

    def _event(self, inst: Instance, action: str, **kw: Any) -> None:
        inst.history.append(Event(self.clock(), action, **kw))

    def park(self, inst: Instance, token: Token) -> None:
        token.status = WAITING
        _touch(token)

    def move(self, inst: Instance, token: Token, edge: Edge) -> None:
        token.node = edge.target
        token.via = edge.id
        token.status = READY
        token.data = None
        _touch(token)
        inst.queue.append(token)

    def leave(self, inst: Instance, token: Token) -> None:
        """Take the node's only outgoing edge."""
        self.move(inst, token, self.graph(inst).outgoing[token.node][0])

    def fork(self, inst: Instance, token: Token, edges: list[Edge]) -> None:
        """Send ``token`` along the first edge and a new token along each other one."""
        first, *rest = edges
        for edge in rest:
            twin = Token(inst.next_seq(), token.node)
            inst.tokens[twin.seq] = twin
            self.move(inst, twin, edge)
        self.move(inst, token, first)

    def consume(self, inst: Instance, token: Token) -> None:
        """The token has ended (or merged into another)."""
        if inst.tokens.pop(token.seq, None) is not None and token.state != NEW:
            inst.gone_tokens.append(token.seq)
        token.status = "done"

    def finish(
        self,
        inst: Instance,
        status: str,
        *,
        action: str | None = None,
        node: str | None = None,
        actor: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """End the instance: every live token, task and timer is cancelled."""
        self._cancel_all(inst)
        inst.status = status
        inst.dirty = True
        self._event(inst, action or status, actor=actor, node=node, data=data)

    def fail(self, inst: Instance, code: str, message: str, node: str | None) -> None:
        """Stop the instance with an error on it. Its tokens stay where they stand (to show
        where it stopped); its open tasks, pending timers and running children are cancelled,
        since nobody can work them any more."""
        self._cancel_work(inst)
        inst.status = FAILED
        inst.error = {"code": code, "message": message, "node": node}
        inst.dirty = True
        self._event(inst, "failed", node=node, data=inst.error)

    def _cancel_work(self, inst: Instance) -> None:
        """Cancel every open task, pending timer, running child and pending assignment."""
        for task in inst.tasks.values():
            if task.status == OPEN:
                task.status = VOID
                _touch(task)
        for timer in inst.timers.values():
            if timer.status == PENDING:
                timer.status = VOID
                _touch(timer)
        nodes = self.graph(inst).nodes
        for token in inst.tokens.values():
            if token.status == WAITING and nodes[token.node].type == "call_activity":
                self._cancel_call(inst, token)
        inst.queue.clear()
        inst.pending.clear()

    def _cancel_all(self, inst: Instance) -> None:
        self._cancel_work(inst)
        for token in list(inst.tokens.values()):
            self.consume(inst, token)

    @staticmethod
    def _cancel_call(inst: Instance, token: Token) -> None:
        call = (token.data or {}).get("call")
        inst.effects.append(Effect("cancel_call", token.seq, token.node, {"call": call}))

    def _cancel_token(self, inst: Instance, token: Token) -> None:
        """End one token where it stands: its tasks, timers and child are cancelled."""
        if token.status == WAITING and self.graph(inst).nodes[token.node].type == "call_activity":
            self._cancel_call(inst, token)
        self._close_activity(inst, token)
        self.consume(inst, token)

    def request_assignment(self, inst: Instance, token: Token) -> None:
        token.data = {"assign": True}
        _touch(token)
        inst.pending.append(Assignment(token.seq, token.node))

    def arm_boundaries(self, inst: Instance, token: Token) -> None:
        for boundary in self.graph(inst).boundaries.get(token.node, ()):
            self.add_timer(inst, boundary.id, token.seq, boundary.timer, token.seq)

    def add_timer(
        self, inst: Instance, node: str, token: int, spec: TimerSpec, boundary_of: int | None
    ) -> None:
        now = self.clock()
        if spec.duration is not None and spec.business_hours:
            calendar = (inst.calendars or shipped_calendars)(spec.calendar)
            due = calendar.add_business(now, parse_duration(spec.duration)).astimezone(UTC)
        elif spec.duration is not None:
            due = now + parse_duration(spec.duration)
        else:
            # No date (an empty field): the wait is over at once rather than never.
            due = _as_datetime(compile_rule(spec.at)(self.context(inst))) or now
        timer = Timer(inst.next_seq(), node, token, due, boundary_of=boundary_of)
        inst.timers[timer.seq] = timer
        inst.effects.append(Effect("timer", token, node, {"timer": timer.seq, "due_at": due}))

    def inclusive_ready(self, inst: Instance, gateway: str) -> bool:
        """An OR-join fires when no live token elsewhere can still reach it."""
        upstream = self.graph(inst).upstream[gateway]
        return not any(t.node in upstream for t in inst.tokens.values() if t.node != gateway)

    # --- stepping ------------------------------------------------------------------------------

    def run(self, inst: Instance) -> None:
        """Step every ready token until each one waits (``run_until_wait``)."""
        queue = inst.queue
        limit = inst.flow.step_limit
        steps = 0
        nodes = self.graph(inst).nodes
        behaviours = self._behaviours
        while True:
            while queue and inst.status == RUNNING:
                token = queue.pop()
                if token.status != READY or inst.tokens.get(token.seq) is not token:
                    continue
                steps += 1
                if steps > limit:
                    self.fail(
                        inst,
                        "step_limit",
                        f"more than {limit} steps without a wait: a loop that never stops?",
                        token.node,
                    )
                    return
                node = nodes[token.node]
                try:
                    behaviours[node.type].enter(self, inst, token, node)
                except LogicError as exc:
                    self.fail(inst, "rule_error", str(exc), token.node)
                    return
                except CalendarError as exc:
                    self.fail(inst, "calendar_error", exc.message(), token.node)
                    return
            if inst.status != RUNNING or not self._wake_inclusive_joins(inst):
                return

    def _wake_inclusive_joins(self, inst: Instance) -> bool:
        """After branches ended elsewhere, an OR-join may be complete."""
        graph = self.graph(inst)
        if not graph.upstream:
            return False
        for token in list(inst.tokens.values()):
            node = graph.nodes[token.node]
            if (
                node.type == "inclusive_gateway"
                and token.status == WAITING
                and self.inclusive_ready(inst, token.node)
            ):
                for other in list(inst.tokens.values()):
                    if other.node == token.node and other is not token:
                        self.consume(inst, other)
                token.status = READY
                InclusiveBehaviour.split(self, inst, token, node)
                return True
        return False

    # --- transitions -------------------------------------------------------------------------

    def start(
        self,
        flow: Flow,
        *,
        variables: dict[str, Any] | None = None,
        record: dict[str, Any] | None = None,
        started_by: int | None = None,
        instance_id: int | None = None,
        calendars: Calendars | None = None,
    ) -> Instance:
        """A new instance of ``flow``, stepped until it waits; ``calendars`` finds the
        business calendars its timers name (default: the shipped ones)."""
        graph = graph_of(flow)
        if not graph.starts:
            raise FlowError("no_start", "the flow has no start event")
        inst = Instance(
            flow,
            id=instance_id,
            variables=dict(variables or {}),
            record=record,
            started_by=started_by,
        )
        inst.calendars = calendars
        inst.dirty = True
        token = Token(inst.next_seq(), graph.starts[0])
        inst.tokens[token.seq] = token
        inst.queue.append(token)
        self._event(
            inst,
            "started",
            actor=started_by,
            data={"variables": dict(inst.variables)} if inst.variables else None,
        )
        self.run(inst)
        return inst

    def assign(self, inst: Instance, assignment: Assignment, resolution: Resolution) -> list[Task]:
        """Create the tasks of a user task whose assignee resolved to ``resolution``."""
        token = inst.tokens.get(assignment.token)
        if (
            token is None
            or inst.status != RUNNING
            or token.node != assignment.node
            or token.status != WAITING
            or not (token.data or {}).get("assign")
        ):
            return []  # stale or already assigned: never a second set of tasks
        if not resolution:
            resolution = ADMINS  # a task never vanishes
        node: UserTask = self.graph(inst).nodes[token.node]
        now = self.clock()
        due = now + parse_duration(node.due) if node.due else None
        users = list(dict.fromkeys(resolution.users))
        if node.countersign is None:
            if len(users) == 1 and not resolution.pools:
                task = self._new_task(inst, token, now, due, assignee=users[0])
            else:
                pools = [["user", u] for u in users] + [list(p) for p in resolution.pools]
                task = self._new_task(inst, token, now, due, candidates=pools)
            token.data = None
            _touch(token)
            return [task]
        # Every user signs; pools (nobody expanded them to users) make one more signer whose
        # task one of their members claims — or, with ``pools: one``, one signer each.
        signers: list[Any] = users
        if resolution.pools and node.countersign.pools == "one":
            signers.extend({"pools": [list(p)]} for p in resolution.pools)
        elif resolution.pools:
            signers.append({"pools": [list(p) for p in resolution.pools]})
        token.data = {"signers": signers, "approve": 0, "reject": 0, "next": 0}
        _touch(token)
        count = 1 if node.countersign.sequential else len(signers)
        return [self._signer_task(inst, token, now, due) for _ in range(count)]

    def _signer_task(
        self, inst: Instance, token: Token, now: datetime, due: datetime | None
    ) -> Task:
        data = token.data or {}
        index = data["next"]
        data["next"] = index + 1
        signer = data["signers"][index]
        if isinstance(signer, dict):
            pools = [list(p) for p in signer["pools"]]
            return self._new_task(inst, token, now, due, candidates=pools, signer=index)
        return self._new_task(inst, token, now, due, assignee=signer, signer=index)

    def _new_task(
        self,
        inst: Instance,
        token: Token,
        now: datetime,
        due: datetime | None,
        *,
        assignee: int | None = None,
        candidates: list[list[Any]] | None = None,
        signer: int | None = None,
    ) -> Task:
        task = Task(
            inst.next_seq(),
            token.node,
            token.seq,
            now,
            assignee=assignee,
            candidates=candidates or [],
            due_at=due,
            signer=signer,
        )
        inst.tasks[task.seq] = task
        self._event(
            inst,
            "task_created",
            node=token.node,
            task=task.seq,
            data={"assignee": assignee, "candidates": task.candidates}
            if candidates
            else {"assignee": assignee},
        )
        users = [assignee] if assignee is not None else []
        inst.effects.append(
            Effect(
                "notify",
                token.seq,
                token.node,
                {
                    "task": task.seq,
                    "users": users,
                    "candidates": task.candidates,
                    "why": "assigned",
                },
            )
        )
        node = self.graph(inst).nodes[token.node]
        if node.cc and signer in (None, 0):
            inst.effects.append(
                Effect(
                    "notify",
                    token.seq,
                    token.node,
                    {"task": task.seq, "cc": [c.model_dump() for c in node.cc], "why": "cc"},
                )
            )
        return task

    def _open_task(self, inst: Instance, seq: int) -> Task:
        if inst.status != RUNNING:
            raise InstanceFinished(inst.status)
        task = inst.tasks.get(seq)
        if task is None or task.status != OPEN:
            raise TaskNotOpen(seq, task.status if task else None)
        return task

    def complete(
        self,
        inst: Instance,
        seq: int,
        *,
        user: int | None,
        action: str = "complete",
        variables: dict[str, Any] | None = None,
        record_changes: dict[str, Any] | None = None,
        comment: str | None = None,
    ) -> Task:
        """Complete (or approve / reject) task ``seq`` with the data the user submitted."""
        task = self._open_task(inst, seq)
        outcome = OUTCOMES.get(action)
        if outcome is None:
            raise BadAction("bad_action", f"unknown action {action!r}", action=action)
        node: UserTask = self.graph(inst).nodes[task.node]
        task.status = DONE
        task.outcome = outcome
        task.completed_by = user
        task.completed_at = self.clock()
        task.comment = comment
        data: dict[str, Any] = {}
        if variables:
            inst.variables.update(variables)
            data["variables"] = variables
            inst.dirty = True
        if record_changes:
            if inst.record is not None:
                inst.record.update(record_changes)
            data["record"] = record_changes
        task.data = data or None
        _touch(task)
        self._event(
            inst,
            "task_completed" if action == "complete" else action,
            actor=user,
            node=task.node,
            task=seq,
            data={**data, "comment": comment} if comment else (data or None),
        )
        token = inst.tokens[task.token]
        if node.countersign is None:
            self._decide(inst, token, node, outcome, user)
        else:
            self._tally(inst, token, node, outcome, user)
        self.run(inst)
        return task

    def _tally(
        self, inst: Instance, token: Token, node: UserTask, outcome: str, user: int | None
    ) -> None:
        """Count a signer's vote; decide as soon as the outcome is certain (early completion).

        ``need`` approvals decide for approval, more than ``total - need`` rejections for
        rejection; every signer voting always decides, so a sequential countersign that is
        still open has a next signer. ``n`` above the number of signers means all of them.
        """
        countersign = node.countersign
        assert countersign is not None and token.data is not None
        data = token.data
        votes = "reject" if outcome == "rejected" else "approve"
        data[votes] += 1
        _touch(token)
        total = len(data["signers"])
        approve, reject = data["approve"], data["reject"]
        if countersign.mode == "all":
            need = total
        elif countersign.mode == "any":
            need = 1
        else:
            need = min(countersign.n or 1, total)
        if approve >= need:
            self._decide(inst, token, node, "approved", user)
        elif reject > total - need:
            self._decide(inst, token, node, "rejected", user)
        elif countersign.sequential:
            now = self.clock()
            due = now + parse_duration(node.due) if node.due else None
            self._signer_task(inst, token, now, due)

    def _decide(
        self, inst: Instance, token: Token, node: UserTask, outcome: str, user: int | None
    ) -> None:
        """The user task is done with ``outcome``: close what is left of it and move on."""
        self._close_activity(inst, token)
        inst.variables["outcome"] = outcome
        inst.dirty = True
        if node.countersign is not None:
            data = token.data or {}
            self._event(
                inst,
                "countersign_decided",
                node=node.id,
                data={
                    "outcome": outcome,
                    "approve": data.get("approve"),
                    "reject": data.get("reject"),
                    "signers": len(data.get("signers", ())),
                },
            )
        if outcome == "rejected" and node.on_reject == "end":
            self.finish(inst, REJECTED, node=node.id, actor=user)
            return
        self.leave(inst, token)

    def _close_activity(self, inst: Instance, token: Token) -> None:
        """Cancel the open tasks and the pending timers (boundary or intermediate) of a token."""
        seq = token.seq
        for task in inst.tasks.values():
            if task.token == seq and task.status == OPEN:
                task.status = VOID
                _touch(task)
        for timer in inst.timers.values():
            if timer.token == seq and timer.status == PENDING:
                timer.status = VOID
                _touch(timer)

    # task handling without completing it

    def claim(self, inst: Instance, seq: int, user: int) -> Task:
        task = self._open_task(inst, seq)
        if task.assignee is not None:
            raise FlowError(
                "task_taken", "the task already has an assignee", assignee=task.assignee
            )
        task.assignee = user
        _touch(task)
        self._event(inst, "claimed", actor=user, node=task.node, task=seq)
        return task

    def release(self, inst: Instance, seq: int, user: int | None) -> Task:
        task = self._open_task(inst, seq)
        if not task.candidates:
            raise BadAction("not_pooled", "only a task offered to a pool can be released")
        task.assignee = None
        _touch(task)
        self._event(inst, "released", actor=user, node=task.node, task=seq)
        return task

    def transfer(
        self, inst: Instance, seq: int, by: int | None, to: int, comment: str | None = None
    ) -> Task:
        """Hand the task to another user 转交 (in a countersign, the vote goes with it)."""
        task = self._open_task(inst, seq)
        if task.signer is not None:
            token = inst.tokens[task.token]
            signers = (token.data or {})["signers"]
            if to in signers and signers.index(to) != task.signer:
                raise FlowError("already_signer", "that user already signs here", user=to)
            signers[task.signer] = to
            _touch(token)
        previous = task.assignee
        task.assignee = to
        _touch(task)
        self._event(
            inst,
            "transferred",
            actor=by,
            node=task.node,
            task=seq,
            data={"from": previous, "to": to, "comment": comment},
        )
        inst.effects.append(
            Effect(
                "notify", task.token, task.node, {"task": seq, "users": [to], "why": "transferred"}
            )
        )
        return task

    def add_signer(self, inst: Instance, seq: int, by: int | None, user: int) -> Task | None:
        """Add a signer 加签 to the countersign task ``seq`` belongs to.

        In parallel mode the new signer gets a task at once (returned); in sequential mode the
        new signer signs right after the current one (None is returned)."""
        task = self._open_task(inst, seq)
        node: UserTask = self.graph(inst).nodes[task.node]
        if node.countersign is None or not node.countersign.allow_add_signer:
            raise BadAction(
                "not_countersign", "signers can only be added to a countersign that allows it"
            )
        token = inst.tokens[task.token]
        data = token.data or {}
        if user in data["signers"]:
            raise FlowError("already_signer", "that user already signs here", user=user)
        if node.countersign.sequential:
            data["signers"].insert(data["next"], user)
        else:
            data["signers"].append(user)
        _touch(token)
        self._event(inst, "signer_added", actor=by, node=task.node, task=seq, data={"user": user})
        if node.countersign.sequential:
            return None
        now = self.clock()
        return self._signer_task(inst, token, now, task.due_at)

    def return_targets(self, inst: Instance, seq: int) -> list[str]:
        """The user tasks task ``seq`` may be returned to 退回, latest visited first: nodes this
        instance passed that lie upstream of the task (within the node's ``return_to`` when it
        has one), and from which the flow can go on without waiting forever at a parallel join
        whose other branches are gone."""
        task = self._open_task(inst, seq)
        node: UserTask = self.graph(inst).nodes[task.node]
        token = inst.tokens[task.token]
        upstream = self.graph(inst).upstream_of(task.node)
        listed = set(node.return_to) if node.return_to else None
        return [
            n
            for n in reversed(inst.visited)
            if n != task.node
            and n in upstream
            and (listed is None or n in listed)
            and self._return_plan(inst, token, n) is not None
        ]

    def _return_plan(self, inst: Instance, token: Token, target: str) -> list[Token] | None:
        """The tokens a return to ``target`` cancels, or None when it would deadlock.

        A restart at ``target`` replaces the tokens it can produce again: the returning one,
        and every token whose arrival edge starts in the restart's region (the nodes it can
        reach without passing a join, see :meth:`Graph.restart_region`). Tokens of other
        parallel branches stay, with their tasks. The return is refused when a parallel join
        in the region would wait for a branch nothing can bring any more (returning into a
        branch of a region already joined, or from one branch into another)."""
        graph = self.graph(inst)
        reach = graph.restart_region(target)
        edges = graph.edges
        cancel: list[Token] = []
        kept: list[Token] = []
        for other in inst.tokens.values():
            via = edges.get(other.via) if other.via is not None else None
            source = via.source if via is not None else other.node
            if other is token or other.node == target or source in reach:
                cancel.append(other)
            else:
                kept.append(other)
        for join_id in reach:
            incoming = graph.incoming[join_id]
            if graph.nodes[join_id].type != "parallel_gateway" or len(incoming) < 2:
                continue
            for edge in incoming:
                if edge.source in reach:
                    continue
                feeders = graph.upstream_of(edge.source)
                if not any(
                    (k.node == join_id and k.via == edge.id)
                    or (k.node != join_id and k.node in feeders)
                    for k in kept
                ):
                    return None
        return cancel

    def return_to(
        self, inst: Instance, seq: int, *, user: int | None, target: str, comment: str | None = None
    ) -> None:
        """Send the instance back to an earlier user task 退回: the tokens the restart replaces
        are cancelled with their tasks and timers (all of them, unless the task is in a
        parallel branch and returns within it), and a token starts again at ``target``."""
        allowed = self.return_targets(inst, seq)
        if target not in allowed:
            raise BadAction(
                "bad_return_target",
                f"this task cannot return to {target!r}",
                allowed=allowed,
            )
        task = inst.tasks[seq]
        token = inst.tokens[task.token]
        cancel = self._return_plan(inst, token, target) or [token]
        task.status = DONE
        task.outcome = "returned"
        task.completed_by = user
        task.completed_at = self.clock()
        task.comment = comment
        _touch(task)
        for other in cancel:
            self._cancel_token(inst, other)
        inst.pending = [a for a in inst.pending if a.token in inst.tokens]
        # Nodes the restart passes again are visited anew (the target included).
        reach = self.graph(inst).restart_region(target)
        inst.visited = [n for n in inst.visited if n not in reach]
        restart = Token(inst.next_seq(), target)
        inst.tokens[restart.seq] = restart
        inst.queue.append(restart)
        inst.dirty = True
        self._event(
            inst,
            "returned",
            actor=user,
            node=task.node,
            task=seq,
            data={"to": target, "comment": comment} if comment else {"to": target},
        )
        self.run(inst)

    # outside events

    def fire_timer(self, inst: Instance, seq: int) -> bool:
        """A timer's time has come; False (and nothing changes) when it no longer matters:
        cancelled, already fired, or its instance is over."""
        timer = inst.timers.get(seq)
        if timer is None or timer.status != PENDING or inst.status != RUNNING:
            return False
        graph = self.graph(inst)
        token = inst.tokens.get(timer.token if timer.boundary_of is None else timer.boundary_of)
        node = graph.nodes[timer.node]
        where = timer.node if timer.boundary_of is None else node.attached_to
        if token is None or token.node != where or token.status != WAITING:
            return False
        timer.status = FIRED
        _touch(timer)
        self._event(inst, "timer_fired", node=timer.node, data={"timer": seq})
        if timer.boundary_of is None:
            self.leave(inst, token)
        else:
            if node.interrupting:
                self._cancel_token(inst, token)
            escape = Token(inst.next_seq(), timer.node)
            inst.tokens[escape.seq] = escape
            self.leave(inst, escape)
        self.run(inst)
        return True

    def service_done(
        self,
        inst: Instance,
        token_seq: int,
        *,
        job: int | None = None,
        variables: dict[str, Any] | None = None,
        record_changes: dict[str, Any] | None = None,
    ) -> bool:
        """A service task's job succeeded; False when its token is gone (interrupted, ended)
        or has moved on (``job`` is the visit id the job was created for)."""
        if not self._job_matches(inst, token_seq, "job", job):
            return False
        token = inst.tokens[token_seq]
        if variables:
            inst.variables.update(variables)
            inst.dirty = True
        if record_changes and inst.record is not None:
            inst.record.update(record_changes)
        self._event(
            inst,
            "service_done",
            node=token.node,
            data={k: v for k, v in (("variables", variables), ("record", record_changes)) if v}
            or None,
        )
        self._close_activity(inst, token)
        self.leave(inst, token)
        self.run(inst)
        return True

    def service_failed(
        self, inst: Instance, token_seq: int, error: str, *, job: int | None = None
    ) -> bool:
        """A service task's job failed for good: the instance stops there (False when the job
        is stale, as for :meth:`service_done`)."""
        if not self._job_matches(inst, token_seq, "job", job):
            return False
        self.fail(inst, "service_failed", error, inst.tokens[token_seq].node)
        return True

    @staticmethod
    def _job_matches(inst: Instance, token_seq: int, kind: str, visit: int | None) -> bool:
        """Whether token ``token_seq`` still waits for the job or child (``kind``) of visit
        ``visit`` (None: of its current visit)."""
        token = inst.tokens.get(token_seq)
        if token is None or inst.status != RUNNING or token.status != WAITING:
            return False
        expected = (token.data or {}).get(kind)
        return expected is not None and (visit is None or visit == expected)

    def child_done(
        self,
        inst: Instance,
        token_seq: int,
        child_variables: dict[str, Any],
        *,
        call: int | None = None,
    ) -> bool:
        """The flow a call activity started has ended; its outputs become variables here.
        False when the token no longer waits for that child (``call`` is the visit id of the
        ``call`` effect)."""
        if not self._job_matches(inst, token_seq, "call", call):
            return False
        token = inst.tokens[token_seq]
        context = dict(child_variables)
        outputs = {
            name: rule(context) for name, rule in self.graph(inst).outputs.get(token.node, ())
        }
        if outputs:
            inst.variables.update(outputs)
            inst.dirty = True
        self._event(
            inst, "call_done", node=token.node, data={"outputs": outputs} if outputs else None
        )
        self._close_activity(inst, token)
        self.leave(inst, token)
        self.run(inst)
        return True

    def cancel(self, inst: Instance, *, user: int | None, reason: str | None = None) -> None:
        """Cancel the instance (a failed one too: cancelling is how it is put away)."""
        if inst.status in (COMPLETED, REJECTED, CANCELLED):
            raise InstanceFinished(inst.status)
        self.finish(inst, CANCELLED, actor=user, data={"reason": reason} if reason else None)

    def record_changed(self, inst: Instance, record: dict[str, Any]) -> None:
        """Refresh the record the conditions read (after a write outside the flow)."""
        inst.record = record


def open_tasks_for(inst: Instance, user: int) -> Iterable[Task]:
    return (t for t in inst.tasks.values() if t.status == OPEN and t.assignee == user)


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
