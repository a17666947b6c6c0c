"""The peer: SpiffWorkflow 3.x running the ticket process, as the shared peer benchmark
(``bench_spiff.py`` of the Tangram benchmark kit, copied here in substance so that the project
never reads outside itself) does it: per instance, a deterministic mix of paths; "roundtrip"
serialises the whole workflow to JSON and back after every engine step, as a persistent
engine would between requests. Install it with ``pip install -e '.[bench]'``.

The process file is ``benchmarks/flows/ticket.bpmn`` (the kit's ``ticket.bpmn``, unchanged).
"""

from __future__ import annotations

import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BPMN = HERE / "flows" / "ticket.bpmn"


def scenario(i: int) -> tuple[bool, bool]:
    """(high priority, loops once): even → outage → high; every fifth loops back once."""
    return i % 2 == 0, i % 5 == 0


def expected_user_tasks(high: bool, loops: bool) -> int:
    return (3 if high else 2) + (2 if loops else 0)


def initial_data(i: int) -> dict[str, Any]:
    high, _ = scenario(i)
    return {
        "ticket_id": i,
        "category": "outage" if high else "question",
        "subject": f"ticket #{i}",
        "customer": {"id": 1000 + i, "tier": "gold" if i % 3 == 0 else "std"},
    }


def form_data(node: str, state: dict[str, Any]) -> dict[str, Any]:
    """What a user submits at each user task (the same for both engines)."""
    if node == "tech_review":
        return {"tech_notes": "root cause: config drift", "tech_ok": True}
    if node == "manager_approve":
        return {"approved": True, "approver": "mgr-17"}
    if node == "agent_handle":
        state["agent_rounds"] += 1
        return {"agent_notes": f"handled round {state['agent_rounds']}", "agent": "agent-42"}
    if node == "resolve":
        state["resolves"] += 1
        satisfied = not (state["loops"] and state["resolves"] == 1)
        return {"satisfied": satisfied, "resolution": "fixed" if satisfied else "retry"}
    raise RuntimeError(f"unexpected user task {node}")


def new_state(i: int) -> dict[str, Any]:
    return {"agent_rounds": 0, "resolves": 0, "loops": scenario(i)[1]}


def check_end(i: int, done: int, data: dict[str, Any]) -> None:
    high, loops = scenario(i)
    if done != expected_user_tasks(high, loops):
        raise RuntimeError(f"instance {i}: {done} user tasks")
    if data["priority"] != ("high" if high else "normal") or data["satisfied"] is not True:
        raise RuntimeError(f"instance {i}: bad final data {data}")
    if high and not (data.get("approved") and data.get("tech_ok")):
        raise RuntimeError(f"instance {i}: parallel branch data not merged")


def available() -> str | None:
    """SpiffWorkflow's version, or None when it is not installed."""
    try:
        return version("spiffworkflow")
    except Exception:
        return None


def run(n: int, *, roundtrip: bool, warmup: int = 50) -> float:
    """Instances per second over ``n`` instances (after ``warmup`` unmeasured ones)."""
    from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_file(str(BPMN))
    spec = parser.get_spec("ticket")
    serializer = BpmnWorkflowSerializer()

    def step(workflow: Any) -> Any:
        workflow.do_engine_steps()
        if roundtrip:
            workflow = serializer.deserialize_json(serializer.serialize_json(workflow))
        return workflow

    def one(i: int) -> None:
        workflow = BpmnWorkflow(spec)
        workflow.task_tree.data.update(initial_data(i))
        workflow = step(workflow)
        state = new_state(i)
        done = 0
        while not workflow.is_completed():
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            if task is None:
                raise RuntimeError(f"instance {i}: stuck")
            task.data.update(form_data(task.task_spec.name, state))
            task.run()
            done += 1
            workflow = step(workflow)
        check_end(i, done, workflow.get_next_task(spec_name="end").data)

    for i in range(warmup):
        one(i)
    started = time.perf_counter()
    for i in range(n):
        one(i)
    return n / (time.perf_counter() - started)
