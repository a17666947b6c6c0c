"""Helpers for the flow engine tests: flows from ``data/``, an organisation to resolve
assignees against, a manual clock, and a store that checks the new/dirty/clean marks the way
a persistence layer relies on them (every change must be marked, consumed tokens listed)."""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from engines.flow.engine import Engine
from engines.flow.memory import MemoryRunner, Service
from engines.flow.model import Assignee, Flow, load
from engines.flow.state import (
    CLEAN,
    DIRTY,
    FAILED,
    NEW,
    OPEN,
    PENDING,
    WAITING,
    Instance,
    Resolution,
    Task,
    Timer,
)
from engines.form.schema import FormSchema
from engines.logic import evaluate

DATA = Path(__file__).parent / "data"
FORMS = Path(__file__).parents[1] / "form" / "data"

USERS = {"alice": 1, "bob": 2, "carol": 3, "dave": 4, "erin": 5, "tech": 11, "manager": 12}
USERS["agent"] = 13
#: Roles whose members the organisation knows (a countersign's signers); other roles, groups
#: and departments resolve to a pool.
ROLE_MEMBERS = {"signers": [1, 2, 3], "nobody": []}
#: Department heads by department code.
HEADS = {"sales": 4}


def doc(name: str) -> dict[str, Any]:
    """A flow document from ``data/`` (a fresh copy, to change in a test)."""
    with (DATA / f"{name}.json").open(encoding="utf-8") as fh:
        result: dict[str, Any] = json.load(fh)
    return result


def flow(name: str) -> Flow:
    return load(doc(name))


def ticket_form() -> FormSchema:
    with (FORMS / "ticket.json").open(encoding="utf-8") as fh:
        return FormSchema.model_validate(json.load(fh))


def node_of(document: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in document["nodes"] if n["id"] == node_id)


def edge_of(document: dict[str, Any], edge_id: str) -> dict[str, Any]:
    return next(e for e in document["edges"] if e["id"] == edge_id)


def variant(name: str, **nodes: dict[str, Any]) -> Flow:
    """Flow ``name`` with some nodes' settings changed (``sign={"countersign": {...}}``)."""
    document = doc(name)
    for node_id, changes in nodes.items():
        node_of(document, node_id).update(changes)
    return load(document)


def resolver(inst: Instance, assignee: Assignee) -> Resolution:
    """The test organisation."""
    kind, key = assignee.kind, assignee.key
    if kind == "user":
        return Resolution(users=[USERS[key]] if key in USERS else [])
    if kind == "starter":
        return Resolution(users=[inst.started_by] if inst.started_by is not None else [])
    if kind == "role" and key in ROLE_MEMBERS:
        return Resolution(users=list(ROLE_MEMBERS[key]))
    if kind in {"role", "group", "department"}:
        return Resolution(pools=[[kind, key]])
    if kind == "field":
        value = (inst.record or {}).get(key or "")
        users = value if isinstance(value, list) else [value] if value is not None else []
        return Resolution(users=users)
    if kind == "department_head":
        head = HEADS.get(key or "sales")
        return Resolution(users=[head] if head is not None else [])
    if kind == "rule":
        value = evaluate(assignee.rule, Engine.context(inst))
        names = value if isinstance(value, list) else [value] if value else []
        return Resolution(users=[USERS[n] for n in names if n in USERS])
    raise AssertionError(kind)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def _snapshot(item: Any) -> dict[str, Any]:
    return {
        f.name: copy.deepcopy(getattr(item, f.name))
        for f in fields(item)
        if f.name not in {"state", "id"}
    }


def _row(inst: Instance) -> dict[str, Any]:
    return copy.deepcopy(
        {
            "status": inst.status,
            "variables": inst.variables,
            "seq": inst.seq,
            "error": inst.error,
            "visited": inst.visited,
        }
    )


class Store:
    """Persists instances as snapshots, the way the runtime writes rows: only items marked
    new or dirty, deleting the consumed tokens listed in ``gone_tokens``. ``save`` fails when
    a change was not marked (a store relying on the marks would lose it)."""

    def __init__(self) -> None:
        self.saved: dict[int, dict[str, Any]] = {}
        self.writes = 0
        self._keep: list[Instance] = []  # so that no id() is reused

    def save(self, inst: Instance) -> None:
        before = self.saved.get(id(inst))
        if before is None:
            assert inst.dirty, "a new instance must be marked dirty"
            self._keep.append(inst)
        elif _row(inst) != before["row"]:
            assert inst.dirty, f"instance row changed unmarked: {_row(inst)} != {before['row']}"
        after: dict[str, Any] = {"row": _row(inst)}
        for kind in ("tokens", "tasks", "timers"):
            items: dict[int, Any] = getattr(inst, kind)
            old: dict[int, Any] = before[kind] if before else {}
            snaps = {}
            for seq, item in items.items():
                snap = _snapshot(item)
                if seq not in old:
                    assert item.state == NEW, f"{kind} {seq} is new but marked {item.state}"
                elif snap != old[seq]:
                    assert item.state == DIRTY, (
                        f"{kind} {seq} changed but is marked {item.state}: {old[seq]} -> {snap}"
                    )
                if item.state != CLEAN:
                    self.writes += 1
                item.state = CLEAN
                snaps[seq] = snap
            if kind == "tokens":
                gone = set(old) - set(items)
                assert set(inst.gone_tokens) == gone, (inst.gone_tokens, gone)
                assert len(inst.gone_tokens) == len(set(inst.gone_tokens))
            else:
                assert set(old) <= set(items), f"{kind} rows vanished"
            after[kind] = snaps
        inst.dirty = False
        inst.gone_tokens.clear()
        self.saved[id(inst)] = after


