"""The list page's state in its URL: columns, filter conditions, search, sort and the keyset
pages walked so far (``back``: the cursors of the previous pages, so "previous" is a link too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from runtime.errors import FieldError, ProblemError
from runtime.permissions.access import Access
from runtime.records.forms import FormHandle
from runtime.views.service import SYSTEM_COLUMNS

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_COLUMNS = 6
#: Types not shown by default (long or nested values).
_NOT_BY_DEFAULT = {"richtext", "textarea", "subtable", "attachments"}


@dataclass(frozen=True)
class ListState:
    columns: list[str]
    conditions: list[Any] = field(default_factory=list)
    q: str = ""
    sort: str = ""
    cursor: str = ""
    back: list[str] = field(default_factory=list)
    limit: int = 25
    view: int | None = None

    @property
    def rule(self) -> Any:
        return {"and": list(self.conditions)} if self.conditions else None

    @property
    def filter_text(self) -> str:
        rule = self.rule
        return "" if rule is None else json.dumps(rule, ensure_ascii=False, separators=(",", ":"))

    def params(self, **changes: Any) -> dict[str, str]:
        """The query parameters of this state with ``changes``; a new query starts at page 1."""
        state = replace(self, **changes)
        if {"conditions", "q", "sort", "limit", "columns"} & set(changes):
            state = replace(state, cursor="", back=[])
        values = {
            "view": str(state.view) if state.view else "",
            "cols": ",".join(state.columns),
            "filter": state.filter_text,
            "q": state.q,
            "sort": state.sort,
            "limit": str(state.limit) if state.limit != 25 else "",
            "cursor": state.cursor,
            "back": ",".join(state.back) if state.back else "",
        }
        return {k: v for k, v in values.items() if v}

    def query(self, **changes: Any) -> str:
        params = self.params(**changes)
        return "?" + urlencode(params) if params else "?"

    def without(self, index: int) -> str:
        return self.query(conditions=[c for i, c in enumerate(self.conditions) if i != index])

    def sorted_by(self, key: str) -> str:
        """Ascending, then descending, then unsorted."""
        if self.sort == key:
            return self.query(sort=f"-{key}")
        if self.sort == f"-{key}":
            return self.query(sort="")
        return self.query(sort=key)

    def aria_sort(self, key: str) -> str:
        if self.sort == key:
            return "ascending"
        if self.sort == f"-{key}":
            return "descending"
        return "none"

    def next_page(self, cursor: str) -> str:
        return self.query(cursor=cursor, back=[*self.back, self.cursor or "-"])

    def previous_page(self) -> str | None:
        if not self.back:
            return None
        previous = self.back[-1]
        return self.query(cursor="" if previous == "-" else previous, back=self.back[:-1])

    @property
    def offset(self) -> int:
        return len(self.back) * self.limit


def split_conditions(rule: Any) -> list[Any]:
    """The conditions of a filter: the items of a top-level ``and``, else the rule itself."""
    if rule is None:
        return []
    if isinstance(rule, dict) and list(rule) == ["and"] and isinstance(rule["and"], list):
        return list(rule["and"])
    return [rule]


def parse_filter(raw: str | None) -> list[Any]:
    if not raw:
        return []
    try:
        return split_conditions(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise ProblemError(
            "validation_failed", errors=[FieldError("filter", "malformed_json", exc.msg)]
        ) from exc


def available_columns(handle: FormHandle, rights: Access) -> list[str]:
    """Every column the caller may show: the fields they can read, then id and times."""
    hidden = rights.hidden_keys()
    return [k for k in handle.form.keys if k not in hidden] + list(SYSTEM_COLUMNS)


def default_columns(handle: FormHandle, rights: Access) -> list[str]:
    hidden = rights.hidden_keys()
    keys = [
        spec.key
        for spec in handle.form.fields
        if spec.key not in hidden and spec.type not in _NOT_BY_DEFAULT
    ]
    return keys[:DEFAULT_COLUMNS]


def parse_columns(raw: list[str], allowed: list[str]) -> list[str]:
    """The asked-for columns that exist and may be shown (unknown ones are dropped)."""
    names = [n.strip() for part in raw for n in part.split(",") if n.strip()]
    seen: list[str] = []
    for name in names:
        if name in allowed and name not in seen:
            seen.append(name)
    return seen


def sortable(handle: FormHandle, key: str) -> bool:
    if key in SYSTEM_COLUMNS:
        return True
    field_type = handle.field_type(key)
    return field_type.sortable and field_type.has_column
