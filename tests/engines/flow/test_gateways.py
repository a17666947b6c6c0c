"""Exclusive, parallel and inclusive gateways: splits, and joins that fire neither early nor
never."""

from __future__ import annotations

from engines.flow.model import load

from .support import Harness, doc, edge_of, flow, node_of

PARALLEL = flow("parallel")
INCLUSIVE = flow("inclusive")


def tokens_at(inst: object, node: str) -> int:
    return sum(t.node == node for t in inst.tokens.values())  # type: ignore[attr-defined]


def test_parallel_split_and_join() -> None:
    h = Harness()
    inst = h.start(PARALLEL)
    h.complete(inst, "draft")
    # the script branch ran through and waits at the join
    assert inst.position() == ["a", "b0", "join"]
    assert inst.variables["computed"] == 3
    h.complete(inst, "a")
    assert tokens_at(inst, "join") == 2
    h.complete(inst, "b0")
    assert inst.position() == ["b1", "join"]
    assert h.tasks(inst, "after") == []
    h.complete(inst, "b1")
    assert inst.position() == ["after"]
    assert len(inst.tokens) == 1
    h.complete(inst, "after")
    assert inst.status == "completed"


def test_parallel_join_counts_edges_not_tokens() -> None:
    h = Harness()
    inst = h.start(flow("join_twice"))
    h.complete(inst, "a")
    h.complete(inst, "b")
    # two tokens came by f_m, none by f_c: the join must not fire
    assert tokens_at(inst, "join") == 2
    assert h.tasks(inst, "after") == []
    h.complete(inst, "c")
    # one f_m token and the f_c token joined; the other f_m token waits for a next round
    assert tokens_at(inst, "join") == 1
    assert len(h.tasks(inst, "after")) == 1
    assert len(inst.tokens) == 2


def test_parallel_region_in_a_loop_joins_every_round() -> None:
    h = Harness()
    inst = h.start(flow("rework"))
    for again in (True, True, False):
        assert sorted(n for n in inst.position() if n != "join") == ["a", "b"]
        h.complete(inst, "a")
        for task in h.tasks(inst, "b"):
            if task.status == "open":
                h.do(inst, "complete", task.seq, user=task.assignee, action="approve")
        assert inst.position() == ["review"]
        h.complete(inst, "review", variables={"again": again})
    assert inst.status == "completed"


def test_exclusive_takes_the_first_true_condition_in_edge_order() -> None:
    document = doc("inclusive")
    node_of(document, "split").update(type="exclusive_gateway")
    node_of(document, "join").update(type="exclusive_gateway")
    h = Harness()
    exclusive = load(document)
    inst = h.start(exclusive, variables={"x": True, "y": True})
    assert inst.position() == ["tx"]
    inst = h.start(exclusive, variables={"y": 1})
    assert inst.position() == ["ty"]
    inst = h.start(exclusive, variables={})
    assert inst.position() == ["td"]


def test_inclusive_split_takes_every_true_condition() -> None:
    h = Harness()
    inst = h.start(INCLUSIVE, variables={"x": True, "y": True})
    assert inst.position() == ["tx", "ty"]  # not the default


def test_inclusive_split_takes_the_default_when_nothing_holds() -> None:
    h = Harness()
    inst = h.start(INCLUSIVE, variables={"x": False, "y": 0})
    assert inst.position() == ["td"]
    h.complete(inst, "td")
    assert inst.position() == ["after"]


def test_inclusive_split_without_default_fails_when_nothing_holds() -> None:
    document = doc("inclusive")
    node_of(document, "split")["default"] = None
    edge_of(document, "f_d")["condition"] = {"var": "d"}
    h = Harness()
    inst = h.start(load(document), variables={})
    assert inst.status == "failed"
    assert inst.error is not None
    assert inst.error["code"] == "no_path"
    assert inst.error["node"] == "split"


def test_inclusive_join_with_one_branch_taken_fires_at_once() -> None:
    h = Harness()
    inst = h.start(INCLUSIVE, variables={"x": True})
    h.complete(inst, "tx")
    assert inst.position() == ["after"]


def test_inclusive_join_waits_for_every_live_branch() -> None:
    h = Harness()
    inst = h.start(INCLUSIVE, variables={"x": True, "y": True})
    h.complete(inst, "tx")
    assert inst.position() == ["join", "ty"]
    assert h.tasks(inst, "after") == []
    h.complete(inst, "ty", variables={"stop": False})
    assert inst.position() == ["after"]
    assert len(inst.tokens) == 1


def test_inclusive_join_wakes_when_the_last_branch_ends_elsewhere() -> None:
    h = Harness()
    inst = h.start(INCLUSIVE, variables={"x": True, "y": True})
    h.complete(inst, "tx")
    assert inst.position() == ["join", "ty"]
    h.complete(inst, "ty", variables={"stop": True})  # ty's token ends at end_y
    assert inst.status == "running"
    assert inst.position() == ["after"]
    h.complete(inst, "after")
    assert inst.status == "completed"


def test_inclusive_branch_ending_elsewhere_first() -> None:
    h = Harness()
    inst = h.start(INCLUSIVE, variables={"x": True, "y": True})
    h.complete(inst, "ty", variables={"stop": True})
    assert inst.position() == ["tx"]
    h.complete(inst, "tx")
    assert inst.position() == ["after"]


def test_every_inclusive_branch_ending_elsewhere_completes_the_instance() -> None:
    h = Harness()
    inst = h.start(INCLUSIVE, variables={"y": True})
    h.complete(inst, "ty", variables={"stop": True})
    assert inst.status == "completed"