def check_invariants(inst: Instance) -> None:
    """What must hold whenever a transition is over (and assignments are resolved)."""
    graph = Engine.graph(inst)
    assert not inst.queue
    assert not inst.pending
    tasks_by_token: dict[int, list[Task]] = {}
    for task in inst.tasks.values():
        assert task.status in {OPEN, "completed", "cancelled"}
        if task.status == OPEN:
            tasks_by_token.setdefault(task.token, []).append(task)
        elif task.status == "completed":
            assert task.outcome is not None
    pending = [t for t in inst.timers.values() if t.status == PENDING]
    if inst.finished:
        assert not tasks_by_token, "an open task on a finished instance"
        assert not pending, "a pending timer on a finished instance"
        if inst.status != FAILED:
            assert not inst.tokens
        else:
            assert inst.error is not None
        return
    assert inst.tokens, "a running instance without tokens"
    for token in inst.tokens.values():
        assert token.node in graph.nodes
        assert token.status == WAITING, f"token {token.seq} at {token.node} is {token.status}"
        node = graph.nodes[token.node]
        if node.type == "user_task":
            assert tasks_by_token.get(token.seq), f"user task {token.node} without a task"
        else:
            assert token.seq not in tasks_by_token
    for seq, tasks in tasks_by_token.items():
        token = inst.tokens[seq]
        node = graph.nodes[token.node]
        assert all(t.node == token.node for t in tasks)
        if node.countersign is None or node.countersign.sequential:
            assert len(tasks) == 1, f"{len(tasks)} open tasks at {token.node}"
        for task in tasks:
            assert task.assignee is not None or task.candidates, "a task nobody can work"
    for timer in pending:
        token = inst.tokens[timer.token]
        if timer.boundary_of is None:
            assert token.node == timer.node
        else:
            assert token.node == graph.nodes[timer.node].attached_to


class Harness:
    """A MemoryRunner on a manual clock whose every transition is saved and checked."""

    def __init__(
        self,
        *,
        flows: dict[str, Flow] | None = None,
        service: Service | None = None,
        resolve: Any = resolver,
    ) -> None:
        self.clock = Clock()
        self.engine = Engine(clock=self.clock)
        self.runner = MemoryRunner(
            resolve, engine=self.engine, service=service, flows=flows, keep_effects=True
        )
        self.store = Store()

    def start(self, flow: Flow, **kwargs: Any) -> Instance:
        kwargs.setdefault("started_by", USERS["erin"])
        inst = self.runner.start(flow, **kwargs)
        self.saved(inst)
        return inst

    def saved(self, inst: Instance) -> None:
        self.store.save(inst)
        check_invariants(inst)
        for child in self.runner.children.values():
            if id(child) in self.store.saved or child.dirty:
                self.store.save(child)

    def do(self, inst: Instance, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call engine ``method`` on ``inst``, settle, save and check."""
        try:
            return getattr(self.engine, method)(inst, *args, **kwargs)
        finally:
            self.runner.settle(inst)
            self.saved(inst)

    def tasks(self, inst: Instance, node: str) -> list[Task]:
        return [t for t in inst.open_tasks() if t.node == node]

    def task(self, inst: Instance, node: str) -> Task:
        tasks = self.tasks(inst, node)
        assert len(tasks) == 1, f"{len(tasks)} open tasks at {node}: {inst.position()}"
        return tasks[0]

    def complete(
        self,
        inst: Instance,
        node: str,
        action: str = "complete",
        *,
        user: int | None = None,
        **kwargs: Any,
    ) -> Task:
        task = self.task(inst, node)
        self.do(
            inst,
            "complete",
            task.seq,
            user=task.assignee if user is None else user,
            action=action,
            **kwargs,
        )
        return task

    def timer(self, inst: Instance, node: str) -> Timer:
        timers = [t for t in inst.timers.values() if t.node == node and t.status == PENDING]
        assert len(timers) == 1, f"{len(timers)} pending timers at {node}"
        return timers[0]

    def fire(self, inst: Instance, node: str) -> bool:
        timer = self.timer(inst, node)
        self.clock.now = max(self.clock.now, timer.due_at)
        result: bool = self.do(inst, "fire_timer", timer.seq)
        return result

    def effects(self, kind: str) -> list[Any]:
        return [e for e in self.runner.effects or [] if e.kind == kind]


def actions(inst: Instance) -> list[str]:
    return [e.action for e in inst.history]
