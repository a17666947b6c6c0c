"""BPMN 2.0 XML → flow. Everything the file has that a flow cannot run is reported by element
id and type, never dropped silently; see README.md for what is imported, reported or
ignored."""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element

from pydantic import ValidationError

from engines.flow.bpmn import diagram, elements
from engines.flow.bpmn.context import Context
from engines.flow.bpmn.mapping import FLOW_EXTENSION, labels_from
from engines.flow.bpmn.namespaces import BPMN, display, q, split
from engines.flow.bpmn.parse import parse_xml
from engines.flow.bpmn.problems import ImportResult, Problem
from engines.flow.bpmn.vocabulary import DECLARATIONS, ELEMENTS, IGNORED, NODE_TYPES
from engines.flow.check import CheckContext, check_flow
from engines.flow.model import Flow
from engines.form.schema import KEY_PATTERN


def from_bpmn(
    xml: str | bytes, *, check: bool = False, context: CheckContext | None = None
) -> ImportResult:
    """Import the first executable process of a BPMN file.

    The import itself does not validate the flow beyond its model; with ``check`` the flow
    (when there is one) also goes through :func:`engines.flow.check.check_flow` with
    ``context``, and its findings are in ``check_problems``. Messages are in the context's
    locale (codes never change).
    """
    result = _from_bpmn(xml, check, context)
    locale = context.locale if context is not None else "en"
    result.problems = [p.in_locale(locale) for p in result.problems]
    return result


def _from_bpmn(xml: str | bytes, check: bool, context: CheckContext | None) -> ImportResult:
    parsed = parse_xml(xml)
    if isinstance(parsed, Problem):
        return ImportResult(None, None, [parsed])
    if parsed.tag != q(BPMN, "definitions"):
        return ImportResult(
            None,
            None,
            [
                Problem(
                    "not_bpmn",
                    f"the root element is {display(parsed.tag)}, not a BPMN 2.0 bpmn:definitions "
                    f"(namespace {BPMN})",
                    element_type=display(parsed.tag),
                )
            ],
        )
    ctx = Context(parsed.get("expressionLanguage"))
    document = _import(ctx, parsed)
    flow = _validate(ctx, document) if document is not None else None
    result = ImportResult(flow, document, ctx.problems)
    if check and flow is not None:
        result.check_problems = check_flow(flow, context)
    return result


def _import(ctx: Context, root: Element) -> dict[str, Any] | None:
    process = _choose_process(ctx, root)
    if process is None:
        ctx.problems.append(Problem("no_process", "the file has no bpmn:process to import"))
        return None
    ctx.process_id = process.get("id")
    properties = _flow_properties(ctx, process)
    _duplicates(ctx, root)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    taken: dict[str, Element] = {}
    dropped: dict[str, Element] = {}
    for child in process:
        namespace, local = split(child.tag)
        if namespace == BPMN and local in IGNORED:
            continue
        element_id = child.get("id")
        if element_id in taken:
            continue  # a duplicate id, reported already
        if namespace == BPMN and (local in NODE_TYPES or local == "sequenceFlow"):
            if not element_id:
                ctx.report(
                    child, "id_missing", f"a {display(child.tag)} without an id was not imported"
                )
                continue
            taken[element_id] = child
            made = (
                elements.edge(ctx, child) if local == "sequenceFlow" else elements.node(ctx, child)
            )
            if made is None:
                dropped[element_id] = child
            else:
                (edges if local == "sequenceFlow" else nodes).append(made)
        elif namespace == BPMN or child.get("id"):
            ctx.report(
                child,
                "unsupported_element",
                f"{display(child.tag)} is not supported and was not imported",
            )
            if element_id:
                dropped[element_id] = child
    nodes = _attached(ctx, nodes, dropped, taken)
    edges = _connected(ctx, edges, {n["id"] for n in nodes}, dropped, taken)
    diagram.apply(ctx, root, nodes, edges)
    return {**properties, "nodes": nodes, "edges": edges}


def _choose_process(ctx: Context, root: Element) -> Element | None:
    for collaboration in root.findall(q(BPMN, "collaboration")):
        for flow in collaboration.findall(q(BPMN, "messageFlow")):
            ctx.report(flow, "unsupported_element", "message flows between pools are not supported")
    for child in root:
        namespace, local = split(child.tag)
        if namespace == BPMN and local not in DECLARATIONS | {"process", "collaboration"}:
            ctx.report(child, "unsupported_element", f"{display(child.tag)} is not supported")
    processes = root.findall(q(BPMN, "process"))
    busy = [p for p in processes if any(split(c.tag)[1] in NODE_TYPES for c in p)]
    executable = [p for p in busy if p.get("isExecutable") == "true"]
    chosen = (executable or busy or processes)[0] if processes else None
    for other in busy:
        if chosen is not None and other is not chosen:
            ctx.report(
                other,
                "extra_process",
                f"a flow is one process: {chosen.get('id')!r} was imported, this one was not",
            )
    return chosen


