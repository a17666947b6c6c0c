"""The XML namespaces, expression languages and media types of Tangram's BPMN files."""

from __future__ import annotations

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: Tangram's extension namespace (the trailing 1 is its version; a breaking change gets a 2).
TANGRAM = "https://tangram.dev/schema/bpmn/1"

#: Prefix of each namespace in exported files (the prefixes bpmn-js and Camunda Modeler use).
PREFIXES = {
    BPMN: "bpmn",
    BPMNDI: "bpmndi",
    DC: "dc",
    DI: "di",
    XSI: "xsi",
    TANGRAM: "tangram",
}

#: Other vendors' namespaces, named by their usual prefix in problems.
VENDORS = {
    "http://camunda.org/schema/1.0/bpmn": "camunda",
    "http://camunda.org/schema/zeebe/1.0": "zeebe",
    "http://flowable.org/bpmn": "flowable",
    "http://activiti.org/bpmn": "activiti",
}

#: ``language`` of every formal expression holding JsonLogic (conditions, timer dates, the
#: countersign completion condition), and the definitions' ``expressionLanguage``.
JSONLOGIC = "https://jsonlogic.com"
#: ``scriptFormat`` of a script task whose script is a JSON object ``variable → JsonLogic``.
SCRIPT_FORMAT = "application/jsonlogic+json"
#: The ``exporter`` attribute of the definitions.
EXPORTER = "Tangram"


def q(namespace: str, local: str) -> str:
    """ElementTree's name of an element or attribute: ``{namespace}local``."""
    return f"{{{namespace}}}{local}"


def split(tag: str) -> tuple[str, str]:
    """``{namespace}local`` → ``(namespace, local)`` (no namespace: ``("", local)``)."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def display(tag: str) -> str:
    """A tag as people read it in a BPMN file: ``bpmn:userTask``, ``camunda:taskListener``."""
    namespace, local = split(tag)
    prefix = PREFIXES.get(namespace) or VENDORS.get(namespace)
    if prefix is not None:
        return f"{prefix}:{local}"
    return f"{{{namespace}}}{local}" if namespace else local
