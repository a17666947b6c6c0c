"""BPMN 2.0 XML import and export of flows (see README.md in this package).

::

    xml = to_bpmn(flow)            # a file bpmn-js and Camunda Modeler open
    result = from_bpmn(xml)        # result.flow, result.document, result.problems
    from_bpmn(to_bpmn(flow)).flow == flow

The round trip is lossless for every flow whose ids are unique and whose edges and
boundary timers refer to its own nodes (what :func:`engines.flow.check.check_flow` asks).
"""

from __future__ import annotations

from engines.flow.bpmn.exporter import to_bpmn
from engines.flow.bpmn.importer import from_bpmn
from engines.flow.bpmn.namespaces import JSONLOGIC, SCRIPT_FORMAT, TANGRAM
from engines.flow.bpmn.problems import ImportResult, Problem

__all__ = [
    "JSONLOGIC",
    "SCRIPT_FORMAT",
    "TANGRAM",
    "ImportResult",
    "Problem",
    "from_bpmn",
    "to_bpmn",
]
