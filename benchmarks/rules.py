"""Rules benchmark: how fast record events are matched against an app's rules.

    python -m benchmarks.rules [--quick] [--json]

``event_rules_per_s``: 20 active rules on the ticket form (created / updated / field-changed
triggers, conditions of the kinds the Customer Center uses: keyword ``in``, ``==``/``in`` on
selects, numeric comparisons, ``and``/``or``/``!``), compiled once as a published version is
(``engines.rules.match.RuleSet``); a stream of generated record events (a mix of creates and
updates with field changes) goes through ``RuleSet.firing``. The figure is condition
evaluations per second: events × rules whose trigger kind matches the event, divided by the
time. ``baseline_rules_per_s`` runs the same conditions written by hand as Python lambdas over
the same events in the same process; ``ratio`` = ours / baseline. Goal:
``event_rules_per_s`` ≥ 20,000. Both sides must fire the same rules on every event.

The set-based SLA and time-rule scan (``engine_ms``, ``handwritten_ms``, ``ratio``,
``matched``/``expected`` on 200,000 / 1,000,000 tickets) joins this benchmark with
time-based triggers.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections.abc import Callable
from typing import Any

from engines.rules.match import RuleSet, event_data
from engines.rules.spec import Rule

GOAL = 20_000.0
STATUSES = ["new", "open", "pending", "resolved", "closed"]
PRIORITIES = ["low", "normal", "high", "urgent"]
WORDS = ["发票", "invoice", "refund", "退款", "password", "login", "crash", "投诉", "delivery"]


def _rules() -> tuple[list[Rule], list[Callable[[dict[str, Any]], bool]]]:
    """20 rules and the same conditions as plain Python."""
    specs: list[tuple[dict[str, Any], dict[str, Any], Callable[[dict[str, Any]], bool]]] = []
    for word in WORDS:
        specs.append(
            (
                {"on": "created"},
                {"in": [word, {"var": "record.subject"}]},
                lambda d, w=word: w in (d["record"].get("subject") or ""),
            )
        )
    for status in STATUSES:
        specs.append(
            (
                {"on": "field_changed", "field": "status", "to": status},
                {"!=": [{"var": "record.priority"}, "low"]},
                lambda d: d["record"].get("priority") != "low",
            )
        )
    for threshold in (100, 500, 1000):
        specs.append(
            (
                {"on": "updated"},
                {
                    "and": [
                        {">=": [{"var": "record.amount"}, threshold]},
                        {"in": [{"var": "record.priority"}, ["high", "urgent"]]},
                    ]
                },
                lambda d, t=threshold: (
                    (d["record"].get("amount") or 0) >= t
                    and d["record"].get("priority") in ("high", "urgent")
                ),
            )
        )
    specs.append(
        (
            {"on": "updated"},
            {
                "or": [
                    {"==": [{"var": "record.vip"}, True]},
                    {"!": {"var": "record.assignee"}},
                ]
            },
            lambda d: d["record"].get("vip") is True or not d["record"].get("assignee"),
        )
    )
    specs.append(
        (
            {"on": "field_changed", "field": "priority", "to": "urgent"},
            {"in": ["投诉", {"var": "record.subject"}]},
            lambda d: "投诉" in (d["record"].get("subject") or ""),
        )
    )
    specs.append(
        (
            {"on": "created"},
            {"and": [{"==": [{"var": "record.channel"}, "wechat"]}, {"var": "record.vip"}]},
            lambda d: d["record"].get("channel") == "wechat" and bool(d["record"].get("vip")),
        )
    )
    assert len(specs) == 20, len(specs)
    rules = [
        Rule.model_validate(
            {
                "key": f"r{i}",
                "form": "ticket",
                "trigger": trigger,
                "condition": condition,
                "actions": [{"type": "set_fields", "values": {"flag": True}}],
            }
        )
        for i, (trigger, condition, _) in enumerate(specs)
    ]
    return rules, [fn for _, _, fn in specs]


def _events(n: int, seed: int = 7) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        record = {
            "id": i + 1,
            "subject": " ".join(rng.sample(WORDS, 2)) + f" #{i}",
            "status": rng.choice(STATUSES),
            "priority": rng.choice(PRIORITIES),
            "amount": rng.randint(0, 2000),
            "vip": rng.random() < 0.1,
            "assignee": rng.choice([None, 5, 7]),
            "channel": rng.choice(["email", "wechat", "web"]),
        }
        if rng.random() < 0.4:
            kind, changes = "created", {k: (None, v) for k, v in record.items()}
        else:
            kind = "updated"
            field = rng.choice(["status", "priority", "amount"])
            changes = {field: ("x", record[field])}
        events.append((kind, changes, record))
    return events


def _trigger_matches(rule: Rule, kind: str, changes: dict[str, Any]) -> bool:
    trigger = rule.trigger
    if trigger.on == "field_changed":
        change = changes.get(trigger.field)  # type: ignore[union-attr]
        return (
            kind in ("created", "updated")
            and change is not None
            and (trigger.to is None or change[1] == trigger.to)  # type: ignore[union-attr]
        )
    return bool(kind == trigger.on)


def measure(n: int, rounds: int) -> dict[str, Any]:
    rules, by_hand = _rules()
    compiled = RuleSet(rules)
    events = [(k, c, event_data(r, c, k, 1)) for k, c, r in _events(n)]
    # Same rules fire on both sides.
    for kind, changes, data in events:
        ours = [r.key for r in compiled.firing("ticket", kind, changes, data)]
        theirs = [
            r.key
            for r, fn in zip(rules, by_hand, strict=True)
            if _trigger_matches(r, kind, changes) and fn(data)
        ]
        if ours != theirs:
            raise RuntimeError(f"different rules fire: {ours} vs {theirs} on {data}")
    evaluations = sum(len(compiled.candidates("ticket", kind)) for kind, _, _ in events)

    def ours_once() -> None:
        for kind, changes, data in events:
            compiled.firing("ticket", kind, changes, data)

    candidates = {
        kind: [
            (r, fn)
            for r, fn in zip(rules, by_hand, strict=True)
            if r.key in {c.rule.key for c in compiled.candidates("ticket", kind)}
        ]
        for kind in ("created", "updated")
    }

    def baseline_once() -> None:
        for kind, changes, data in events:
            for rule, fn in candidates[kind]:
                if _trigger_matches(rule, kind, changes):
                    fn(data)

    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, fn in (("ours", ours_once), ("baseline", baseline_once)):
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            best[name] = min(best.get(name, elapsed), elapsed)
    ours_rate = evaluations / best["ours"]
    base_rate = evaluations / best["baseline"]
    return {
        "rules": len(rules),
        "events": n,
        "evaluations": evaluations,
        "event_rules_per_s": round(ours_rate, 1),
        "baseline_rules_per_s": round(base_rate, 1),
        "ratio": round(ours_rate / base_rate, 3),
        "rounds": rounds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rules", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer events")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    args = parser.parse_args(argv)
    n, rounds = (5_000, 5) if args.quick else (50_000, 7)
    print(f"[bench] {n:,} events against 20 rules, best of {rounds}", file=sys.stderr)
    results = {"benchmark": "rules", "profile": "quick" if args.quick else "full"}
    results.update(measure(n, rounds))
    results["goals"] = {"event_rules_per_s>=20000": results["event_rules_per_s"] >= GOAL}
    results["python"] = platform.python_version()
    if not args.json:
        for key, value in results.items():
            print(f"{key:>22}: {value}", file=sys.stderr)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
