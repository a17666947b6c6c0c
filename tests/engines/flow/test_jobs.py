"""Service tasks run as jobs, and call activities start child flows."""

from __future__ import annotations

from typing import Any

from engines.flow.model import ServiceTask, load
from engines.flow.state import Instance

from .support import Harness, doc, flow, variant

SERVICE = flow("service")
CALL = flow("call")
CHILD = flow("child")


def job_of(inst: Instance) -> tuple[int, int]:
    (token,) = inst.tokens.values()
    assert token.node == "hook"
    assert token.data is not None
    return token.seq, token.data["job"]


def test_service_task_waits_for_its_job() -> None:
    h = Harness()
    inst = h.start(SERVICE)
    token, job = job_of(inst)
    (effect,) = h.effects("service")
    assert (effect.token, effect.node, effect.data) == (token, "hook", {"job": job})
    assert h.do(inst, "service_done", token, job=job, variables={"reply": {"ok": 1}}) is True
    assert inst.variables["reply"] == {"ok": 1}
    assert inst.position() == ["after"]
    assert all(t.status == "cancelled" for t in inst.timers.values())


def test_stale_or_duplicate_service_done_is_a_no_op() -> None:
    h = Harness()
    inst = h.start(SERVICE)
    token, job = job_of(inst)
    assert h.do(inst, "service_done", token, job=job + 100) is False
    assert h.do(inst, "service_done", 999, job=job) is False
    assert h.do(inst, "service_done", token, job=job) is True
    events = len(inst.history)
    assert h.do(inst, "service_done", token, job=job) is False
    assert h.do(inst, "service_done", token) is False  # the token waits at a user task now
    assert len(inst.history) == events


def test_a_late_job_of_an_earlier_visit_does_not_advance_a_later_one() -> None:
    document = doc("service")
    # after → hook again: a loop through the service task
    document["nodes"].append({"id": "again", "type": "exclusive_gateway", "default": "f_end"})
    for edge in document["edges"]:
        if edge["id"] == "f_after":
            edge["target"] = "again"
    document["edges"] += [
        {"id": "f_end", "source": "again", "target": "end"},
        {"id": "f_loop", "source": "again", "target": "hook", "condition": {"var": "loop"}},
    ]
    h = Harness()
    inst = h.start(load(document))
    token, first = job_of(inst)
    h.do(inst, "service_done", token, job=first)
    h.complete(inst, "after", variables={"loop": True})
    token2, second = job_of(inst)
    assert second != first
    assert h.do(inst, "service_done", token2, job=first) is False
    assert inst.position() == ["hook"]


def test_service_run_inline_by_the_memory_runner() -> None:
    calls: list[str] = []

    def service(inst: Instance, node: ServiceTask) -> dict[str, Any]:
        calls.append(node.id)
        return {"reply": "pong"}

    h = Harness(service=service)
    inst = h.start(SERVICE)
    assert calls == ["hook"]
    assert inst.variables["reply"] == "pong"
    assert inst.position() == ["after"]


def test_boundary_timeout_on_a_service_task() -> None:
    h = Harness()
    inst = h.start(SERVICE)
    token, job = job_of(inst)
    h.fire(inst, "timeout")
    assert inst.position() == ["manual"]
    assert h.do(inst, "service_done", token, job=job) is False
    assert inst.position() == ["manual"]


def test_service_failed_fails_the_instance_there() -> None:
    h = Harness()
    inst = h.start(SERVICE)
    token, job = job_of(inst)
    assert h.do(inst, "service_failed", token, "HTTP 500", job=job + 1) is False
    assert inst.status == "running"
    assert h.do(inst, "service_failed", token, "HTTP 500", job=job) is True
    assert inst.status == "failed"
    assert inst.error == {"code": "service_failed", "message": "HTTP 500", "node": "hook"}
    assert inst.position() == ["hook"]  # the token stays where it stopped
    assert all(t.status == "cancelled" for t in inst.timers.values())
    assert h.do(inst, "service_done", token, job=job) is False


def test_call_activity_runs_the_child_and_maps_outputs() -> None:
    h = Harness(flows={"child": CHILD})
    inst = h.start(CALL, variables={"amount": 21})
    (call,) = h.effects("call")
    assert call.data["flow"] == "child"
    assert call.data["variables"] == {"amount": 21}
    (child,) = h.runner.children.values()
    assert child.status == "completed"
    assert inst.variables["doubled"] == 42
    assert inst.position() == ["after"]
    assert any(
        e.action == "call_done" and e.data == {"outputs": {"doubled": 42}} for e in inst.history
    )


def test_call_activity_waits_for_a_child_that_waits() -> None:
    h = Harness(flows={"child": flow("child_wait")})
    parent = variant("call", call={"flow": "child", "outputs": {"done": True}})
    inst = h.start(parent, variables={"amount": 1})
    (((_, token), child),) = h.runner.children.items()
    assert inst.position() == ["call"]
    assert h.do(inst, "child_done", token + 1000, {}) is False
    h.complete(child, "approve")
    assert child.status == "completed"
    assert h.runner.child_finished(inst, token) is True
    h.saved(inst)
    assert inst.variables["done"] is True
    assert inst.position() == ["after"]
    assert h.do(inst, "child_done", token, {}) is False  # a duplicate


def test_boundary_timer_on_a_call_activity_cancels_the_child() -> None:
    h = Harness(flows={"child": flow("child_wait")})
    inst = h.start(variant("call", call={"flow": "child"}), variables={"amount": 1})
    (call,) = h.effects("call")
    token = call.token
    h.fire(inst, "timeout")
    (cancel,) = h.effects("cancel_call")
    assert (cancel.token, cancel.node, cancel.data) == (token, "call", {"call": call.data["call"]})
    assert inst.variables["late"] is True
    assert inst.position() == ["after"]
    # the child's late end changes nothing
    assert h.do(inst, "child_done", token, {"result": 1}, call=call.data["call"]) is False


def test_cancelling_the_parent_cancels_the_child() -> None:
    h = Harness(flows={"child": flow("child_wait")})
    inst = h.start(variant("call", call={"flow": "child"}), variables={"amount": 1})
    h.do(inst, "cancel", user=1)
    (cancel,) = h.effects("cancel_call")
    assert cancel.node == "call"


def test_an_unknown_child_flow_fails_the_parent_at_the_call() -> None:
    h = Harness(flows={})
    inst = h.start(CALL, variables={"amount": 1})
    assert inst.status == "failed"
    assert inst.error is not None
    assert inst.error["code"] == "unknown_flow"
    assert inst.error["node"] == "call"