def _duplicates(ctx: Context, root: Element) -> None:
    first: dict[str, Element] = {}
    for element in root.iter():
        element_id = element.get("id")
        if element_id is None:
            continue
        if element_id in first:
            ctx.report(
                element,
                "duplicate_id",
                f"the id {element_id!r} is already used by a {display(first[element_id].tag)};"
                " only the first is imported",
            )
        else:
            first[element_id] = element


def _attached(
    ctx: Context,
    nodes: list[dict[str, Any]],
    dropped: dict[str, Element],
    taken: dict[str, Element],
) -> list[dict[str, Any]]:
    """Boundary timers whose activity was not imported are left out too (reported)."""
    ids = {n["id"] for n in nodes}
    kept = []
    for node in nodes:
        host = node.get("attached_to")
        if host is not None and host not in ids:
            element = taken[node["id"]]
            ctx.report(
                element,
                "boundary_dropped" if host in dropped else "unknown_reference",
                f"its activity {_what(host, dropped)} was not imported, so neither was it"
                if host in dropped
                else f"its attachedToRef {host!r} is not a node of the process; it was not "
                "imported",
            )
            dropped[node["id"]] = element
        else:
            kept.append(node)
    return kept


def _connected(
    ctx: Context,
    edges: list[dict[str, Any]],
    ids: set[str],
    dropped: dict[str, Element],
    taken: dict[str, Element],
) -> list[dict[str, Any]]:
    kept = []
    for edge in edges:
        ends = [(end, edge[end]) for end in ("source", "target") if edge[end] not in ids]
        if not ends:
            kept.append(edge)
            continue
        end, ref = ends[0]
        ctx.report(
            taken[edge["id"]],
            "edge_dropped" if ref in dropped else "unknown_reference",
            f"its {end} {_what(ref, dropped)} was not imported, so neither was it"
            if ref in dropped
            else f"its {end}Ref {ref!r} is not a node of the process; it was not imported",
        )
    return kept


def _what(ref: str, dropped: dict[str, Element]) -> str:
    return f"{display(dropped[ref].tag)} {ref!r}" if ref in dropped else repr(ref)


def _flow_properties(ctx: Context, process: Element) -> dict[str, Any]:
    props = ctx.extension(process, frozenset({*FLOW_EXTENSION, "key"}))
    stored_name = props.pop("name", None)
    key = props.pop("key", None) or process.get("id") or "flow"
    if not isinstance(key, str) or not re.match(KEY_PATTERN, key):
        fixed = re.sub(r"[^a-z0-9_]+", "_", str(key).lower()).strip("_")[:63] or "flow"
        fixed = fixed if fixed[0].isalpha() else f"flow_{fixed}"[:63]
        ctx.report(
            process,
            "key_changed",
            f"{key!r} is not a flow key (lowercase letters, digits and _); imported as {fixed!r}",
        )
        key = fixed
    return {"key": key, "name": labels_from(process.get("name"), stored_name), **props}


def _validate(ctx: Context, document: dict[str, Any]) -> Flow | None:
    try:
        return Flow.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors():
            _report_invalid(ctx, document, error)
        return None


def _report_invalid(ctx: Context, document: dict[str, Any], error: Any) -> None:
    loc = list(error["loc"])
    element_id = ctx.process_id
    element_type = "bpmn:process"
    if len(loc) >= 2 and loc[0] in ("nodes", "edges") and isinstance(loc[1], int):
        item = document[loc[0]][loc[1]]
        element_id = item.get("id")
        if loc[0] == "nodes":
            element_type = f"bpmn:{ELEMENTS.get(item.get('type'), 'task')}"
            loc = loc[3:]  # past the node type the union adds
        else:
            element_type, loc = "bpmn:sequenceFlow", loc[2:]
    field = str(loc[0]) if loc else ""
    if (element_id, field) in ctx.reported:
        return
    path = ".".join(str(part) for part in loc) or "element"
    ctx.problems.append(
        Problem("invalid_property", f"{path}: {error['msg']}", element_id, element_type)
    )
