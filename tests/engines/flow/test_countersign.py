"""Multi-instance approval 会签: all / any / n of m, parallel or sequential, early
completion, add signer 加签, transfer 转交."""

from __future__ import annotations

from typing import Any

import pytest

from engines.flow.errors import BadAction, FlowError, TaskNotOpen
from engines.flow.model import Flow
from engines.flow.state import Instance

from .support import Harness, actions, variant


def countersign(**settings: Any) -> Flow:
    return variant("countersign", sign={"countersign": settings})


def signers(h: Harness, inst: Instance) -> list[int | None]:
    return [t.assignee for t in h.tasks(inst, "sign")]


def vote(h: Harness, inst: Instance, user: int, action: str = "approve") -> None:
    task = next(t for t in h.tasks(inst, "sign") if t.assignee == user)
    h.do(inst, "complete", task.seq, user=user, action=action)


def test_all_needs_every_approval() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all"))
    assert signers(h, inst) == [1, 2, 3]
    assert [t.signer for t in h.tasks(inst, "sign")] == [0, 1, 2]
    vote(h, inst, 1)
    vote(h, inst, 3)
    assert inst.position() == ["sign"]
    vote(h, inst, 2)
    assert inst.position() == ["after"]
    assert inst.variables["outcome"] == "approved"
    decided = next(e for e in inst.history if e.action == "countersign_decided")
    assert decided.data == {"outcome": "approved", "approve": 3, "reject": 0, "signers": 3}


def test_all_one_rejection_decides_and_cancels_the_rest() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all"))
    open_before = h.tasks(inst, "sign")
    vote(h, inst, 2, "reject")
    assert inst.status == "completed"  # rejected, and the gateway's default led to end_no
    assert inst.variables["outcome"] == "rejected"
    statuses = {t.assignee: t.status for t in open_before}
    assert statuses == {1: "cancelled", 2: "completed", 3: "cancelled"}


def test_completing_a_signer_task_cancelled_by_early_completion_is_refused() -> None:
    h = Harness()
    inst = h.start(countersign(mode="any"))
    first, second, _ = h.tasks(inst, "sign")
    h.do(inst, "complete", first.seq, user=1, action="approve")
    assert second.status == "cancelled"
    with pytest.raises(TaskNotOpen) as info:
        h.do(inst, "complete", second.seq, user=2, action="approve")
    assert info.value.data == {"status": "cancelled"}


def test_on_reject_end_rejects_the_instance() -> None:
    h = Harness()
    inst = h.start(variant("countersign", sign={"on_reject": "end"}))
    vote(h, inst, 1, "reject")
    assert inst.status == "rejected"
    assert inst.open_tasks() == []
    assert actions(inst)[-2:] == ["countersign_decided", "rejected"]


def test_any_one_approval_decides() -> None:
    h = Harness()
    inst = h.start(countersign(mode="any"))
    vote(h, inst, 1, "reject")
    vote(h, inst, 2, "reject")
    assert inst.position() == ["sign"]
    vote(h, inst, 3, "approve")
    assert inst.variables["outcome"] == "approved"
    assert inst.position() == ["after"]


def test_any_rejected_when_everyone_rejects() -> None:
    h = Harness()
    inst = h.start(countersign(mode="any"))
    for user in (3, 1, 2):
        vote(h, inst, user, "reject")
    assert inst.variables["outcome"] == "rejected"


@pytest.mark.parametrize(
    ("votes", "outcome", "cast"),
    [
        (["approve", "approve"], "approved", 2),
        (["approve", "reject", "approve"], "approved", 3),
        (["reject", "reject"], "rejected", 2),
        (["reject", "approve", "reject"], "rejected", 3),
    ],
)
def test_n_of_m(votes: list[str], outcome: str, cast: int) -> None:
    h = Harness()
    inst = h.start(countersign(mode="n_of_m", n=2))
    tasks = h.tasks(inst, "sign")
    for user, action in zip([1, 2, 3], votes, strict=False):
        vote(h, inst, user, action)
    assert inst.variables["outcome"] == outcome
    assert sum(t.status == "completed" for t in tasks) == cast
    assert all(t.status != "open" for t in tasks)


def test_n_above_the_number_of_signers_means_all_of_them() -> None:
    h = Harness()
    inst = h.start(countersign(mode="n_of_m", n=5))
    vote(h, inst, 1)
    vote(h, inst, 2)
    assert inst.position() == ["sign"]
    vote(h, inst, 3)
    assert inst.variables["outcome"] == "approved"


def test_complete_counts_as_approval() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all"))
    for user in (1, 2, 3):
        vote(h, inst, user, "complete")
    assert inst.variables["outcome"] == "approved"


def test_sequential_signers_sign_one_after_the_other() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all", sequential=True))
    order = []
    while inst.position() == ["sign"]:
        (task,) = h.tasks(inst, "sign")
        order.append((task.assignee, task.signer))
        vote(h, inst, task.assignee or 0)
    assert order == [(1, 0), (2, 1), (3, 2)]
    assert inst.variables["outcome"] == "approved"


def test_sequential_any_stops_at_the_first_approval() -> None:
    h = Harness()
    inst = h.start(countersign(mode="any", sequential=True))
    vote(h, inst, 1, "reject")
    vote(h, inst, 2, "approve")
    assert inst.variables["outcome"] == "approved"
    assert [t.assignee for t in inst.tasks.values() if t.node == "sign"] == [1, 2]


def test_sequential_all_stops_at_the_first_rejection() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all", sequential=True))
    vote(h, inst, 1, "reject")
    assert inst.variables["outcome"] == "rejected"
    assert [t.assignee for t in inst.tasks.values() if t.node == "sign"] == [1]


