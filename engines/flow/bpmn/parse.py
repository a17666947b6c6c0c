"""Parsing untrusted XML: defusedxml, no DTDs at all, a size limit, errors as problems."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import (  # type: ignore[import-untyped]
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
)
from defusedxml import ElementTree as SafeElementTree

from engines.flow.bpmn.problems import Problem

#: Larger files are refused before parsing (a large flow's BPMN is well under 1 MB).
MAX_BYTES = 10 * 1024 * 1024


def parse_xml(data: str | bytes) -> Element | Problem:
    """The root element, or the problem that stopped parsing.

    Document type declarations are refused outright, so entities (internal ones as in the
    "billion laughs", external ones reading files or URLs) and external DTDs are never
    expanded or fetched: BPMN files have no use for them.
    """
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > MAX_BYTES:
        return Problem(
            "xml_too_large", f"the file has {size} bytes; at most {MAX_BYTES} are accepted"
        )
    if not data.strip():
        return Problem("xml_malformed", "the file is empty")
    try:
        root: Element = SafeElementTree.fromstring(data, forbid_dtd=True)
    except DTDForbidden as exc:
        return Problem(
            "xml_forbidden",
            f"the file declares a document type (<!DOCTYPE {exc.name}>); DTDs are refused "
            "because they can expand entities or fetch external files, and BPMN needs none",
            **_where(data, "<!DOCTYPE"),
        )
    except EntitiesForbidden as exc:
        return Problem(
            "xml_forbidden",
            f"the file declares the entity {exc.name!r}; entities are refused",
            **_where(data, "<!ENTITY"),
        )
    except DefusedXmlException as exc:
        return Problem("xml_forbidden", f"the file uses a refused XML feature: {exc}")
    except ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":", 1)[0]
        return Problem(
            "xml_malformed",
            f"the file is not well-formed XML: {reason} at line {line}, column {column + 1}",
            line=line,
            column=column + 1,
        )
    except (ValueError, LookupError) as exc:  # e.g. an unknown encoding declared
        return Problem("xml_malformed", f"the file cannot be read as XML: {exc}")
    return root


def _where(data: str | bytes, marker: str) -> dict[str, Any]:
    """``line`` and ``column`` (from 1) of the first ``marker`` in the file."""
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    index = text.find(marker)
    if index < 0:
        return {}
    before = text[:index]
    return {"line": before.count("\n") + 1, "column": index - (before.rfind("\n") + 1) + 1}
