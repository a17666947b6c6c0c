"""Which spreadsheet column holds which field: header matching for imports, headers for exports.

A header matches a field by its key or by its label in any locale (zh-CN, en), ignoring case,
width (全角/半角), surrounding spaces and the ``*`` templates use to mark required columns. An
explicit ``mapping`` (header → field key, or null to skip the column) overrides that per column.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from engines.form.errors import InvalidValue
from runtime.errors import FieldError, ProblemError
from runtime.i18n import pick
from runtime.records.forms import FormHandle
from runtime.records.tabular import column_letter

MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_column": ("The file has no column with this header.", "文件中没有此列标题。"),
    "unknown_field": ("This form has no such field.", "表单中没有此字段。"),
    "not_importable": (
        "This field is filled by the system and cannot be imported.",
        "此字段由系统填写，不能导入。",
    ),
    "duplicate_column": (
        "Another column is already imported into field {field}.",
        "已有其他列导入到字段 {field}。",
    ),
    "ambiguous_column": (
        "This header matches several fields ({fields}); map it explicitly.",
        "此列标题对应多个字段（{fields}），请明确指定映射。",
    ),
    "cell_without_header": (
        "This cell is in a column without a header (are the columns shifted?).",
        "此单元格所在列没有列标题（列是否错位？）。",
    ),
}
_SPACES = re.compile(r"\s+")


def message(code: str, **params: Any) -> str:
    en, zh = MESSAGES[code]
    return pick({"en": en, "zh-CN": zh}).format(**params)


def normalise(header: str) -> str:
    text = unicodedata.normalize("NFKC", header).strip().strip("*").strip()
    return _SPACES.sub(" ", text).casefold()


@dataclass(frozen=True)
class Column:
    index: int
    header: str
    key: str | None

    @property
    def name(self) -> str:
        """The header, or the column letter when the header cell is empty."""
        return self.header or column_letter(self.index)


@dataclass(frozen=True)
class CellProblem:
    column: str | None
    field: str | None
    code: str
    params: dict[str, Any]


@dataclass
class ColumnPlan:
    handle: FormHandle
    columns: list[Column]
    unknown: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def mapped(self) -> list[Column]:
        return [c for c in self.columns if c.key is not None]

    def column_of(self, key: str) -> str | None:
        return next((c.name for c in self.columns if c.key == key), None)

    def describe(self) -> list[dict[str, Any]]:
        return [{"column": c.name, "field": c.key} for c in self.columns if c.header]

    def parse(self, cells: list[str]) -> tuple[dict[str, Any], list[CellProblem]]:
        """API values of one row (an empty cell gives no value) and the cells that failed."""
        values: dict[str, Any] = {}
        problems: list[CellProblem] = []
        for column in self.mapped:
            assert column.key is not None
            raw = cells[column.index] if column.index < len(cells) else ""
            if not raw:
                continue
            spec = self.handle.spec(column.key)
            try:
                values[column.key] = self.handle.field_type(column.key).parse_text(spec, raw)
            except InvalidValue as exc:
                problems.append(CellProblem(column.name, column.key, exc.code, exc.params))
        width = len(self.columns)
        for index, cell in enumerate(cells):
            unnamed = index >= width or (
                not self.columns[index].header and self.columns[index].key is None
            )
            if unnamed and cell:
                problems.append(CellProblem(column_letter(index), None, "cell_without_header", {}))
        return values, problems


def importable(handle: FormHandle, key: str) -> bool:
    """Fields a spreadsheet cell can set (not auto-numbers, formulas or sub-tables)."""
    return handle.field_type(key).client_writable and exportable(handle, key)


def exportable(handle: FormHandle, key: str) -> bool:
    """Fields that are one cell in an export: stored in the form's own table, or a list of
    links (``12, 15``); not sub-tables or lookups."""
    field_type = handle.field_type(key)
    return (field_type.has_column or field_type.has_links) and not field_type.has_children


def _lookup(handle: FormHandle) -> tuple[dict[str, str], dict[str, set[str]]]:
    keys = {normalise(spec.key): spec.key for spec in handle.form.fields}
    labels: dict[str, set[str]] = {}
    for spec in handle.form.fields:
        for label in spec.label.values():
            labels.setdefault(normalise(label), set()).add(spec.key)
    return keys, labels


def plan_columns(
    handle: FormHandle, header: list[str], mapping: dict[str, str | None] | None = None
) -> ColumnPlan:
    """Match the header row to fields; 422 naming every column problem at once."""
    mapping = mapping or {}
    keys, labels = _lookup(handle)
    errors: list[FieldError] = []
    for name, target in mapping.items():
        if name not in header:
            errors.append(
                FieldError(f"mapping.{name}", "unknown_column", message("unknown_column"))
            )
        if target is not None and target not in handle.validator.specs:
            errors.append(FieldError(f"mapping.{name}", "unknown_field", message("unknown_field")))
        elif target is not None and not importable(handle, target):
            errors.append(
                FieldError(f"mapping.{name}", "not_importable", message("not_importable"))
            )
    plan = ColumnPlan(handle, [])
    taken: dict[str, str] = {}
    for index, text in enumerate(header):
        key: str | None = None
        if text in mapping:
            key = mapping[text]
            if key is None:
                plan.skipped.append(text)
        elif text:
            normal = normalise(text)
            candidates = {keys[normal]} if normal in keys else labels.get(normal, set())
            if len(candidates) > 1:
                fields = ", ".join(sorted(candidates))
                errors.append(
                    FieldError(
                        f"columns.{text}",
                        "ambiguous_column",
                        message("ambiguous_column", fields=fields),
                    )
                )
            elif candidates:
                key = next(iter(candidates))
            else:
                plan.unknown.append(text)
        if key is not None and key in handle.validator.specs and not importable(handle, key):
            plan.skipped.append(text)  # auto-numbers, formulas: exported, never imported
            key = None
        if key is not None and key in handle.validator.specs:
            if key in taken:
                errors.append(
                    FieldError(
                        f"columns.{text}",
                        "duplicate_column",
                        message("duplicate_column", field=key),
                    )
                )
            taken[key] = text
        elif key is not None:
            key = None  # an unknown target, reported above
        plan.columns.append(Column(index, text, key))
    if errors:
        raise ProblemError("validation_failed", errors=errors)
    if not plan.mapped:
        raise ProblemError("import_no_columns", extra={"unknown_columns": plan.unknown})
    return plan


def export_headers(
    handle: FormHandle, keys: Iterable[str], locale: str, *, by_key: bool
) -> list[str]:
    """Labels in ``locale`` (keys where a label would be ambiguous on re-import), or keys."""
    keys = list(keys)
    if by_key:
        return keys
    _, labels = _lookup(handle)
    all_keys = {normalise(spec.key) for spec in handle.form.fields}
    headers = []
    for key in keys:
        label = handle.spec(key).label_for(locale)
        normal = normalise(label)
        clear = normal and labels.get(normal) == {key} and normal not in all_keys - {normalise(key)}
        headers.append(label if clear else key)
    return headers
