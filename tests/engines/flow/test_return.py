"""Returning a task to an earlier node 退回."""

from __future__ import annotations

import pytest

from engines.flow.errors import BadAction

from .support import USERS, Harness, actions, flow

APPROVAL = flow("approval")
PARALLEL = flow("parallel")


def sign_b(h: Harness, inst: object) -> None:
    """rework's b is an "any" countersign: one approval decides."""
    task = h.tasks(inst, "b")[0]  # type: ignore[arg-type]
    h.do(inst, "complete", task.seq, user=task.assignee, action="approve")


def at_finance(h: Harness) -> object:
    inst = h.start(APPROVAL, record={"assignee": USERS["carol"]})
    h.complete(inst, "draft")
    h.complete(inst, "manager", "approve", user=USERS["dave"])
    return inst


def test_return_restarts_at_the_target() -> None:
    h = Harness()
    inst = at_finance(h)
    finance = h.task(inst, "finance")
    assert h.do(inst, "return_targets", finance.seq) == ["manager", "draft"]
    h.do(inst, "return_to", finance.seq, user=USERS["carol"], target="draft", comment="typo")
    assert finance.status == "completed"
    assert finance.outcome == "returned"
    assert finance.comment == "typo"
    assert inst.position() == ["draft"]
    assert h.task(inst, "draft").assignee == USERS["erin"]
    event = next(e for e in inst.history if e.action == "returned")
    assert event.actor == USERS["carol"]
    assert event.node == "finance"
    assert event.data == {"to": "draft", "comment": "typo"}
    # the nodes after the target are to be passed again: no return to them from draft
    assert inst.visited == ["draft"]
    assert h.do(inst, "return_targets", h.task(inst, "draft").seq) == []


def test_return_to_a_node_not_passed_or_not_listed_is_refused() -> None:
    h = Harness()
    inst = h.start(APPROVAL, record={"assignee": USERS["carol"]})
    h.complete(inst, "draft")
    manager = h.task(inst, "manager")
    # manager lists no return_to: any user task passed before it
    assert h.do(inst, "return_targets", manager.seq) == ["draft"]
    for target in ("finance", "manager", "nowhere"):
        with pytest.raises(BadAction) as info:
            h.do(inst, "return_to", manager.seq, user=1, target=target)
        assert info.value.code == "bad_return_target"
        assert info.value.data == {"allowed": ["draft"]}
    assert manager.status == "open"


def test_return_in_a_loop_flow() -> None:
    h = Harness()
    inst = h.start(flow("ticket"), variables={"category": "billing"})
    h.complete(inst, "agent_handle")
    resolve = h.task(inst, "resolve")
    h.do(inst, "return_to", resolve.seq, user=1, target="agent_handle")
    assert inst.position() == ["agent_handle"]
    h.complete(inst, "agent_handle")
    h.complete(inst, "resolve", variables={"satisfied": True})
    assert inst.status == "completed"


def test_return_within_a_parallel_branch_keeps_the_other_branches() -> None:
    h = Harness()
    inst = h.start(PARALLEL)
    h.complete(inst, "draft")
    h.complete(inst, "b0")
    a = h.task(inst, "a")
    b1 = h.task(inst, "b1")
    assert h.do(inst, "return_targets", b1.seq) == ["b0", "draft"]
    h.do(inst, "return_to", b1.seq, user=USERS["dave"], target="b0")
    assert a.status == "open"
    assert inst.position() == ["a", "b0", "join"]  # calc's token still waits at the join
    h.complete(inst, "b0")
    h.complete(inst, "a")
    assert inst.position() == ["b1", "join"]
    h.complete(inst, "b1")
    assert inst.position() == ["after"]
    assert inst.variables["computed"] == 3


def test_return_within_a_branch_keeps_arrivals_at_the_join() -> None:
    h = Harness()
    inst = h.start(PARALLEL)
    h.complete(inst, "draft")
    h.complete(inst, "a")
    h.complete(inst, "b0")
    h.do(inst, "return_to", h.task(inst, "b1").seq, user=1, target="b0")
    assert sorted(t.via or "" for t in inst.tokens.values() if t.node == "join") == [
        "f_a_join",
        "f_c_join",
    ]
    h.complete(inst, "b0")
    h.complete(inst, "b1")
    assert inst.position() == ["after"]


def test_return_before_a_parallel_split_cancels_every_branch() -> None:
    h = Harness()
    inst = h.start(PARALLEL)
    h.complete(inst, "draft")
    a, b0 = h.task(inst, "a"), h.task(inst, "b0")
    h.do(inst, "return_to", b0.seq, user=1, target="draft")
    assert a.status == "cancelled"
    assert inst.position() == ["draft"]
    assert len(inst.tokens) == 1
    h.complete(inst, "draft")
    assert inst.position() == ["a", "b0", "join"]


def test_return_into_a_joined_parallel_branch_is_refused() -> None:
    h = Harness()
    inst = h.start(PARALLEL)
    h.complete(inst, "draft")
    for node in ("a", "b0", "b1"):
        h.complete(inst, node)
    after = h.task(inst, "after")
    # returning to a, b0 or b1 would leave the join waiting for branches that are gone
    assert h.do(inst, "return_targets", after.seq) == ["draft"]
    with pytest.raises(BadAction):
        h.do(inst, "return_to", after.seq, user=1, target="a")
    h.do(inst, "return_to", after.seq, user=1, target="draft")
    assert inst.position() == ["draft"]


def test_return_across_branches_is_refused() -> None:
    h = Harness()
    inst = h.start(PARALLEL)
    h.complete(inst, "draft")
    h.complete(inst, "a")
    b0 = h.task(inst, "b0")
    assert "a" not in h.do(inst, "return_targets", b0.seq)


def test_return_rearms_boundary_timers_and_cancels_the_old_ones() -> None:
    h = Harness()
    inst = h.start(flow("timers"))
    h.fire(inst, "wait")
    h.fire(inst, "escalate")
    boss = h.task(inst, "boss")
    assert h.do(inst, "return_targets", boss.seq) == ["task"]
    h.do(inst, "return_to", boss.seq, user=2, target="task")
    assert inst.position() == ["task"]
    pending = sorted(t.node for t in inst.timers.values() if t.status == "pending")
    assert pending == ["escalate", "remind"]
    assert actions(inst).count("returned") == 1


def test_the_first_user_task_has_nothing_to_return_to() -> None:
    h = Harness()
    inst = h.start(flow("timers"))
    h.fire(inst, "wait")
    h.fire(inst, "remind")
    task = h.task(inst, "task")
    # task is the first user task: nothing to return to
    assert h.do(inst, "return_targets", task.seq) == []


def test_return_into_a_joined_region_inside_a_loop_is_refused() -> None:
    # rework: split → a, b → join → review → again? back to split. Every node reaches every
    # other around the loop, but a restart at a or b cannot pass the join alone.
    h = Harness()
    inst = h.start(flow("rework"))
    h.complete(inst, "a")
    sign_b(h, inst)
    review = h.task(inst, "review")
    assert h.do(inst, "return_targets", review.seq) == []
    with pytest.raises(BadAction):
        h.do(inst, "return_to", review.seq, user=3, target="a")


def test_return_from_one_branch_to_the_other_around_a_loop_is_refused() -> None:
    h = Harness()
    inst = h.start(flow("rework"))
    h.complete(inst, "a")
    sign_b(h, inst)
    h.complete(inst, "review", variables={"again": True})
    # second round: b was passed (in round one) and lies "upstream" of a around the loop
    a = h.task(inst, "a")
    assert "b" not in h.do(inst, "return_targets", a.seq)
