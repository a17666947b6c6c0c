"""BPMN process elements → flow node and edge documents (dicts shaped like flow JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element

from engines.flow.bpmn.context import MISSING, Context
from engines.flow.bpmn.mapping import EXTENSION, TIMER_EXTENSION, labels_from, load_json
from engines.flow.bpmn.namespaces import JSONLOGIC, SCRIPT_FORMAT, display, split
from engines.flow.bpmn.vocabulary import EVENT_DEFINITIONS, NODE_TYPES
from engines.flow.model import parse_duration

#: Other engines' assignment attributes, named when a user task has no Tangram assignee.
_ASSIGNMENTS = frozenset({"assignee", "candidateUsers", "candidateGroups"})


def node(ctx: Context, element: Element) -> dict[str, Any] | None:
    """The node of a supported element, or None (reported) when it cannot be one."""
    local = split(element.tag)[1]
    kind = NODE_TYPES[local]
    props = ctx.extension(element, EXTENSION.get(kind, frozenset()))
    doc: dict[str, Any] = {
        "id": element.get("id"),
        "type": kind,
        "name": labels_from(element.get("name"), props.pop("name", None)),
        **props,
    }
    if kind in {"start", "end", "timer", "boundary_timer"}:
        definitions = ctx.children(element, EVENT_DEFINITIONS)
        return _event(ctx, element, doc, definitions)
    if kind == "user_task":
        _user_task(ctx, element, doc)
    elif kind == "script":
        _script(ctx, element, doc)
    elif kind == "service_task":
        ctx.children(element)
        if "action" not in doc:
            ctx.report(
                element,
                "action_missing",
                "a service task needs an action (set fields, create a record, send mail or "
                "call a webhook); set one in the designer",
                "action",
            )
    elif kind == "call_activity":
        ctx.children(element)
        if element.get("calledElement"):
            doc["flow"] = element.get("calledElement")
        else:
            ctx.report(
                element, "called_element_missing", "a call activity needs a calledElement", "flow"
            )
    else:  # gateways
        ctx.children(element)
        if kind != "parallel_gateway" and element.get("default"):
            doc["default"] = element.get("default")
    return doc


def _user_task(ctx: Context, element: Element, doc: dict[str, Any]) -> None:
    loops = ctx.children(element, {"multiInstanceLoopCharacteristics"})
    if "assignee" not in doc:
        foreign = [
            f"{display(name)}={value!r}"
            for name, value in element.attrib.items()
            if split(name)[0] and split(name)[1] in _ASSIGNMENTS
        ]
        note = f" ({', '.join(foreign)}: another engine's, not imported)" if foreign else ""
        ctx.report(
            element,
            "assignee_missing",
            f"a user task needs an assignee (who works it); set one in the designer{note}",
            "assignee",
        )
    if loops and "countersign" not in doc:
        doc["countersign"] = {"sequential": loops[0].get("isSequential") == "true"}
        ctx.report(
            element,
            "countersign_mode_assumed",
            "a multi-instance user task was imported as a countersign in which every signer "
            "must approve; check its mode in the designer",
        )


def _script(ctx: Context, element: Element, doc: dict[str, Any]) -> None:
    scripts = ctx.children(element, {"script"})
    text = (scripts[0].text or "").strip() if scripts else ""
    script_format = element.get("scriptFormat")
    doc["assign"] = {}
    if not text:
        return
    if script_format != SCRIPT_FORMAT:
        ctx.report(
            element,
            "unsupported_expression_language",
            f"the script is in {repr(script_format) if script_format else 'no stated format'};"
            f" only {SCRIPT_FORMAT!r} (variable → JsonLogic) is imported, so the task was "
            "imported without assignments",
            "assign",
        )
        return
    try:
        assign = load_json(text)
    except ValueError as exc:
        ctx.report(element, "invalid_script", f"the script is not JSON: {exc}", "assign")
        return
    if not isinstance(assign, dict):
        ctx.report(element, "invalid_script", "the script is not a JSON object", "assign")
        return
    doc["assign"] = assign


def _event(
    ctx: Context, element: Element, doc: dict[str, Any], definitions: list[Element]
) -> dict[str, Any] | None:
    kind = doc["type"]
    names = [split(d.tag)[1] for d in definitions]
    if kind in {"timer", "boundary_timer"}:
        if names != ["timerEventDefinition"]:
            what = ", ".join(display(d.tag) for d in definitions) or "no event definition"
            ctx.report(
                element,
                "unsupported_element",
                f"a {display(element.tag)} with {what} is not supported (only timers are) and "
                "was not imported",
            )
            return None
        timer = _timer(ctx, element, definitions[0])
        options = {k: doc.pop(k) for k in TIMER_EXTENSION if k in doc}
        if timer is not None:
            doc["timer"] = {**timer, **options}
        if kind == "boundary_timer":
            doc["interrupting"] = element.get("cancelActivity", "true") != "false"
            if not element.get("attachedToRef"):
                ctx.report(
                    element,
                    "missing_reference",
                    "a boundary event needs attachedToRef; it was not imported",
                )
                return None
            doc["attached_to"] = element.get("attachedToRef")
        return doc
    if kind == "end" and names == ["terminateEventDefinition"]:
        doc["terminate"] = True
    elif names:
        ctx.report(
            element,
            "unsupported_event_definition",
            f"{', '.join(display(d.tag) for d in definitions)} is not supported; the event "
            f"was imported as a plain {'start' if kind == 'start' else 'end'} event",
        )
    return doc


def _timer(ctx: Context, element: Element, definition: Element) -> dict[str, Any] | None:
    parts = {
        split(c.tag)[1]: c
        for c in ctx.children(definition, {"timeDuration", "timeDate", "timeCycle"})
    }
    if "timeCycle" in parts:
        ctx.report(
            element, "unsupported_timer", "cyclic timers (timeCycle) are not supported", "timer"
        )
        return None
    if "timeDuration" in parts:
        expression = parts["timeDuration"]
        text = (expression.text or "").strip()
        language = expression.get("language")
        if language is not None:
            ctx.report(
                element,
                "unsupported_expression_language",
                f"the timeDuration {text[:80]!r} is in {language!r}; give an ISO 8601 duration "
                "such as PT24H",
                "timer",
            )
            return None
        try:
            parse_duration(text)
        except ValueError as exc:
            ctx.report(element, "invalid_timer", str(exc), "timer")
            return None
        return {"duration": text}
    if "timeDate" in parts:
        expression = parts["timeDate"]
        text = (expression.text or "").strip()
        if (expression.get("language") or ctx.default_language) == JSONLOGIC:
            rule = ctx.rule(element, expression, "timer")
            return None if rule is MISSING else {"at": rule}
        if expression.get("language") is None and _is_datetime(text):
            return {"at": text}  # a fixed date is a JsonLogic literal
        ctx.rule(element, expression, "timer")  # reports the language
        return None
    ctx.report(element, "timer_missing", "the timer says neither when nor after how long", "timer")
    return None


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def edge(ctx: Context, element: Element) -> dict[str, Any] | None:
    """The edge of a sequence flow, or None (reported) without both ends."""
    props = ctx.extension(element, frozenset())
    source, target = element.get("sourceRef"), element.get("targetRef")
    missing = [name for name, ref in (("sourceRef", source), ("targetRef", target)) if not ref]
    if missing:
        ctx.report(
            element,
            "missing_reference",
            f"the sequence flow has no {' and no '.join(missing)}; it was not imported",
        )
        return None
    doc: dict[str, Any] = {
        "id": element.get("id"),
        "source": source,
        "target": target,
        "name": labels_from(element.get("name"), props.get("name")),
    }
    for expression in ctx.children(element, {"conditionExpression"}):
        if (expression.text or "").strip():
            rule = ctx.rule(element, expression, "condition")
            if rule is not MISSING:
                doc["condition"] = rule
    return doc


__all__ = ["edge", "node"]
