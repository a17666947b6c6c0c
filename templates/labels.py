"""Translations apart from the parts: every label (a ``{locale: text}`` object under ``label``,
``name``, ``title``, ``help``, ``description`` or ``placeholder``) is pulled out of a part's
file into ``locales/<locale>.json`` and merged back on reading.

A label is addressed by its file and a path inside it: names separated by dots, list items by
their ``key``, ``id`` or ``value`` when every item of the list has a distinct one (else by their
position), e.g. ``fields[subject].options.choices[open].label`` or ``[agent].name``.
"""

from __future__ import annotations

import re
from typing import Any

LABEL_KEYS = frozenset({"label", "name", "title", "help", "description", "placeholder"})
_LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SELECTOR = re.compile(r"^[A-Za-z0-9_-]+$")
_TOKEN = re.compile(r"([^.\[\]]+)|\[([^\]]+)\]")


def is_labels(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and _LOCALE.match(k) for k in value)
        and all(isinstance(v, str) for v in value.values())
    )


def _ident(items: list[Any]) -> str | None:
    """What names the items of a list: a distinct key, id or value on each (else None)."""
    if not items or not all(isinstance(v, dict) for v in items):
        return None
    for ident in ("key", "id", "value"):
        names = [v.get(ident) for v in items]
        if all(
            isinstance(n, str | int) and not isinstance(n, bool) and _SELECTOR.match(str(n))
            for n in names
        ) and len({str(n) for n in names}) == len(names):
            return ident
    return None


def extract(document: Any) -> tuple[Any, dict[str, dict[str, str]]]:
    """The document without its labels, and the labels by path."""
    found: dict[str, dict[str, str]] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                if key in LABEL_KEYS and is_labels(item):
                    found[child] = dict(item)
                    continue
                out[key] = walk(item, child)
            return out
        if isinstance(value, list):
            ident = _ident(value)
            return [
                walk(item, f"{path}[{item[ident] if ident else index}]")
                for index, item in enumerate(value)
            ]
        return value

    return walk(document, ""), found


def by_locale(found: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """``{path: {locale: text}}`` → ``{locale: {path: text}}``."""
    out: dict[str, dict[str, str]] = {}
    for path, labels in found.items():
        for locale, text in labels.items():
            out.setdefault(locale, {})[path] = text
    return out


def put(document: Any, path: str, locale: str, text: str) -> bool:
    """Set the label at ``path`` in ``document``; False when the path leads nowhere."""
    tokens = [(m[1], m[2]) for m in _TOKEN.finditer(path)]
    if not tokens or "".join(m[0] for m in _TOKEN.finditer(path)).replace(".", "") != path.replace(
        ".", ""
    ):
        return False
    *steps, last = tokens
    name, _ = last
    if not name or name not in LABEL_KEYS:
        return False
    here = document
    for key, sel in steps:
        if key is not None:
            if not isinstance(here, dict) or key not in here:
                return False
            here = here[key]
        else:
            if not isinstance(here, list):
                return False
            ident = _ident(here)
            if ident is None:
                if not sel.isdigit() or int(sel) >= len(here):
                    return False
                here = here[int(sel)]
            else:
                match = [item for item in here if str(item[ident]) == sel]
                if not match:
                    return False
                here = match[0]
    if not isinstance(here, dict):
        return False
    labels = here.setdefault(name, {})
    if not isinstance(labels, dict):
        return False
    labels[locale] = text
    return True
