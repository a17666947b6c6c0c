"""A small XML writer: elements with fixed namespace prefixes, written indented and escaped.

ElementTree would pick its own prefixes (``ns0:``) unless they are registered process-wide;
writing by hand keeps the prefixes modelers use and the attribute order we choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from engines.flow.bpmn.namespaces import PREFIXES


@dataclass
class El:
    """One element: ``tag`` is ``prefix:local``; attributes keep their insertion order."""

    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[El] = field(default_factory=list)
    text: str | None = None

    def add(self, tag: str, text: str | None = None, **attrs: str | None) -> El:
        """Append a child (attributes given as None are left out) and return it."""
        child = El(tag, _attrs(attrs), text=text)
        self.children.append(child)
        return child

    def set(self, **attrs: str | None) -> El:
        self.attrs.update(_attrs(attrs))
        return self


def _attrs(attrs: dict[str, str | None]) -> dict[str, str]:
    # Python names cannot hold ':' -- ``xsi__type`` is written ``xsi:type``.
    return {k.replace("__", ":"): v for k, v in attrs.items() if v is not None}


def number(value: float) -> str:
    """A coordinate as written in DI bounds: ``150`` rather than ``150.0``."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def serialize(root: El, namespaces: dict[str, str] | None = None) -> str:
    """The document: an XML declaration, then ``root`` with the namespace declarations."""
    declared = namespaces if namespaces is not None else PREFIXES
    root = El(
        root.tag,
        {**{f"xmlns:{p}": uri for uri, p in declared.items()}, **root.attrs},
        root.children,
        root.text,
    )
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    _write(root, 0, lines)
    return "\n".join(lines) + "\n"


def _write(element: El, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in element.attrs.items())
    if element.children:
        lines.append(f"{pad}<{element.tag}{attrs}>")
        for child in element.children:
            _write(child, depth + 1, lines)
        lines.append(f"{pad}</{element.tag}>")
    elif element.text is not None:
        lines.append(f"{pad}<{element.tag}{attrs}>{escape(element.text)}</{element.tag}>")
    else:
        lines.append(f"{pad}<{element.tag}{attrs} />")
