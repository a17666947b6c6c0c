"""Three-way merge of app definitions for template upgrades.

``base`` is the installed template version, ``local`` the app's draft, ``theirs`` the new
template version — all three with this installation's form ids. Elements are merged one by
one: a form's own settings and each of its fields (by field id), and every flow, rule,
dashboard, role, permission set, SLA policy and calendar (by key, grants by id). For each
element: the same on both sides → kept; unchanged locally → theirs (an upstream addition,
change or removal is taken); unchanged upstream → local; changed on both sides differently →
a conflict, local for now, until a person chooses ``local`` or ``theirs``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Parts merged by key (grants by id); forms are merged field by field.
_KEYED = {
    "flows": "key",
    "dashboards": "key",
    "rules": "key",
    "roles": "key",
    "permissions": "id",
    "sla": "key",
    "calendars": "key",
    "intake": "key",
}
_FORM_OWN = ("fields", "archived", "next_field_id")
LOCAL, THEIRS = "local", "theirs"


@dataclass
class Merge:
    definition: dict[str, Any]
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def unresolved(self) -> list[dict[str, Any]]:
        return [c for c in self.conflicts if c["choice"] is None]


def _differing(local: Any, theirs: Any) -> list[str]:
    if isinstance(local, dict) and isinstance(theirs, dict):
        return sorted(k for k in {*local, *theirs} if local.get(k) != theirs.get(k))
    return []


class _Merger:
    def __init__(self, choices: dict[tuple[str, str], str]) -> None:
        self.choices = choices
        self.conflicts: list[dict[str, Any]] = []

    def one(self, part: str, element: str, base: Any, local: Any, theirs: Any) -> Any:
        if local == theirs:
            return local
        if local == base:
            return theirs
        if theirs == base:
            return local
        choice = self.choices.get((part, element))
        self.conflicts.append(
            {
                "part": part,
                "element": element,
                "paths": _differing(local, theirs),
                "base": base,
                "local": local,
                "theirs": theirs,
                "choice": choice,
            }
        )
        return theirs if choice == THEIRS else local

    def keyed(
        self,
        part: str,
        ident: str,
        base: list[Any],
        local: list[Any],
        theirs: list[Any],
        name: Any = None,
    ) -> list[Any]:
        b = {str(i[ident]): i for i in base}
        l_ = {str(i[ident]): i for i in local}
        t = {str(i[ident]): i for i in theirs}
        order = list(l_) + [k for k in t if k not in l_]
        out = []
        for key in order:
            element = name(key, l_.get(key) or t.get(key)) if name else key
            merged = self.one(part, element, b.get(key), l_.get(key), t.get(key))
            if merged is not None:
                out.append(merged)
        return out

    def forms(self, base: list[Any], local: list[Any], theirs: list[Any]) -> list[Any]:
        b = {f["id"]: f for f in base}
        l_ = {f["id"]: f for f in local}
        t = {f["id"]: f for f in theirs}
        out = []
        for form_id in list(l_) + [i for i in t if i not in l_]:
            bf, lf, tf = b.get(form_id), l_.get(form_id), t.get(form_id)
            key = (lf or tf)["key"]
            own = self.one("forms", key, _own(bf), _own(lf), _own(tf))
            if own is None:
                continue
            fields = self.keyed(
                "fields",
                "id",
                (bf or {}).get("fields", []),
                (lf or {}).get("fields", []),
                (tf or {}).get("fields", []),
                name=lambda _id, spec, form=key: f"{form}.{spec['key']}",
            )
            archived = list((lf or {}).get("archived", []))
            live = {f["id"] for f in fields}
            archived = [f for f in archived if f["id"] not in live]
            next_id = max(
                [(lf or {}).get("next_field_id", 1), (tf or {}).get("next_field_id", 1)]
                + [f["id"] + 1 for f in [*fields, *archived]]
            )
            out.append(
                {
                    **own,
                    "id": form_id,
                    "fields": fields,
                    "archived": archived,
                    "next_field_id": next_id,
                }
            )
        return out


def _own(form: dict[str, Any] | None) -> dict[str, Any] | None:
    if form is None:
        return None
    return {k: v for k, v in form.items() if k not in _FORM_OWN}


def merge(
    base: dict[str, Any],
    local: dict[str, Any],
    theirs: dict[str, Any],
    choices: dict[tuple[str, str], str] | None = None,
) -> Merge:
    """The merged definition document and its conflicts (``choices`` decide some)."""
    merger = _Merger(choices or {})
    result = dict(local)
    result["forms"] = merger.forms(
        base.get("forms", []), local.get("forms", []), theirs.get("forms", [])
    )
    for part, ident in _KEYED.items():
        result[part] = merger.keyed(
            part, ident, base.get(part, []), local.get(part, []), theirs.get(part, [])
        )
    return Merge(result, merger.conflicts)
