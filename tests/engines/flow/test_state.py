"""The new / dirty / clean marks a store relies on to write only what a transition changed.
(Every test through ``Harness`` checks them; these spell out the rules.)"""

from __future__ import annotations

import pytest

from engines.flow.engine import Engine
from engines.flow.memory import MemoryRunner
from engines.flow.state import CLEAN, DIRTY, NEW, Effect, Instance

from .support import USERS, Harness, flow, resolver


def clean(inst: Instance) -> None:
    for items in (inst.tokens, inst.tasks, inst.timers):
        for item in items.values():
            item.state = CLEAN
    inst.dirty = False
    inst.gone_tokens.clear()


def test_everything_is_new_after_start() -> None:
    h = Harness()
    inst = h.runner.start(flow("timers"))
    assert inst.dirty
    assert {t.state for t in inst.tokens.values()} == {NEW}
    assert {t.state for t in inst.timers.values()} == {NEW}
    h.store.save(inst)
    assert {t.state for t in inst.tokens.values()} == {CLEAN}


def test_completing_marks_the_task_and_the_token_dirty() -> None:
    engine = Engine()
    inst = engine.start(flow("ticket"), variables={"category": "billing"})
    MemoryRunner(resolver, engine=engine).settle(inst)
    clean(inst)
    (task,) = inst.open_tasks()
    (token,) = inst.tokens.values()
    engine.complete(inst, task.seq, user=USERS["agent"])
    assert task.state == DIRTY
    assert token.state == DIRTY  # it moved on to resolve
    assert token.node == "resolve"
    assert inst.dirty  # variables (outcome) and seq changed


def test_consumed_persisted_tokens_are_listed_as_gone() -> None:
    h = Harness()
    inst = h.start(flow("ticket"), variables={"category": "outage"})
    seqs = set(inst.tokens)
    h.complete(inst, "tech_review")
    h.complete(inst, "manager_approve")
    # one of the two branch tokens merged into the other at the join
    (survivor,) = inst.tokens
    assert survivor in seqs
    # Store.save checked gone_tokens == the persisted tokens that disappeared


def test_a_token_born_and_consumed_in_one_transition_is_never_listed() -> None:
    h = Harness()
    inst = h.start(flow("parallel"))
    before = len(inst.history)
    h.complete(inst, "draft")  # calc's twin is born, runs, and waits at the join
    assert inst.gone_tokens == []
    assert len(inst.history) > before


def test_new_items_stay_new_until_saved() -> None:
    engine = Engine()
    inst = engine.start(flow("timers"))
    timer = next(iter(inst.timers.values()))
    engine.fire_timer(inst, timer.seq)
    assert timer.state == NEW  # fired before it was ever saved: still one insert


def test_take_output_hands_over_effects_and_history_once() -> None:
    engine = Engine()
    inst = engine.start(flow("timers"))
    effects, history = inst.take_output()
    assert [e.kind for e in effects] == ["timer"]
    assert isinstance(effects[0], Effect)
    assert [e.action for e in history] == ["started"]
    assert inst.take_output() == ([], [])


def test_next_seq_marks_the_instance_row() -> None:
    inst = Instance(flow("loop"))
    assert not inst.dirty
    assert inst.next_seq() == 1
    assert inst.dirty


def test_store_catches_an_unmarked_change() -> None:
    h = Harness()
    inst = h.start(flow("ticket"), variables={"category": "billing"})
    (task,) = inst.open_tasks()
    task.comment = "sneaky"  # changed without a mark
    with pytest.raises(AssertionError, match="changed but is marked clean"):
        h.store.save(inst)
