"""The migration plan in plain words: one sentence per operation and per blocker.

"adds field 退货原因 to 退货申请", "archives field 旧编号 of 退货申请 (1,204 values kept)",
"refuses to change 金额 to integer: 17 rows have decimals". Archiving and purging count the
values the field holds now (records with a value, in the published table), so the designer
sees what is kept or lost.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, MetaData, func, select
from sqlalchemy.engine import Connection

from builder.apps.apply import Blocker
from builder.apps.wording import name, number, say, type_name
from engines.form.diff import Operation
from engines.form.errors import SchemaError
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.tables import build_side_table, build_table
from runtime.models import metadata as platform_metadata

#: Operations that leave values behind (kept or deleted): their values are counted.
COUNTED = frozenset({"archive_field", "purge_column"})
Forms = dict[int, FormSchema]


def _metadata() -> MetaData:
    metadata = MetaData()
    for table in ("users", "departments"):
        platform_metadata.tables[table].to_metadata(metadata)
    return metadata


def _spec(forms: Forms, form_id: int, field_id: int | None) -> FieldSpec | None:
    form = forms.get(form_id)
    if form is None or field_id is None:
        return None
    return next((f for f in [*form.fields, *form.archived] if f.id == field_id), None)


def _holder(form: FormSchema, spec: FieldSpec) -> ColumnElement[Any] | None:
    """What counts the records holding a value of ``spec``: its column (non-null values) or,
    for values kept beside the table (sub-table rows, links), the distinct owning record ids.
    None for fields that store nothing (lookups, formulas computed on read)."""
    field_type = FIELD_TYPES.get(spec.type)
    table = build_table(form, _metadata())
    if field_type.has_column:
        return func.count(table.c[f"f_{spec.id}"])
    side = build_side_table(form, spec, table)
    if side is None:
        return None
    owner = side.c.parent_id if "parent_id" in side.c else side.c.record_id
    return func.count(owner.distinct())


def kept_values(conn: Connection, ops: list[Operation], applied: Forms) -> dict[int, int]:
    """For each archive and purge operation (by its index in ``ops``): how many records hold
    a value of the field now."""
    counts: dict[int, int] = {}
    for index, op in enumerate(ops):
        spec = _spec(applied, op.form_id, op.field_id)
        if op.kind not in COUNTED or spec is None:
            continue
        holder = _holder(applied[op.form_id], spec)
        if holder is not None:
            counts[index] = int(conn.execute(select(holder)).scalar_one())
    return counts


def _names(op: Operation, applied: Forms, targets: Forms) -> dict[str, str]:
    form = targets.get(op.form_id) or applied.get(op.form_id)
    spec = _spec(targets, op.form_id, op.field_id) or _spec(applied, op.form_id, op.field_id)
    form_key = form.key if form else str(op.form_id)
    return {
        "form": name(form.label if form else None, form_key),
        "field": name(spec.label if spec else None, str(op.detail.get("key", op.field_id))),
    }


def operation_summary(
    op: Operation, applied: Forms, targets: Forms, kept: int | None = None
) -> str:
    """One operation in a sentence of the caller's language."""
    words = _names(op, applied, targets)
    detail = op.detail
    if op.kind == "create_table":
        return say("adds form {form} (a new table)", "新增表单 {form}（新建数据表）", **words)
    if op.kind == "add_column":
        return say("adds field {field} to {form}", "在 {form} 中新增字段 {field}", **words)
    if op.kind == "add_child_column":
        child = str(detail.get("child_key", ""))
        return say(
            "adds column {child} to sub-table {field} of {form}",
            "在 {form} 的子表 {field} 中新增列 {child}",
            child=child,
            **words,
        )
    if op.kind == "rename_field":
        return say(
            "renames the key of field {field} in {form} from {old} to {new}",
            "将 {form} 中字段 {field} 的标识由 {old} 改为 {new}",
            old=detail.get("from"),
            new=detail.get("to"),
            **words,
        )
    if op.kind == "retype_column":
        return say(
            "changes {field} in {form} from {old} to {new}",
            "将 {form} 中的 {field} 由{old}改为{new}",
            old=type_name(str(detail.get("from"))),
            new=type_name(str(detail.get("to"))),
            **words,
        )
    if op.kind == "archive_field":
        if kept is None:
            return say("archives field {field} of {form}", "归档 {form} 的字段 {field}", **words)
        return say(
            "archives field {field} of {form} (1 value kept)"
            if kept == 1
            else "archives field {field} of {form} ({n} values kept)",
            "归档 {form} 的字段 {field}（保留 {n} 个值）",
            n=number(kept),
            **words,
        )
    if op.kind == "restore_field":
        return say("restores field {field} of {form}", "恢复 {form} 的字段 {field}", **words)
    if op.kind == "purge_column":
        return say(
            "deletes field {field} of {form} for good, with its 1 value"
            if kept == 1
            else "deletes field {field} of {form} for good, with its {n} values",
            "永久删除 {form} 的字段 {field} 及其 {n} 个值",
            n=number(kept or 0),
            **words,
        )
    phrases = {
        "add_index": ("indexes {field} of {form}", "为 {form} 的 {field} 建立索引"),
        "drop_index": ("drops the index of {field} in {form}", "删除 {form} 中 {field} 的索引"),
        "add_unique": ("makes {field} of {form} unique", "将 {form} 的 {field} 设为唯一"),
        "drop_unique": (
            "lets {field} of {form} repeat values (no longer unique)",
            "取消 {form} 中 {field} 的唯一约束",
        ),
    }
    en, zh_cn = phrases.get(op.kind, (op.kind, op.kind))
    return say(en, zh_cn, **words)


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | Decimal):
        return True
    try:
        Decimal(str(value))
    except (InvalidOperation, ValueError):
        return False
    return True


