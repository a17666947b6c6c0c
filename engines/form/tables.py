"""Real tables: one per form (``t_<form id>``), one column per field (``f_<field id>``).

Fields whose values are rows of their own have a table ``t_<form id>_<field id>`` beside it: a
sub-table's child rows, a many-relation's links. The SQLAlchemy ``Table`` is rebuilt from the
stored schema; callers cache it by form version.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    func,
    literal_column,
    text,
)

from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.types.base import column_name
from engines.form.types.dates import UTCTimestamp

ID_TYPE = BigInteger().with_variant(Integer(), "sqlite")
SYSTEM_COLUMNS = (
    "id",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "owner_id",
    "department_id",
    "row_version",
    "deleted_at",
)


def table_name(form: FormSchema | int) -> str:
    return f"t_{form if isinstance(form, int) else form.id}"


def system_columns() -> list[Column[Any]]:
    return [
        Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        Column("created_at", UTCTimestamp(), nullable=False),
        Column("created_by", ID_TYPE, ForeignKey("users.id", ondelete="SET NULL")),
        Column("updated_at", UTCTimestamp(), nullable=False),
        Column("updated_by", ID_TYPE, ForeignKey("users.id", ondelete="SET NULL")),
        Column("owner_id", ID_TYPE, ForeignKey("users.id", ondelete="SET NULL")),
        Column("department_id", ID_TYPE, ForeignKey("departments.id", ondelete="SET NULL")),
        Column("row_version", Integer, nullable=False, default=1),
        Column("deleted_at", UTCTimestamp()),
        # Search words of the searchable fields (see engines.form.search).
        Column("search_text", Text()),
    ]


def field_columns(spec: FieldSpec) -> list[Column[Any]]:
    return FIELD_TYPES.get(spec.type).columns(spec)


def field_indexes(table: Table, spec: FieldSpec) -> list[Index]:
    """The indexes a field needs, bound to ``table`` (which attaches them)."""
    field_type = FIELD_TYPES.get(spec.type)
    if not field_type.has_column:
        return []
    column = table.c[column_name(spec)]
    if spec.unique or field_type.always_unique:
        # Unique among live records: a deleted record does not block its value.
        live = text("deleted_at IS NULL")
        return [
            Index(
                f"ux_{table.name}_{column.name}",
                column,
                unique=True,
                sqlite_where=live,
                postgresql_where=live,
            )
        ]
    if spec.indexed or field_type.indexed_by_default:
        return [Index(f"ix_{table.name}_{column.name}", column)]
    return []


def index_of(table: Table, name: str) -> Index | None:
    return next((index for index in table.indexes if index.name == name), None)


def child_table_name(form_id: int, field_id: int) -> str:
    return f"t_{form_id}_{field_id}"


def build_child_table(form: FormSchema, spec: FieldSpec, parent: Table) -> Table:
    """The rows of a sub-table field: ``parent_id``, ``position`` and the child columns."""
    child = FIELD_TYPES.get(spec.type).child_form(spec, form.id)
    name = child_table_name(form.id, spec.id)
    if name in parent.metadata.tables:
        parent.metadata.remove(parent.metadata.tables[name])
    columns: list[Any] = [
        Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        Column("parent_id", ID_TYPE, ForeignKey(parent.c.id, ondelete="CASCADE"), nullable=False),
        Column("position", Integer, nullable=False),
    ]
    for child_spec in [*child.fields, *child.archived]:
        columns.extend(field_columns(child_spec))
    return Table(
        name, parent.metadata, *columns, Index(f"ix_{name}_parent", "parent_id", "position")
    )


def build_link_table(form: FormSchema, spec: FieldSpec, parent: Table) -> Table:
    """The links of a many-relation field: ``record_id`` → ``target_id``, in ``position`` order.

    The key ``(record_id, target_id)`` serves reading a record's links (and forbids linking a
    record twice); ``(target_id, record_id)`` serves finding the records that link to one.
    """
    name = child_table_name(form.id, spec.id)
    if name in parent.metadata.tables:
        parent.metadata.remove(parent.metadata.tables[name])
    return Table(
        name,
        parent.metadata,
        Column(
            "record_id",
            ID_TYPE,
            ForeignKey(parent.c.id, ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        Column("target_id", ID_TYPE, primary_key=True, autoincrement=False),
        Column("position", Integer, nullable=False),
        Index(f"ix_{name}_target", "target_id", "record_id"),
    )


def link_tables(form: FormSchema, parent: Table) -> dict[str, Table]:
    """Link tables of every many-relation field (live and archived), by field key."""
    return {
        spec.key: build_link_table(form, spec, parent)
        for spec in [*form.fields, *form.archived]
        if FIELD_TYPES.get(spec.type).has_links
    }


def side_tables(form: FormSchema, parent: Table) -> list[Table]:
    """Every table beside the form's own (child rows and links), to create with it."""
    return [*child_tables(form, parent).values(), *link_tables(form, parent).values()]


def build_side_table(form: FormSchema, spec: FieldSpec, parent: Table) -> Table | None:
    """The table of one field's rows, if its type keeps them beside the form's table."""
    field_type = FIELD_TYPES.get(spec.type)
    if field_type.has_children:
        return build_child_table(form, spec, parent)
    if field_type.has_links:
        return build_link_table(form, spec, parent)
    return None


def child_tables(form: FormSchema, parent: Table) -> dict[str, Table]:
    """Child tables of every sub-table field (live and archived), by field key."""
    return {
        spec.key: build_child_table(form, spec, parent)
        for spec in [*form.fields, *form.archived]
        if FIELD_TYPES.get(spec.type).has_children
    }


def build_table(form: FormSchema, metadata: MetaData) -> Table:
    """The table of ``form`` in ``metadata`` (which must also hold users and departments)."""
    name = table_name(form)
    if name in metadata.tables:
        metadata.remove(metadata.tables[name])
    columns: list[Any] = system_columns()
    indexes: list[Index] = [
        Index(f"ix_{name}_live", "deleted_at", "id"),
        Index(f"ix_{name}_created_at", "created_at"),
        Index(f"ix_{name}_owner_id", "owner_id"),
        Index(f"ix_{name}_department_id", "department_id"),
    ]
    for spec in [*form.fields, *form.archived]:
        columns.extend(field_columns(spec))
    table = Table(name, metadata, *columns, *indexes)
    for spec in form.fields:
        field_indexes(table, spec)
    Index(
        f"ix_{name}_search",
        func.to_tsvector(literal_column("'simple'"), table.c.search_text),
        postgresql_using="gin",
    ).ddl_if(dialect="postgresql")
    return table


def fts_table_name(form_id: int) -> str:
    return f"t_{form_id}_fts"


def fts_table(form_id: int) -> Table:
    """SQLite's full-text index of a form: an FTS5 table whose rowid is the record id."""
    return Table(
        fts_table_name(form_id),
        MetaData(),
        Column("rowid", ID_TYPE, primary_key=True),
        Column("search_text", Text()),
    )


def fts_create_sql(form_id: int) -> str:
    """DDL of the FTS5 table (SQLAlchemy has no construct for virtual tables; the name is
    derived from the integer form id only)."""
    name = fts_table_name(int(form_id))
    return f'CREATE VIRTUAL TABLE IF NOT EXISTS "{name}" USING fts5(search_text)'
