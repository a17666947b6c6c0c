"""Which rules a record event fires: the trigger matches and the condition holds.

Rules are compiled once per published app version (:class:`RuleSet`): per form and event
kind, the candidate rules with their conditions compiled to closures, so an event costs a
dict lookup and one call per candidate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engines.logic import CompiledRule, compile_rule, truthy
from engines.rules.spec import (
    SCANNED,
    FieldChanged,
    FlowEvent,
    Rule,
)

#: The event kinds a trigger listens to.
_KINDS = {
    "created": ("created",),
    "updated": ("updated",),
    "deleted": ("deleted",),
    "field_changed": ("created", "updated"),
    "time": ("time",),
    "schedule": ("schedule",),
    "flow_event": ("flow_event",),
}


def event_kinds(rule: Rule) -> tuple[str, ...]:
    """The event kinds the rule's trigger listens to."""
    return _KINDS[rule.trigger.on]


@dataclass(frozen=True)
class Candidate:
    rule: Rule
    condition: CompiledRule | None

    def fires(self, kind: str, changes: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
        """The trigger matches ``kind``/``changes`` and the condition holds on ``data``."""
        trigger = self.rule.trigger
        if isinstance(trigger, FieldChanged):
            change = changes.get(trigger.field)
            if change is None:
                return False
            before, after = change
            if trigger.from_ is not None and before != trigger.from_:
                return False
            if trigger.to is not None and after != trigger.to:
                return False
        elif isinstance(trigger, FlowEvent):
            flow = data.get("event", {}).get("flow") or {}
            if flow.get("event") != trigger.event:
                return False
            if trigger.flow is not None and flow.get("key") != trigger.flow:
                return False
            if trigger.node is not None and flow.get("node") != trigger.node:
                return False
        return self.condition is None or truthy(self.condition(data))


class RuleSet:
    """The rules of one app version, by form key and event kind, in definition order."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._by: dict[tuple[str, str], list[Candidate]] = {}
        self.rules: dict[str, Rule] = {}
        for rule in rules:
            self.rules[rule.key] = rule
            condition = compile_rule(rule.condition) if rule.condition is not None else None
            for kind in event_kinds(rule):
                self._by.setdefault((rule.form, kind), []).append(Candidate(rule, condition))

    def candidates(self, form: str, kind: str) -> list[Candidate]:
        return self._by.get((form, kind), [])

    def watches(self, form: str) -> bool:
        return any(key[0] == form for key in self._by)

    def flow_rules(self) -> list[Rule]:
        """The rules with flow-event triggers."""
        return [r for r in self.rules.values() if r.trigger.on == "flow_event"]

    def scanned(self) -> list[Rule]:
        """The rules a periodic scan finds records for (time and schedule triggers)."""
        return [r for r in self.rules.values() if r.trigger.on in SCANNED]

    def firing(
        self,
        form: str,
        kind: str,
        changes: Mapping[str, Any],
        data: Mapping[str, Any],
        enabled: Mapping[str, bool] | None = None,
    ) -> list[Rule]:
        """The rules an event fires, in order; ``enabled`` overrides rules' own switch."""
        fired = []
        for candidate in self.candidates(form, kind):
            rule = candidate.rule
            if not (enabled or {}).get(rule.key, rule.enabled):
                continue
            if candidate.fires(kind, changes, data):
                fired.append(rule)
        return fired


def event_data(
    record: Mapping[str, Any] | None,
    changes: Mapping[str, Any],
    kind: str,
    actor_id: int | None,
    depth: int = 0,
) -> dict[str, Any]:
    """What conditions, values and templates read."""
    return {
        "record": dict(record or {}),
        "changes": {k: list(v) for k, v in changes.items()},
        "event": {"kind": kind, "actor_id": actor_id, "depth": depth},
    }