_REASONS: dict[str, tuple[str, str]] = {
    "invalid_integer": ("have values that are not whole numbers", "的值不是整数"),
    "invalid_number": ("have values that are not numbers", "的值不是数字"),
    "too_many_decimals": ("have too many decimal places", "的小数位数过多"),
    "too_many_digits": ("have numbers with too many digits", "的数字位数过多"),
    "too_long": ("have values longer than allowed", "的值超过长度上限"),
    "not_an_option": ("have values that are not among the options", "的值不在选项中"),
    "too_small": ("have values below the minimum", "的值低于下限"),
    "too_large": ("have values above the maximum", "的值超过上限"),
    "too_many_links": ("link to more than one record", "关联了多条记录"),
}


def _whole_numbers(spec: FieldSpec | None) -> bool:
    """Whether ``spec`` takes whole numbers only (a number type with no decimal places)."""
    if spec is None:
        return False
    try:
        settings = FIELD_TYPES.get(spec.type).settings(spec)
    except SchemaError:  # settings the definition check reports
        return False
    return getattr(settings, "scale", None) == 0


def _reason(blocker: Blocker, spec: FieldSpec | None) -> str:
    codes = Counter(str(e.get("code", "")) for e in blocker.examples)
    code = codes.most_common(1)[0][0] if codes else ""
    numeric = all(_numeric(e.get("value")) for e in blocker.examples)
    if numeric and (
        code == "invalid_integer" or (code == "too_many_decimals" and _whole_numbers(spec))
    ):
        return say("has decimals" if blocker.count == 1 else "have decimals", "含有小数")
    en, zh_cn = _REASONS.get(code, ("have values that cannot be converted", "的值无法转换"))
    if blocker.count == 1:  # "1 row has …", "1 row links to …"
        verb, _, rest = en.partition(" ")
        en = f"{'has' if verb == 'have' else verb + 's'} {rest}"
    return say(en, zh_cn)


def blocker_summary(blocker: Blocker, ops: list[Operation], targets: Forms) -> str:
    """Why publishing is refused, in a sentence: the field, the change and the rows."""
    form = next((f for f in targets.values() if f.key == blocker.form), None)
    spec = form.find(blocker.field) if form else None
    field = name(spec.label if spec else None, blocker.field)
    rows = number(blocker.count)
    if blocker.code == "not_unique":
        return say(
            "refuses to make {field} unique: {n} rows share a value",
            "无法将 {field} 设为唯一：{n} 行存在重复值",
            field=field,
            n=rows,
        )
    retype = next(
        (
            op
            for op in ops
            if op.kind == "retype_column"
            and form is not None
            and op.form_id == form.id
            and spec is not None
            and op.field_id == spec.id
        ),
        None,
    )
    to = type_name(str(retype.detail.get("to"))) if retype else (spec.type if spec else "?")
    return say(
        "refuses to change {field} to {type}: {n} row {reason}"
        if blocker.count == 1
        else "refuses to change {field} to {type}: {n} rows {reason}",
        "无法将 {field} 改为{type}：{n} 行{reason}",
        field=field,
        type=to,
        n=rows,
        reason=_reason(blocker, spec),
    )


def describe(
    conn: Connection,
    ops: list[Operation],
    blockers: list[Blocker],
    applied: Forms,
    targets: Forms,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The operations and blockers as the API shows them, each with its ``summary`` (and
    ``values`` for archive and purge operations: records holding a value now)."""
    counts = kept_values(conn, ops, applied)
    operations = []
    for index, op in enumerate(ops):
        entry = op.as_dict()
        if index in counts:
            entry["values"] = counts[index]
        entry["summary"] = operation_summary(op, applied, targets, counts.get(index))
        operations.append(entry)
    refused = [{**b.as_dict(), "summary": blocker_summary(b, ops, targets)} for b in blockers]
    return operations, refused
