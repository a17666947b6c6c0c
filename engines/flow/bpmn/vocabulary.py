"""Which BPMN elements the importer reads, which it skips as carrying nothing to run, and
(by omission) which it reports: any BPMN element not named here is reported by id and type."""

from __future__ import annotations

#: BPMN element → node type.
NODE_TYPES = {
    "startEvent": "start",
    "endEvent": "end",
    "userTask": "user_task",
    "scriptTask": "script",
    "serviceTask": "service_task",
    "exclusiveGateway": "exclusive_gateway",
    "parallelGateway": "parallel_gateway",
    "inclusiveGateway": "inclusive_gateway",
    "intermediateCatchEvent": "timer",
    "boundaryEvent": "boundary_timer",
    "callActivity": "call_activity",
}

#: Children any element may have that carry nothing to run (or nothing we read there).
INERT = frozenset(
    {
        "documentation",
        "extensionElements",
        "incoming",
        "outgoing",
        "ioSpecification",
        "property",
        "dataInputAssociation",
        "dataOutputAssociation",
        "dataInput",
        "dataOutput",
        "inputSet",
        "outputSet",
        "auditing",
        "monitoring",
        "categoryValueRef",
    }
)
#: Process children that are drawn but not run: lanes, annotations, groups, data objects.
IGNORED = INERT | {
    "laneSet",
    "textAnnotation",
    "association",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "correlationSubscription",
}

#: Definitions children that only declare things other elements refer to.
DECLARATIONS = frozenset(
    {
        "documentation",
        "extensionElements",
        "import",
        "extension",
        "relationship",
        "message",
        "signal",
        "error",
        "escalation",
        "itemDefinition",
        "dataStore",
        "interface",
        "resource",
        "category",
        "correlationProperty",
        "partnerEntity",
        "partnerRole",
        "endPoint",
        "timerEventDefinition",
        "messageEventDefinition",
        "signalEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
        "conditionalEventDefinition",
        "compensateEventDefinition",
        "linkEventDefinition",
        "terminateEventDefinition",
        "cancelEventDefinition",
    }
)

#: Event definitions (children of events); only timers and terminate are supported.
EVENT_DEFINITIONS = frozenset(
    {
        "timerEventDefinition",
        "messageEventDefinition",
        "signalEventDefinition",
        "errorEventDefinition",
        "escalationEventDefinition",
        "compensateEventDefinition",
        "conditionalEventDefinition",
        "linkEventDefinition",
        "cancelEventDefinition",
        "terminateEventDefinition",
        "eventDefinitionRef",
    }
)

#: Node type → BPMN element.
ELEMENTS = {kind: tag for tag, kind in NODE_TYPES.items()}
