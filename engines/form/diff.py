"""Schema changes as a typed plan (DESIGN §10.4): compare two versions of a form.

The plan lists explicit operations. Nothing a user typed is dropped by a plan: a removed field is
*archived* (its column and data stay and it can be restored); only an explicit *purge* drops a
column. Renaming a key or a label touches no data. A retype is planned with the conversion the
new type must accept for every existing row; the executor checks the rows before applying.
A field that refers to records of another form keeps that form: its stored ids would point at
the wrong records otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.types.base import column_name

OpKind = Literal[
    "create_table",
    "add_column",
    "rename_field",
    "retype_column",
    "archive_field",
    "restore_field",
    "purge_column",
    "add_index",
    "drop_index",
    "add_unique",
    "drop_unique",
    "add_child_column",
]


@dataclass(frozen=True)
class Operation:
    kind: OpKind
    form_id: int
    field_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        return None if self.field_id is None else f"f_{self.field_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "op": self.kind,
            "form_id": self.form_id,
            "field_id": self.field_id,
            "column": self.column,
            **self.detail,
        }


class PlanError(Exception):
    """A change that can never be applied (e.g. an impossible retype); names the field."""

    def __init__(self, form_key: str, field_key: str, code: str, detail: str) -> None:
        super().__init__(f"{form_key}.{field_key}: {detail}")
        self.form_key = form_key
        self.field_key = field_key
        self.code = code
        self.detail = detail


def _column_sql(spec: FieldSpec) -> str:
    """A comparable description of the physical column(s) of a field."""
    return "|".join(f"{c.name}:{c.type!r}" for c in FIELD_TYPES.get(spec.type).columns(spec))


def _target(spec: FieldSpec) -> str | int | None:
    """The form a field's values refer to (relations), or None."""
    reference = FIELD_TYPES.get(spec.type).reference(spec)
    return reference[1] if reference is not None and reference[0] == "form" else None


def _index_state(spec: FieldSpec) -> str:
    field_type = FIELD_TYPES.get(spec.type)
    if not field_type.has_column:
        return "none"
    if spec.unique or field_type.always_unique:
        return "unique"
    return "index" if spec.indexed or field_type.indexed_by_default else "none"


def plan_form(
    old: FormSchema | None, new: FormSchema, *, purge: set[int] | None = None
) -> list[Operation]:
    """Operations that turn the physical table of ``old`` into that of ``new``."""
    purge = purge or set()
    if old is None:
        return [Operation("create_table", new.id, detail={"form": new.key})]
    ops: list[Operation] = []
    old_live = {f.id: f for f in old.fields}
    old_archived = {f.id: f for f in old.archived}
    new_live = {f.id: f for f in new.fields}
    new_archived = {f.id: f for f in new.archived}

    for fid, spec in new_live.items():
        before = old_live.get(fid) or old_archived.get(fid)
        if before is None:
            ops.append(Operation("add_column", new.id, fid, {"key": spec.key, "type": spec.type}))
            ops.extend(_index_ops(new.id, None, spec))
            continue
        if fid in old_archived:
            ops.append(Operation("restore_field", new.id, fid, {"key": spec.key}))
        if before.key != spec.key:
            ops.append(Operation("rename_field", new.id, fid, {"from": before.key, "to": spec.key}))
        if _target(before) not in (None, _target(spec)) and _target(spec) is not None:
            raise PlanError(
                new.key,
                spec.key,
                "retarget_impossible",
                "a relation cannot point at another form once published; add a new field",
            )
        if before.type != spec.type or _column_sql(before) != _column_sql(spec):
            new_type = FIELD_TYPES.get(spec.type)
            if before.type != spec.type and before.type not in new_type.converts_from | {spec.type}:
                raise PlanError(
                    new.key,
                    spec.key,
                    "retype_impossible",
                    f"a {before.type} field cannot become a {spec.type} field",
                )
            ops.append(
                Operation(
                    "retype_column",
                    new.id,
                    fid,
                    {"key": spec.key, "from": before.type, "to": spec.type},
                )
            )
        ops.extend(_index_ops(new.id, before if fid in old_live else None, spec))
        ops.extend(_child_ops(new, before, spec))

    for fid, spec in old_live.items():
        if fid not in new_live:
            if fid not in new_archived:
                raise PlanError(
                    new.key,
                    spec.key,
                    "field_vanished",
                    "a removed field must stay in `archived` (use purge to delete)",
                )
            ops.append(Operation("archive_field", new.id, fid, {"key": spec.key}))
            if _index_state(spec) != "none":
                ops.append(Operation(_drop_kind(spec), new.id, fid, {"key": spec.key}))

    for fid, spec in list(new_archived.items()):
        if fid in purge:
            ops.append(Operation("purge_column", new.id, fid, {"key": spec.key}))
    for fid in purge - set(new_archived):
        raise PlanError(
            new.key, str(fid), "purge_not_archived", "only archived fields can be purged"
        )
    return ops


