"""The in-memory runner: who a task goes to (assignee, node fallback, flow fallback, admins)."""

from __future__ import annotations

from typing import Any

import pytest

from engines.flow.memory import ADMINS, MemoryRunner, assignee_chain
from engines.flow.model import Assignee, load

from .support import USERS, Harness, doc, node_of, resolver


def approval(manager: dict[str, Any], fallback: dict[str, Any] | None = None) -> Any:
    document = doc("approval")
    node_of(document, "manager").update(manager)
    if fallback is not None:
        document["fallback"] = fallback
    return load(document)


def manager_task(flow: Any, **kwargs: Any) -> Any:
    h = Harness()
    inst = h.start(flow, record={"assignee": USERS["carol"]}, **kwargs)
    h.complete(inst, "draft")
    return h.task(inst, "manager")


NOBODY = {"kind": "role", "key": "nobody"}
GHOST = {"kind": "user", "key": "ghost"}


def test_assignee_chain_order() -> None:
    flow = approval({"fallback": GHOST}, fallback={"kind": "user", "key": "carol"})
    chain = assignee_chain(flow, flow.node("manager"))
    assert [(a.kind, a.key) for a in chain] == [
        ("role", "managers"),
        ("user", "ghost"),
        ("user", "carol"),
    ]
    plain = load(doc("ticket"))
    assert len(assignee_chain(plain, plain.node("resolve"))) == 1


def test_resolved_assignee_wins() -> None:
    task = manager_task(approval({}))
    assert task.candidates == [["role", "managers"]]


def test_nobody_goes_to_the_node_fallback() -> None:
    task = manager_task(approval({"assignee": NOBODY}))
    assert task.assignee == USERS["bob"]


def test_then_to_the_flow_fallback() -> None:
    flow = approval({"assignee": NOBODY, "fallback": GHOST}, {"kind": "user", "key": "carol"})
    assert manager_task(flow).assignee == USERS["carol"]


def test_then_to_the_admins() -> None:
    task = manager_task(approval({"assignee": NOBODY, "fallback": GHOST}))
    assert task.assignee is None
    assert task.candidates == ADMINS.pools


def test_a_countersign_of_nobody_goes_to_the_admins_too() -> None:
    flow = approval({"assignee": NOBODY, "fallback": GHOST, "countersign": {"mode": "all"}})
    task = manager_task(flow)
    assert task.candidates == ADMINS.pools
    assert task.signer == 0


@pytest.mark.parametrize(
    ("assignee", "expected"),
    [
        ({"kind": "user", "key": "alice"}, (USERS["alice"], [])),
        ({"kind": "starter"}, (USERS["erin"], [])),
        ({"kind": "field", "key": "assignee"}, (USERS["carol"], [])),
        ({"kind": "department_head"}, (USERS["dave"], [])),
        ({"kind": "rule", "rule": {"if": [{"var": "big"}, "bob", "alice"]}}, (USERS["bob"], [])),
        ({"kind": "group", "key": "ops"}, (None, [["group", "ops"]])),
        (
            {"kind": "department", "key": "sales", "include_children": True},
            (None, [["department", "sales"]]),
        ),
        ({"kind": "role", "key": "signers"}, (None, [["user", 1], ["user", 2], ["user", 3]])),
    ],
)
def test_assignee_kinds(assignee: dict[str, Any], expected: tuple[Any, Any]) -> None:
    task = manager_task(approval({"assignee": assignee}), variables={"big": True})
    assert (task.assignee, task.candidates) == expected


def test_resolver_sees_the_assignee_model() -> None:
    seen: list[Assignee] = []

    def resolve(inst: Any, assignee: Assignee) -> Any:
        seen.append(assignee)
        return resolver(inst, assignee)

    runner = MemoryRunner(resolve)
    assert runner.effects is None
    runner.start(load(doc("ticket")), variables={"category": "billing"})
    assert [(a.kind, a.key) for a in seen] == [("user", "agent")]
