"""Random walks: instances driven by random users doing random (allowed and refused) things.

After every transition the harness checks the state marks against a snapshot store and the
invariants of ``support.check_invariants`` (no open task on a finished instance, every
waiting user-task token has its task, timers sit on live tokens …); the walk adds: a
running instance always waits for something someone can do, a join never fires before its
branches are done, refused actions change nothing, and completing a closed task raises
TaskNotOpen. Seeds are fixed (``TANGRAM_FLOW_WALKS`` runs more of them)."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from engines.flow.errors import FlowError, InstanceFinished, TaskNotOpen
from engines.flow.model import Flow
from engines.flow.state import OPEN, PENDING, WAITING

from .support import USERS, Harness, flow, variant

WALKS = int(os.environ.get("TANGRAM_FLOW_WALKS", "60"))
MAX_STEPS = 150


@dataclass
class Case:
    flow: Flow
    #: Variables a task may submit, with the values to draw from.
    variables: dict[str, list[Any]] = field(default_factory=dict)
    start: dict[str, list[Any]] = field(default_factory=dict)
    #: (branch nodes, nodes after the join): tokens never stand in both at once.
    regions: list[tuple[set[str], set[str]]] = field(default_factory=list)
    service: bool = False


CASES = {
    "ticket": Case(
        flow("ticket"),
        variables={"satisfied": [True, True, False]},
        start={"category": ["outage", "security", "billing", "other"]},
        regions=[({"tech_review", "manager_approve", "par_join"}, {"gw_merge_resolve", "resolve"})],
    ),
    "parallel": Case(flow("parallel"), regions=[({"a", "b0", "b1", "calc", "join"}, {"after"})]),
    "inclusive": Case(
        flow("inclusive"),
        variables={"stop": [True, False]},
        start={"x": [True, False], "y": [True, False]},
        regions=[({"tx", "ty", "gw_y", "td", "join"}, {"after"})],
    ),
    "rework": Case(
        flow("rework"),
        variables={"again": [True, False, False]},
        regions=[({"a", "b", "join"}, {"review"})],
    ),
    "mixed": Case(
        flow("mixed"),
        variables={
            "a": [True, False],
            "b": [True, False],
            "stop": [True, False, False],
            "again": [True, False, False],
        },
        start={"a": [True, False], "b": [True, False]},
        regions=[({"ta", "tb", "gw_b", "tc", "join"}, {"review"})],
    ),
    "approval": Case(flow("approval"), variables={"amount": [1, 2]}),
    "timers": Case(flow("timers")),
    "service": Case(flow("service"), service=True),
    "sequential": Case(
        variant("countersign", sign={"countersign": {"mode": "n_of_m", "n": 2, "sequential": True}})
    ),
    "reject_end": Case(variant("countersign", sign={"on_reject": "end"})),
}


class Walker:
    def __init__(self, case: Case, seed: int) -> None:
        self.case = case
        self.rng = random.Random(seed)
        self.h = Harness()
        start = {k: self.rng.choice(v) for k, v in case.start.items()}
        self.inst = self.h.start(case.flow, variables=start, record={"assignee": USERS["carol"]})
        self.closed: list[int] = []
        self.check()

    # --- checks ------------------------------------------------------------------------------

    def check(self) -> None:
        inst = self.inst
        nodes = [t.node for t in inst.tokens.values()]
        for region, after in self.case.regions:
            inside = [n for n in nodes if n in region]
            beyond = [n for n in nodes if n in after]
            assert not (inside and beyond), f"a join fired early: {inside} and {beyond}"
        if not inst.finished:
            assert self.moves(), f"running but nothing to do at {inst.position()}"

    def moves(self) -> list[str]:
        inst = self.inst
        moves = []
        if inst.open_tasks():
            moves.append("task")
        if any(t.status == PENDING for t in inst.timers.values()):
            moves.append("timer")
        if self.service_tokens():
            moves.append("service")
        return moves

    def service_tokens(self) -> list[Any]:
        return [
            t
            for t in self.inst.tokens.values()
            if t.status == WAITING and t.data is not None and "job" in t.data
        ]

    def refused(self, method: str, *args: Any, **kwargs: Any) -> None:
        """An action the engine may refuse: if it does, nothing may have changed."""
        before = len(self.inst.history), self.inst.status, len(self.inst.tasks)
        try:
            self.h.do(self.inst, method, *args, **kwargs)
        except FlowError:
            assert (len(self.inst.history), self.inst.status, len(self.inst.tasks)) == before

    # --- steps -------------------------------------------------------------------------------

    def step(self) -> None:
        rng, inst, h = self.rng, self.inst, self.h
        roll = rng.random()
        if self.closed and roll < 0.05:
            seq = rng.choice(self.closed)
            with pytest.raises(TaskNotOpen if not inst.finished else InstanceFinished):
                h.do(inst, "complete", seq, user=1)
            return
        if roll < 0.07:
            self.refused("cancel", user=USERS["erin"])
            return
        move = rng.choice(self.moves())
        if move == "timer":
            timer = rng.choice([t for t in inst.timers.values() if t.status == PENDING])
            h.clock.now = max(h.clock.now, timer.due_at)
            assert h.do(inst, "fire_timer", timer.seq) is True
            assert h.do(inst, "fire_timer", timer.seq) is False
        elif move == "service":
            token = rng.choice(self.service_tokens())
            job = token.data["job"]
            if rng.random() < 0.1:
                assert h.do(inst, "service_failed", token.seq, "boom", job=job) is True
            else:
                assert h.do(inst, "service_done", token.seq, job=job) is True
                assert h.do(inst, "service_done", token.seq, job=job) is False
        else:
            self.work(rng.choice(inst.open_tasks()))

    def work(self, task: Any) -> None:
        rng, inst = self.rng, self.inst
        roll = rng.random()
        if task.assignee is None:
            self.refused("claim", task.seq, rng.choice([1, 2, 3, 4]))
            return
        if roll < 0.1:
            targets = self.h.do(inst, "return_targets", task.seq)
            if targets:
                self.h.do(
                    inst, "return_to", task.seq, user=task.assignee, target=rng.choice(targets)
                )
                self.closed.append(task.seq)
                return
        if roll < 0.15:
            self.refused("transfer", task.seq, task.assignee, rng.choice([1, 2, 3, 4, 5]))
            return
        if roll < 0.2:
            self.refused("add_signer", task.seq, task.assignee, rng.choice([1, 2, 3, 4, 5]))
            return
        action = rng.choice(["approve", "approve", "reject", "complete"])
        variables = {k: rng.choice(v) for k, v in self.case.variables.items() if rng.random() < 0.7}
        self.h.do(
            inst, "complete", task.seq, user=task.assignee, action=action, variables=variables
        )
        self.closed.append(task.seq)


@pytest.mark.parametrize("name", sorted(CASES))
def test_random_walks(name: str) -> None:
    outcomes: dict[str, int] = {}
    for seed in range(WALKS):
        walker = Walker(CASES[name], seed)
        for _ in range(MAX_STEPS):
            if walker.inst.finished:
                break
            walker.step()
            walker.check()
        inst = walker.inst
        assert inst.finished or walker.moves()
        if inst.finished:
            assert all(t.status != OPEN for t in inst.tasks.values())
        outcomes[inst.status] = outcomes.get(inst.status, 0) + 1
    # the walks reach an end most of the time (the loops stop on their own)
    assert outcomes.get("running", 0) < WALKS / 2, outcomes
