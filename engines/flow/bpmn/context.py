"""State shared while one file is imported: the problems so far, and readers for the parts
every element may have (the Tangram extension, JsonLogic expressions, child elements)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from xml.etree.ElementTree import Element

from engines.flow.bpmn.mapping import load_json
from engines.flow.bpmn.namespaces import BPMN, JSONLOGIC, TANGRAM, display, q, split
from engines.flow.bpmn.problems import Problem
from engines.flow.bpmn.vocabulary import INERT

_NO_RULE = object()


class Context:
    def __init__(self, default_language: str | None) -> None:
        #: The definitions' ``expressionLanguage``: the language of expressions without one.
        self.default_language = default_language
        self.process_id: str | None = None
        self.problems: list[Problem] = []
        #: ``(element id, property)`` pairs already reported, so that validating the flow
        #: does not report them a second time.
        self.reported: set[tuple[str | None, str]] = set()

    def report(self, element: Element, code: str, message: str, field: str | None = None) -> None:
        self.problems.append(Problem(code, message, element.get("id"), display(element.tag)))
        if field is not None:
            self.reported.add((element.get("id"), field))

    def children(self, element: Element, allowed: Iterable[str] = ()) -> list[Element]:
        """The BPMN children in ``allowed``; any other child that could mean something to
        an engine is reported (inert ones and other vendors' extensions are skipped)."""
        wanted = set(allowed)
        kept = []
        for child in element:
            namespace, local = split(child.tag)
            if namespace == BPMN and local in wanted:
                kept.append(child)
            elif namespace == BPMN and local not in INERT:
                self.problems.append(
                    Problem(
                        "unsupported_element",
                        f"{display(child.tag)} in {display(element.tag)} "
                        f"{element.get('id')!r} is not supported and was not imported",
                        child.get("id") or element.get("id"),
                        display(child.tag),
                    )
                )
        return kept

    def extension(self, element: Element, allowed: frozenset[str]) -> dict[str, Any]:
        """The properties in the element's ``tangram:properties`` (``name`` is always
        allowed); problems are reported and the faulty part left out."""
        found = [
            props
            for holder in element.findall(q(BPMN, "extensionElements"))
            for props in holder.findall(q(TANGRAM, "properties"))
        ]
        if not found:
            return {}
        if len(found) > 1:
            self.report(
                element,
                "duplicate_extension",
                "tangram:properties is given twice; the first is used",
            )
        try:
            props = load_json(found[0].text or "{}")
        except ValueError as exc:
            self.report(element, "invalid_extension", f"tangram:properties is not JSON: {exc}")
            return {}
        if not isinstance(props, dict):
            self.report(element, "invalid_extension", "tangram:properties is not a JSON object")
            return {}
        for key in [k for k in props if k not in allowed and k != "name"]:
            self.report(
                element,
                "unknown_extension_property",
                f"tangram:properties has {key!r}, which a {display(element.tag)} does not take",
            )
            del props[key]
        name = props.get("name")
        if name is not None and not (
            isinstance(name, dict) and all(isinstance(v, str) for v in name.values())
        ):
            self.report(
                element, "invalid_extension", "the name in tangram:properties is not labels"
            )
            del props["name"]
        return props

    def rule(self, holder: Element, expression: Element, field: str) -> Any:
        """The JsonLogic in a formal expression, or :data:`MISSING` (reported) when it is in
        another language or not JSON. ``holder`` is the element reported."""
        language = expression.get("language") or self.default_language
        text = (expression.text or "").strip()
        if language != JSONLOGIC:
            self.report(
                holder,
                "unsupported_expression_language",
                f"the {display(expression.tag)} {text[:80]!r} is in "
                f"{repr(language) if language else 'no stated language'}; only JsonLogic "
                f"(language={JSONLOGIC!r}) is imported, so it was left out",
                field,
            )
            return MISSING
        try:
            return load_json(text)
        except ValueError as exc:
            self.report(
                holder,
                "invalid_json",
                f"the {display(expression.tag)} is not JSON ({exc}), so it was left out",
                field,
            )
            return MISSING


#: What :meth:`Context.rule` returns when there is no usable rule.
MISSING: Any = _NO_RULE