def test_add_signer_in_parallel_mode_adds_a_task_and_a_vote_needed() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all"))
    first = h.tasks(inst, "sign")[0]
    added = h.do(inst, "add_signer", first.seq, 1, 5)
    assert added is not None and added.assignee == 5 and added.signer == 3
    assert signers(h, inst) == [1, 2, 3, 5]
    for user in (1, 2, 3):
        vote(h, inst, user)
    assert inst.position() == ["sign"]
    vote(h, inst, 5)
    assert inst.variables["outcome"] == "approved"
    assert any(e.action == "signer_added" and e.data == {"user": 5} for e in inst.history)


def test_add_signer_in_sequential_mode_signs_next() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all", sequential=True))
    (task,) = h.tasks(inst, "sign")
    assert h.do(inst, "add_signer", task.seq, 1, 5) is None
    assert signers(h, inst) == [1]  # no task until it is the new signer's turn
    order = []
    while inst.position() == ["sign"]:
        (task,) = h.tasks(inst, "sign")
        order.append(task.assignee)
        vote(h, inst, task.assignee or 0)
    assert order == [1, 5, 2, 3]
    assert inst.variables["outcome"] == "approved"


def test_add_signer_in_sequential_n_of_m_counts_the_new_total() -> None:
    h = Harness()
    inst = h.start(countersign(mode="n_of_m", n=3, sequential=True))
    (task,) = h.tasks(inst, "sign")
    h.do(inst, "add_signer", task.seq, 1, 5)
    # four signers, three approvals needed: two rejections decide
    vote(h, inst, 1, "reject")
    assert inst.position() == ["sign"]
    vote(h, inst, 5, "reject")
    assert inst.variables["outcome"] == "rejected"


def test_add_signer_refusals() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all"))
    task = h.tasks(inst, "sign")[0]
    with pytest.raises(FlowError) as info:
        h.do(inst, "add_signer", task.seq, 1, 2)
    assert info.value.code == "already_signer"
    closed = h.start(countersign(mode="all", allow_add_signer=False))
    with pytest.raises(BadAction) as bad:
        h.do(closed, "add_signer", h.tasks(closed, "sign")[0].seq, 1, 5)
    assert bad.value.code == "not_countersign"


def test_add_signer_needs_a_countersign() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all"))
    for user in (1, 2, 3):
        vote(h, inst, user)
    with pytest.raises(BadAction) as info:
        h.do(inst, "add_signer", h.task(inst, "after").seq, 1, 5)
    assert info.value.code == "not_countersign"


def test_transfer_moves_the_vote() -> None:
    h = Harness()
    inst = h.start(countersign(mode="all"))
    task = h.tasks(inst, "sign")[0]
    h.do(inst, "transfer", task.seq, 1, 5)
    assert signers(h, inst) == [5, 2, 3]
    # the old signer may now be added again; the new one may not
    with pytest.raises(FlowError):
        h.do(inst, "add_signer", task.seq, 5, 5)
    with pytest.raises(FlowError) as info:
        h.do(inst, "transfer", task.seq, 5, 2)
    assert info.value.code == "already_signer"
    for user in (5, 2, 3):
        vote(h, inst, user)
    assert inst.variables["outcome"] == "approved"


def test_a_role_nobody_expands_gives_one_pooled_signer() -> None:
    h = Harness()
    pooled = variant("countersign", sign={"assignee": {"kind": "role", "key": "auditors"}})
    inst = h.start(pooled)
    (task,) = h.tasks(inst, "sign")
    assert task.assignee is None
    assert task.candidates == [["role", "auditors"]]
    h.do(inst, "claim", task.seq, 4)
    h.do(inst, "complete", task.seq, user=4, action="approve")
    assert inst.variables["outcome"] == "approved"


def test_also_signs_with_one_signer_per_group() -> None:
    """Warehouse *and* finance: each group signs once, by the member who claims its task."""
    h = Harness()
    both = variant(
        "countersign",
        sign={
            "assignee": {"kind": "group", "key": "warehouse"},
            "countersign": {"also": [{"kind": "group", "key": "finance"}], "pools": "one"},
        },
    )
    inst = h.start(both)
    first, second = h.tasks(inst, "sign")
    assert [first.candidates, second.candidates] == [
        [["group", "warehouse"]],
        [["group", "finance"]],
    ]
    assert first.assignee is None and second.assignee is None
    h.do(inst, "claim", first.seq, 4)
    h.do(inst, "complete", first.seq, user=4, action="approve")
    assert inst.position() == ["sign"]  # finance has not signed yet
    h.do(inst, "claim", second.seq, 5)
    h.do(inst, "complete", second.seq, user=5, action="approve")
    assert inst.position() == ["after"] and inst.variables["outcome"] == "approved"


def test_also_adds_its_people_to_the_signers_once_each() -> None:
    h = Harness()
    more = variant(
        "countersign",
        sign={
            "countersign": {
                "also": [{"kind": "user", "key": "bob"}, {"kind": "user", "key": "dave"}]
            }
        },
    )
    inst = h.start(more)
    assert signers(h, inst) == [1, 2, 3, 4]  # the role's members, then dave (bob signs once)
    for user in (1, 2, 3):
        vote(h, inst, user)
    assert inst.position() == ["sign"]
    vote(h, inst, 4, "reject")
    assert inst.variables["outcome"] == "rejected"


def test_also_resolving_to_nobody_falls_back() -> None:
    h = Harness()
    nobody = variant(
        "countersign",
        sign={
            "assignee": {"kind": "role", "key": "nobody"},
            "fallback": {"kind": "user", "key": "erin"},
            "countersign": {"also": [{"kind": "user", "key": "ghost"}]},
        },
    )
    inst = h.start(nobody)
    assert signers(h, inst) == [5]
