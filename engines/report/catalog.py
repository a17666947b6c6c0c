"""What the compiler needs from outside: the forms (a :class:`Catalog`) and the viewer.

The runtime builds both: a catalog from its form handles (schema, ``Table``, link tables) and a
:class:`Viewer` from the principal's access (row scope per form, hidden fields per form, the
JsonLogic context). The engine never imports the runtime; tests build them directly with
:meth:`StaticCatalog.build`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import MetaData, Table, true
from sqlalchemy.sql.elements import ColumnElement

from engines.form.schema import FormSchema
from engines.form.tables import build_table, link_tables


@dataclass(frozen=True)
class FormEntry:
    """One form: its schema, its table and the link tables of its many-relations (by key)."""

    schema: FormSchema
    table: Table
    links: Mapping[str, Table] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.schema.key


class Catalog(Protocol):
    """The forms a widget may read, by key and by id (relations name their target by id)."""

    def form(self, key: str) -> FormEntry | None: ...

    def form_by_id(self, form_id: int) -> FormEntry | None: ...


@dataclass(frozen=True)
class StaticCatalog:
    """A :class:`Catalog` over a fixed set of forms."""

    forms: Mapping[str, FormEntry]

    def form(self, key: str) -> FormEntry | None:
        return self.forms.get(key)

    def form_by_id(self, form_id: int) -> FormEntry | None:
        return next((e for e in self.forms.values() if e.schema.id == form_id), None)

    @classmethod
    def build(cls, schemas: Iterable[FormSchema], metadata: MetaData) -> StaticCatalog:
        """Tables for ``schemas`` in ``metadata`` (which must hold ``users``/``departments``
        for the system foreign keys), as ``engines.form.tables`` builds them."""
        forms = {}
        for schema in schemas:
            table = build_table(schema, metadata)
            forms[schema.key] = FormEntry(schema, table, link_tables(schema, table))
        return cls(forms)


def _everything(form_key: str, table: Table) -> ColumnElement[bool]:
    return true()


def _nothing_hidden(form_key: str) -> set[str]:
    return set()


@dataclass(frozen=True)
class Viewer:
    """Who looks: the row scope per form, the hidden fields per form, the JsonLogic context.

    ``scope(form_key, table)`` returns the rows of that form the viewer may read, as a condition
    over ``table`` (the form's own table or an alias of it; a condition written against the
    form's own table is adapted to the alias by the engine). It is applied to every form a
    statement touches: the source, every many-to-one join and every one-to-many subquery.
    ``hidden(form_key)`` is the set of field keys the viewer may not see: a widget that
    measures, groups, filters or sorts by one of them is refused. ``context`` is what
    ``current_user`` / ``current_department`` mean in filters (``{"user": ..., "department":
    ...}``, as ``engines.logic`` expects).
    """

    scope: Callable[[str, Table], ColumnElement[bool]] = _everything
    hidden: Callable[[str], set[str]] = _nothing_hidden
    context: Mapping[str, Any] = field(default_factory=dict)
    #: A stable identity of the scope (user id, grants version) for cache keys; not used here.
    cache_key: str = ""
