"""Retyping between a relation (an id in a column) and a many-relation (rows of a link table).

A ``relation`` becomes a ``multirelation`` by copying every id into the new link table as a
one-element list, then dropping the column; the way back copies each record's single link into
a new column, then drops the link table. Going back is blocked (``preflight``) while any record
links to more than one record; the blocked rows are listed with their ids. Both moves run in
the publish transaction with one ``INSERT … SELECT`` / ``UPDATE`` each, whatever the row count.
"""

from __future__ import annotations

from typing import Any

from alembic.operations import Operations
from sqlalchemy import MetaData, func, literal, select, update
from sqlalchemy.engine import Connection

from builder.apps.side_rows import kept_side_rows
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.tables import build_link_table, build_table, child_table_name, table_name

MAX_LISTED_ROWS = 20


def involves_links(old: FieldSpec, new: FieldSpec) -> bool:
    """Is the retype of this field a move between a column and a link table?"""
    return FIELD_TYPES.get(old.type).has_links or FIELD_TYPES.get(new.type).has_links


def crowded_rows(
    conn: Connection, metadata: MetaData, form: FormSchema, spec: FieldSpec
) -> tuple[int, list[dict[str, Any]]]:
    """Records that link to more than one record: (how many, the first few with their ids)."""
    parent = build_table(form, metadata)
    links = build_link_table(form, spec, parent)
    crowded = (
        select(links.c.record_id).group_by(links.c.record_id).having(func.count() > 1).subquery()
    )
    count = conn.execute(select(func.count()).select_from(crowded)).scalar_one()
    if not count:
        return 0, []
    first = [
        row[0]
        for row in conn.execute(
            select(crowded.c.record_id).order_by(crowded.c.record_id).limit(MAX_LISTED_ROWS)
        )
    ]
    targets: dict[int, list[int]] = {record_id: [] for record_id in first}
    for record_id, target_id in conn.execute(
        select(links.c.record_id, links.c.target_id)
        .where(links.c.record_id.in_(first))
        .order_by(links.c.record_id, links.c.position)
    ):
        targets[record_id].append(target_id)
    return count, [
        {"id": record_id, "value": ids, "code": "too_many_links"}
        for record_id, ids in targets.items()
    ]


def column_to_links(
    conn: Connection,
    migration: Operations,
    metadata: MetaData,
    old_form: FormSchema,
    new_form: FormSchema,
    field_id: int,
) -> None:
    """relation → multirelation: each stored id becomes the record's only link."""
    spec = _spec(new_form, field_id)
    parent = build_table(old_form, metadata)
    links = build_link_table(new_form, spec, parent)
    links.create(conn)
    column = parent.c[f"f_{field_id}"]
    conn.execute(
        links.insert().from_select(
            ["record_id", "target_id", "position"],
            select(parent.c.id, column, literal(0)).where(column.is_not(None)),
        )
    )
    name = table_name(new_form.id)
    for prefix in ("ix", "ux"):
        migration.drop_index(f"{prefix}_{name}_f_{field_id}", table_name=name, if_exists=True)
    if conn.dialect.name == "sqlite":
        with (
            kept_side_rows(conn, new_form.id),  # the new links too
            migration.batch_alter_table(name, recreate="always") as batch,
        ):
            batch.drop_column(f"f_{field_id}")
    else:
        migration.drop_column(name, f"f_{field_id}")


def links_to_column(
    conn: Connection,
    migration: Operations,
    metadata: MetaData,
    old_form: FormSchema,
    new_form: FormSchema,
    field_id: int,
) -> None:
    """multirelation → relation (no record has more than one link): the link becomes the id."""
    spec = _spec(new_form, field_id)
    [column] = FIELD_TYPES.get(spec.type).columns(spec)
    name = table_name(new_form.id)
    migration.add_column(name, column)
    parent = build_table(new_form, metadata)
    links = build_link_table(old_form, _spec(old_form, field_id), parent)
    only_link = select(links.c.target_id).where(links.c.record_id == parent.c.id).scalar_subquery()
    conn.execute(
        update(parent)
        .where(parent.c.id.in_(select(links.c.record_id)))
        .values({f"f_{field_id}": only_link})
    )
    migration.drop_table(child_table_name(new_form.id, field_id))


def _spec(form: FormSchema, field_id: int) -> FieldSpec:
    return next(f for f in [*form.fields, *form.archived] if f.id == field_id)
