"""What goes where: the BPMN element of each node type, the properties each carries in its
``tangram:properties`` extension, names and JSON bodies."""

from __future__ import annotations

import json
import re
from typing import Any

from engines.flow.model import Countersign

#: Timer properties BPMN has no place for, kept in the timer event's extension.
TIMER_EXTENSION = ("business_hours", "calendar")
#: Properties kept in the extension, per node type (``name`` is handled by :func:`labels`);
#: every other property has a place in BPMN itself.
EXTENSION: dict[str, frozenset[str]] = {
    "user_task": frozenset(
        {"assignee", "fallback", "countersign", "fields", "due", "cc", "return_to", "on_reject"}
    ),
    "service_task": frozenset({"action", "max_attempts"}),
    "call_activity": frozenset({"inputs", "outputs"}),
    # The timer's business-hours options (its duration or date is in timerEventDefinition).
    "timer": frozenset(TIMER_EXTENSION),
    "boundary_timer": frozenset(TIMER_EXTENSION),
}
#: Flow properties kept in the process's extension (and ``key``, when the process id is not
#: the flow key because a node has that id).
FLOW_EXTENSION = ("form", "triggers", "fallback", "step_limit")

# Characters XML 1.0 cannot hold at all, not even as character references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML cannot carry (for attributes such as ``name``)."""
    return _NOT_XML.sub("", text)


def dump_json(value: Any) -> str:
    """JSON for an element body: readable (non-ASCII kept), yet every character XML cannot
    carry is a ``\\uXXXX`` escape, so any string survives the trip."""
    text = json.dumps(value, ensure_ascii=False)
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: JSON in a file nested deeper than this is refused (JsonLogic itself allows 200 levels).
MAX_JSON_DEPTH = 256


def load_json(text: str) -> Any:
    """Parse JSON from a file; ``ValueError`` also for JSON nested too deeply to handle."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return value


# --- names ----------------------------------------------------------------------------------


def primary_name(labels: dict[str, str]) -> str | None:
    """The ``name`` attribute for a set of labels: the English one, else the first."""
    if not labels:
        return None
    return xml_text(labels["en"] if "en" in labels else next(iter(labels.values())))


def labels_to_export(labels: dict[str, str]) -> dict[str, str] | None:
    """The labels to keep in the extension: None when the ``name`` attribute says it all."""
    if not labels or labels == {"en": primary_name(labels)}:
        return None
    return labels


def labels_from(attribute: str | None, stored: dict[str, str] | None) -> dict[str, str]:
    """The labels of an imported element. A ``name`` attribute edited in a modeler after
    export replaces the label it came from (removing it removes that label); an untouched
    one leaves the stored labels as they were."""
    if stored is None:
        return {} if attribute is None else {"en": attribute}
    if attribute == primary_name(stored):
        return dict(stored)
    updated = dict(stored)
    locale = "en" if "en" in stored or not stored else next(iter(stored))
    if attribute is None:
        updated.pop(locale, None)
    else:
        updated[locale] = attribute
    return updated


# --- countersign ----------------------------------------------------------------------------


def completion_condition(countersign: Countersign) -> dict[str, Any]:
    """The countersign's decision as JsonLogic over the multi-instance counters (``nrOf…``,
    as Camunda names them), written for readers; the extension remains the source."""
    approved = {"var": "nrOfApproved"}
    rejected = {"var": "nrOfRejected"}
    signers = {"var": "nrOfInstances"}
    if countersign.mode == "all":
        return {"or": [{">=": [rejected, 1]}, {"==": [approved, signers]}]}
    if countersign.mode == "any":
        return {"or": [{">=": [approved, 1]}, {"==": [rejected, signers]}]}
    n = countersign.n
    return {"or": [{">=": [approved, n]}, {">": [rejected, {"-": [signers, n]}]}]}
