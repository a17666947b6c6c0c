"""Checking and applying a schema plan inside the publish transaction.

``preflight`` finds the rows a plan would fail on (retypes, new unique constraints) without
changing anything; ``apply`` runs the operations with SQLAlchemy and alembic operations. Both run
on a synchronous connection (``AsyncConnection.run_sync``) so that alembic's batch mode can
rebuild SQLite tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    ForeignKey,
    MetaData,
    Table,
    bindparam,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection

from builder.apps import links
from builder.apps.side_rows import kept_side_rows
from engines.form.diff import Operation
from engines.form.errors import InvalidValue
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.tables import (
    build_side_table,
    build_table,
    child_table_name,
    fts_create_sql,
    index_of,
    side_tables,
    table_name,
)
from engines.form.validate import to_storage
from runtime.models import metadata as platform_metadata
from runtime.records.models import RecordFile

MAX_LISTED_ROWS = 20
BATCH = 1000


@dataclass
class Blocker:
    """An operation that existing rows would make fail."""

    form: str
    field: str
    code: str
    rows: list[int] = field(default_factory=list)
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "form": self.form,
            "field": self.field,
            "code": self.code,
            "count": self.count,
            "rows": self.rows,
            "examples": self.examples,
        }


def _metadata() -> MetaData:
    metadata = MetaData()
    for name in ("users", "departments"):
        platform_metadata.tables[name].to_metadata(metadata)
    return metadata


def _spec(form: FormSchema, field_id: int) -> FieldSpec:
    return next(f for f in [*form.fields, *form.archived] if f.id == field_id)


def convert(old: FieldSpec, new: FieldSpec, stored: Any) -> Any:
    """A stored value of ``old`` as a stored value of ``new`` (raises InvalidValue)."""
    if stored is None:
        return None
    value = FIELD_TYPES.get(old.type).from_storage(old, stored)
    if FIELD_TYPES.get(new.type).value_schema(new).get("type") == "string" and not isinstance(
        value, str
    ):
        value = str(value)
    return to_storage(new, value)


def preflight(
    conn: Connection, ops: list[Operation], old: dict[int, FormSchema], new: dict[int, FormSchema]
) -> list[Blocker]:
    blockers: list[Blocker] = []
    for op in ops:
        if op.kind == "retype_column" and op.field_id is not None:
            blockers.extend(_retype_blockers(conn, old[op.form_id], new[op.form_id], op.field_id))
        elif op.kind == "add_unique" and op.field_id is not None and op.form_id in old:
            blockers.extend(_duplicate_blockers(conn, new[op.form_id], op.field_id))
    return blockers


def _retype_blockers(
    conn: Connection, old_form: FormSchema, new_form: FormSchema, field_id: int
) -> list[Blocker]:
    old_spec, new_spec = _spec(old_form, field_id), _spec(new_form, field_id)
    if links.involves_links(old_spec, new_spec):
        if not FIELD_TYPES.get(old_spec.type).has_links:
            return []  # every id is a valid one-element list
        count, examples = links.crowded_rows(conn, _metadata(), old_form, old_spec)
        if not count:
            return []
        rows = [example["id"] for example in examples]
        return [Blocker(new_form.key, new_spec.key, "retype_fails", rows, count, examples)]
    table = build_table(old_form, _metadata())
    column = table.c[f"f_{field_id}"]
    blocker = Blocker(new_form.key, new_spec.key, "retype_fails")
    for row_id, stored in _batches(conn, table, column):
        try:
            convert(old_spec, new_spec, stored)
        except (InvalidValue, ValueError, TypeError) as exc:
            blocker.count += 1
            if len(blocker.rows) < MAX_LISTED_ROWS:
                blocker.rows.append(row_id)
                code = exc.code if isinstance(exc, InvalidValue) else "invalid"
                value = FIELD_TYPES.get(old_spec.type).from_storage(old_spec, stored)
                blocker.examples.append({"id": row_id, "value": value, "code": code})
    return [blocker] if blocker.count else []


def _batches(conn: Connection, table: Table, column: Any) -> Iterator[tuple[int, Any]]:
    """(id, value) of every row with a value, read in keyset batches (flat memory)."""
    last_id = 0
    while True:
        chunk = conn.execute(
            select(table.c.id, column)
            .where(column.is_not(None), table.c.id > last_id)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not chunk:
            return
        yield from ((row[0], row[1]) for row in chunk)
        last_id = chunk[-1][0]


def _duplicate_blockers(conn: Connection, form: FormSchema, field_id: int) -> list[Blocker]:
    table = build_table(form, _metadata())
    column = table.c[f"f_{field_id}"]
    live = table.c.deleted_at.is_(None)
    dupes = (
        select(column)
        .where(live, column.is_not(None))
        .group_by(column)
        .having(func.count() > 1)
        .subquery()
    )
    rows = conn.execute(
        select(table.c.id, column).where(live, column.in_(select(dupes))).order_by(table.c.id)
    ).all()
    if not rows:
        return []
    spec = _spec(form, field_id)
    return [
        Blocker(
            form.key,
            spec.key,
            "not_unique",
            [r[0] for r in rows[:MAX_LISTED_ROWS]],
            len(rows),
            [{"id": r[0], "value": r[1]} for r in rows[:MAX_LISTED_ROWS]],
        )
    ]


def apply(
    conn: Connection, ops: list[Operation], old: dict[int, FormSchema], new: dict[int, FormSchema]
) -> None:
    """Apply ``ops`` on ``conn`` (inside the caller's transaction)."""
    migration = Operations(MigrationContext.configure(conn))
    by_form: dict[int, list[Operation]] = defaultdict(list)
    for op in ops:
        by_form[op.form_id].append(op)
    for form_id, form_ops in by_form.items():
        target = new[form_id]
        name = table_name(form_id)
        for op in form_ops:
            if op.kind == "create_table":
                table = build_table(target, _metadata())
                table.create(conn)
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql(fts_create_sql(form_id))
                for side in side_tables(target, table):
                    side.create(conn)
            elif op.kind == "add_child_column":
                spec = _spec(target, op.field_id or 0)
                child = FIELD_TYPES.get(spec.type).child_form(spec, form_id)
                child_spec = _spec(child, int(op.detail["child_id"]))
                for column in FIELD_TYPES.get(child_spec.type).columns(child_spec):
                    _add_column(conn, migration, child_table_name(form_id, spec.id), column)
            elif op.kind == "add_column":
                spec = _spec(target, op.field_id or 0)
                side = build_side_table(target, spec, build_table(target, _metadata()))
                if side is not None:
                    side.create(conn)
                for column in FIELD_TYPES.get(spec.type).columns(spec):
                    _add_column(conn, migration, name, column, form_id)
            elif op.kind == "retype_column":
                field_id = op.field_id or 0
                before, after = _spec(old[form_id], field_id), _spec(target, field_id)
                if links.involves_links(before, after):
                    _move_links(conn, migration, old[form_id], target, field_id)
                else:
                    _retype(conn, migration, old[form_id], target, field_id)
            elif op.kind in ("add_index", "add_unique"):
                _create_field_indexes(conn, target, op.field_id or 0)
            elif op.kind in ("drop_index", "drop_unique"):
                prefix = "ux" if op.kind == "drop_unique" else "ix"
                migration.drop_index(
                    f"{prefix}_{name}_f_{op.field_id}", table_name=name, if_exists=True
                )
            elif op.kind == "purge_column":
                purged = _spec(old[form_id], op.field_id or 0)
                purged_type = FIELD_TYPES.get(purged.type)
                if purged_type.has_children or purged_type.has_links:
                    migration.drop_table(child_table_name(form_id, purged.id))
                else:
                    _drop_column(conn, migration, name, f"f_{op.field_id}", form_id)
                if purged_type.holds_files:  # its records no longer hold those files
                    held = RecordFile.__table__
                    conn.execute(
                        delete(held).where(held.c.form_id == form_id, held.c.field_id == purged.id)
                    )
            # rename_field, archive_field and restore_field change no physical structure.


def _rebuilding(conn: Connection, form_id: int | None) -> AbstractContextManager[None]:
    """Around a rebuild of a table: keep the side rows if it is a form's own table."""
    return kept_side_rows(conn, form_id) if form_id is not None else nullcontext()


def _add_column(
    conn: Connection,
    migration: Operations,
    table: str,
    column: Column[Any],
    form_id: int | None = None,
) -> None:
    if conn.dialect.name == "sqlite" and column.foreign_keys:
        # Alembic's rebuild adds the column's foreign key as a constraint, which needs a name.
        named = Column(
            column.name,
            column.type,
            *[
                ForeignKey(
                    fk.target_fullname, ondelete=fk.ondelete, name=f"fk_{table}_{column.name}"
                )
                for fk in column.foreign_keys
            ],
            nullable=column.nullable,
        )
        with (
            _rebuilding(conn, form_id),
            migration.batch_alter_table(table, recreate="always") as batch,
        ):
            batch.add_column(named)
    else:
        migration.add_column(table, column)


def _drop_column(
    conn: Connection, migration: Operations, table: str, column: str, form_id: int | None = None
) -> None:
    if conn.dialect.name == "sqlite":
        with (
            _rebuilding(conn, form_id),
            migration.batch_alter_table(table, recreate="always") as batch,
        ):
            batch.drop_column(column)
    else:
        migration.drop_column(table, column)


def _move_links(
    conn: Connection,
    migration: Operations,
    old_form: FormSchema,
    new_form: FormSchema,
    field_id: int,
) -> None:
    """A retype between a relation's column and a many-relation's link table."""
    if FIELD_TYPES.get(_spec(new_form, field_id).type).has_links:
        links.column_to_links(conn, migration, _metadata(), old_form, new_form, field_id)
    else:  # the plan's add_index operation indexes the new column
        links.links_to_column(conn, migration, _metadata(), old_form, new_form, field_id)


def _retype(
    conn: Connection,
    migration: Operations,
    old_form: FormSchema,
    new_form: FormSchema,
    field_id: int,
) -> None:
    """New column, values converted by the field types, old column replaced."""
    old_spec, new_spec = _spec(old_form, field_id), _spec(new_form, field_id)
    name = table_name(new_form.id)
    column_name = f"f_{field_id}"
    temporary = f"{column_name}__new"
    [new_column] = FIELD_TYPES.get(new_spec.type).columns(new_spec)
    staged = Column(temporary, new_column.type, nullable=True)
    migration.add_column(name, staged)
    old_table = build_table(old_form, _metadata())
    table = Table(
        name,
        MetaData(),
        Column("id", old_table.c.id.type, primary_key=True),
        Column(column_name, old_table.c[column_name].type),
        Column(temporary, new_column.type),
    )
    source = table.c[column_name]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({temporary: bindparam("converted")})
    )
    pending: list[dict[str, Any]] = []
    for row_id, stored in _batches(conn, table, source):
        pending.append({"row_id": row_id, "converted": convert(old_spec, new_spec, stored)})
        if len(pending) >= BATCH:
            conn.execute(statement, pending)
            pending = []
    if pending:
        conn.execute(statement, pending)
    for index in ("ix", "ux"):
        migration.drop_index(f"{index}_{name}_{column_name}", table_name=name, if_exists=True)
    if conn.dialect.name == "sqlite":
        with (
            kept_side_rows(conn, new_form.id),
            migration.batch_alter_table(name, recreate="always") as batch,
        ):
            batch.drop_column(column_name)
            batch.alter_column(temporary, new_column_name=column_name)
    else:
        migration.drop_column(name, column_name)
        migration.alter_column(name, temporary, new_column_name=column_name)
    _create_field_indexes(conn, new_form, field_id)


def _create_field_indexes(conn: Connection, form: FormSchema, field_id: int) -> None:
    table = build_table(form, _metadata())
    for name in (f"ix_{table.name}_f_{field_id}", f"ux_{table.name}_f_{field_id}"):
        index = index_of(table, name)
        if index is not None:
            index.create(conn)
