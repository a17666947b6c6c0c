"""What the report compiler gets from the runtime: the app's forms and the viewer.

The catalog is the published app's form handles (schema, table, link tables). The viewer's row
scope is the one scope function of every read path (:func:`runtime.records.scope.read_scope`,
and for exports also ``row_scope(…, "export")``), its hidden fields those the caller may not read
on *every* row (a field shown on some rows only cannot be aggregated without leaking the others,
so it fails closed), its JsonLogic context the records list's. The viewer remembers which forms
the compiler asked about, so the service can check the caller's rights on exactly those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Table, and_

from engines.report.catalog import FormEntry, Viewer
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.permissions.access import access, logic_context
from runtime.records.forms import FormHandle, PublishedApp
from runtime.records.scope import check_token, read_scope, row_scope


@dataclass(frozen=True)
class AppCatalog:
    """The engine's ``Catalog`` over one published app version."""

    app: PublishedApp

    def form(self, key: str) -> FormEntry | None:
        handle = self.app.handles.get(key)
        return None if handle is None else _entry(handle)

    def form_by_id(self, form_id: int) -> FormEntry | None:
        handle = next((h for h in self.app.handles.values() if h.form_id == form_id), None)
        return None if handle is None else _entry(handle)


_entries: dict[tuple[str, int], FormEntry] = {}


def _entry(handle: FormHandle) -> FormEntry:
    key = (handle.stamp, handle.form_id)
    found = _entries.get(key)
    if found is None:
        if len(_entries) > 2000:
            _entries.clear()
        found = _entries[key] = FormEntry(handle.form, handle.table, dict(handle.links))
    return found


@dataclass
class ViewerScope:
    """Builds the engine's :class:`Viewer` for a principal and records the forms it served."""

    app: PublishedApp
    principal: Principal
    #: ``read`` for results and drill-down; ``export`` also applies the export scope.
    action: str = "read"
    touched: set[str] = field(default_factory=set)

    def _readable(self, form_key: str) -> FormHandle:
        """The form's handle; 403 (``forbidden``, or ``token_scope`` for a narrowed token)
        unless the viewer may read it: a widget over a form the viewer cannot read is
        refused as a whole, not answered with empty numbers."""
        self.touched.add(form_key)
        handle = self.app.handles[form_key]
        check_token(handle, self.principal, "read")
        if not access(handle, self.principal).can("read"):
            raise ProblemError("forbidden", extra={"action": "read", "form": form_key})
        return handle

    def scope(self, form_key: str, table: Table) -> ColumnElement[bool]:
        handle = self._readable(form_key)
        condition = read_scope(handle, self.principal)
        if self.action != "read":
            condition = and_(condition, row_scope(handle, self.principal, self.action))
        return condition  # over the form's own table: the engine adapts it to its aliases

    def hidden(self, form_key: str) -> set[str]:
        if form_key not in self.app.handles:
            return set()
        handle = self._readable(form_key)
        rights = access(handle, self.principal)
        if rights.admin:
            return set()
        return {key for key in handle.form.keys if rights.field_visibility(key) is not True}

    def viewer(self) -> Viewer:
        return Viewer(
            scope=self.scope,
            hidden=self.hidden,
            context=logic_context(self.principal),
            cache_key=f"user:{self.principal.user_id}:{self.action}",
        )

    def handles(self) -> list[FormHandle]:
        return [self.app.handles[key] for key in sorted(self.touched) if key in self.app.handles]


def viewer_identity(principal: Principal) -> list[Any]:
    """Everything a viewer's scope, hidden fields and rule context depend on besides the app
    version: the user, administrator or not, a token's narrowing, the membership (departments,
    roles, groups) and the JsonLogic context (the user's attributes)."""
    return [
        principal.user_id,
        principal.is_admin,
        sorted(principal.token_apps) if principal.token_apps is not None else None,
        sorted(principal.token_actions) if principal.token_actions is not None else None,
        repr(principal.membership),
        logic_context(principal),
    ]