def _child_ops(form: FormSchema, before: FieldSpec, after: FieldSpec) -> list[Operation]:
    """New columns of a sub-table; removed child fields stay archived with their data."""
    field_type = FIELD_TYPES.get(after.type)
    if not field_type.has_children or before.type != after.type:
        return []
    old_child = field_type.child_form(before)
    new_child = field_type.child_form(after)
    old_specs = {f.id: f for f in [*old_child.fields, *old_child.archived]}
    ops = []
    for child in [*new_child.fields, *new_child.archived]:
        previous = old_specs.get(child.id)
        if previous is None:
            ops.append(
                Operation(
                    "add_child_column",
                    form.id,
                    after.id,
                    {"key": after.key, "child_id": child.id, "child_key": child.key},
                )
            )
        elif _column_sql(previous) != _column_sql(child):
            raise PlanError(
                form.key,
                f"{after.key}.{child.key}",
                "retype_impossible",
                "a sub-table column cannot change its type; add a new column",
            )
    for child_id, previous in old_specs.items():
        if child_id not in {f.id for f in [*new_child.fields, *new_child.archived]}:
            raise PlanError(
                form.key,
                f"{after.key}.{previous.key}",
                "field_vanished",
                "a removed sub-table field must stay in `archived`",
            )
    return ops


def _drop_kind(spec: FieldSpec) -> OpKind:
    return "drop_unique" if _index_state(spec) == "unique" else "drop_index"


def _index_ops(form_id: int, before: FieldSpec | None, after: FieldSpec) -> list[Operation]:
    old_state = _index_state(before) if before else "none"
    new_state = _index_state(after)
    if old_state == new_state:
        return []
    ops = []
    if old_state != "none" and before is not None:
        ops.append(Operation(_drop_kind(before), form_id, after.id, {"key": after.key}))
    if new_state == "unique":
        ops.append(Operation("add_unique", form_id, after.id, {"key": after.key}))
    elif new_state == "index":
        ops.append(Operation("add_index", form_id, after.id, {"key": after.key}))
    return ops


def archive_removed(old: FormSchema, new: FormSchema) -> FormSchema:
    """``new`` with every field of ``old`` that it dropped moved to ``archived``.

    Designers simply delete a field from ``fields``; this keeps its column and data.
    """
    kept = {f.id for f in new.fields} | {f.id for f in new.archived}
    dropped = [f for f in [*old.fields, *old.archived] if f.id not in kept]
    old_specs = {f.id: f for f in [*old.fields, *old.archived]}
    fields = [_archive_children(old_specs.get(f.id), f) for f in new.fields]
    return new.model_copy(update={"fields": fields, "archived": [*new.archived, *dropped]})


def _archive_children(old: FieldSpec | None, new: FieldSpec) -> FieldSpec:
    """The same for the child fields of a sub-table (a draft may name a type that does not
    exist: it has no children to keep, and validating the draft reports the type)."""
    if old is None or old.type != new.type or new.type not in FIELD_TYPES:
        return new
    if not FIELD_TYPES.get(new.type).has_children:
        return new
    before = FIELD_TYPES.get(old.type).child_form(old)
    after = FIELD_TYPES.get(new.type).child_form(new)
    kept = {f.id for f in [*after.fields, *after.archived]}
    dropped = [
        f.model_dump(mode="json") for f in [*before.fields, *before.archived] if f.id not in kept
    ]
    if not dropped:
        return new
    options = {**new.options, "archived": [*new.options.get("archived", []), *dropped]}
    return new.model_copy(update={"options": options})


__all__ = ["Operation", "PlanError", "archive_removed", "column_name", "plan_form"]
