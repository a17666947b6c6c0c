"""The indexed graph: edges in and out, boundaries, reachability, OR-join upstream sets."""

from __future__ import annotations

from engines.flow.graph import Graph, graph_of

from .support import flow

INCLUSIVE = flow("inclusive")


def test_indexes() -> None:
    graph = Graph(flow("timers"))
    assert [e.id for e in graph.outgoing["task"]] == ["f_task"]
    assert [e.id for e in graph.incoming["end"]] == ["f_task", "f_boss"]
    assert [b.id for b in graph.boundaries["task"]] == ["remind", "escalate"]
    assert graph.starts == ["start"]
    assert graph.successors("task") == ["end", "remind", "escalate"]


def test_reachability_counts_boundaries() -> None:
    graph = Graph(flow("timers"))
    assert "boss" in graph.reachable_from("task")
    assert graph.reaching({"boss"}) == {"boss", "escalate", "task", "wait", "start"}
    assert graph.restart_region("boss") == frozenset({"boss", "end"})
    assert graph.upstream_of("boss") is graph.upstream_of("boss")


def test_inclusive_upstream_excludes_paths_through_the_join() -> None:
    graph = Graph(INCLUSIVE)
    assert set(graph.upstream) == {"split", "join"}
    assert graph.upstream["join"] == {"start", "split", "tx", "ty", "gw_y", "td"}
    assert "after" not in graph.upstream["join"]


def test_upstream_in_a_loop() -> None:
    graph = Graph(flow("ticket"))
    assert graph.upstream == {}  # no inclusive gateway
    graph = Graph(flow("rework"))
    assert "review" in graph.reaching({"a"})


def test_graph_of_builds_once_per_flow_object() -> None:
    one = flow("loop")
    assert graph_of(one) is graph_of(one)
    assert graph_of(flow("loop")) is not graph_of(one)


def test_compiled_rules() -> None:
    graph = Graph(flow("loop"))
    assert graph.conditions["f_again"]({"n": 1, "limit": 2}) is True
    assert [name for name, _ in graph.scripts["inc"]] == ["n"]
    call = Graph(flow("call"))
    assert [name for name, _ in call.inputs["call"]] == ["amount"]
    assert [name for name, _ in call.outputs["call"]] == ["doubled"]


def test_restart_region_stops_at_joins() -> None:
    graph = Graph(flow("rework"))
    assert graph.joins == {"join"}
    assert graph.restart_region("a") == {"a", "join"}
    assert graph.restart_region("review") == {
        "review",
        "gw",
        "end",
        "merge",
        "split",
        "a",
        "b",
        "join",
    }
    parallel = Graph(flow("parallel"))
    assert parallel.restart_region("draft") == {"draft", "split", "a", "b0", "b1", "calc", "join"}
