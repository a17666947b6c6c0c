"""What one principal may do with one published form: actions, row scopes, field rights.

:func:`access` matches the app's grants (``builder/apps/permissions.py``) against the
principal's membership (roles, groups, departments; loaded once per request, so a change in the
organisation counts from the next request) and compiles each grant's row scope to one SQL
condition over the form's table. Several grants combine with OR. Administrators hold every
right; an API token narrowed to some apps or actions holds no more than those, whoever owns it.
Every decision fails closed: no matching grant, no rights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement, case, false, null, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.permissions import Grant, Grantee
from engines.logic import LogicError
from engines.logic.sql import SqlField, SqlLinks, compile_condition
from runtime.auth.principal import Principal
from runtime.org.membership import Membership
from runtime.records.forms import FormHandle

#: Columns of the record that scope rules may read besides the form's fields.
SYSTEM_FIELDS = {
    "id": "number",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "number",
    "updated_by": "number",
    "owner_id": "number",
    "department_id": "number",
}


def sql_fields(handle: FormHandle) -> dict[str, SqlField]:
    """The names JsonLogic may use over a form's table (system columns and stored fields)."""
    fields = {
        name: SqlField(handle.table.c[name], kind)  # type: ignore[arg-type]
        for name, kind in SYSTEM_FIELDS.items()
    }
    for spec in handle.form.fields:
        field_type = handle.field_type(spec.key)
        if not field_type.filterable:
            continue
        if field_type.has_column:
            fields[spec.key] = SqlField(handle.column(spec.key), field_type.kind(spec))  # type: ignore[arg-type]
        elif spec.key in handle.links:
            link = handle.links[spec.key]
            fields[spec.key] = SqlField(
                handle.table.c.id, "links", SqlLinks(link.c.record_id, link.c.target_id)
            )
    return fields


def logic_context(principal: Principal | None) -> dict[str, Any]:
    """What ``current_user`` / ``current_department`` mean in rules for this principal."""
    if principal is None:
        return {}
    user = principal.user
    membership = principal.membership
    context: dict[str, Any] = {
        "user": {
            "id": user.id,
            "username": user.username,
            "name": user.display_name,
            "email": user.email,
            **(user.attributes or {}),
        }
    }
    if membership is not None:
        context["user"]["department_ids"] = sorted(membership.department_ids)
        if membership.primary_department_id is not None:
            context["department"] = {"id": membership.primary_department_id}
    return context


class Named(Protocol):
    """A grantee as grants and dashboards' ``visible_to`` name it."""

    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str | None: ...
    @property
    def include_children(self) -> bool: ...


def grantee_matches(grantee: Grantee | Named, principal: Principal, app_id: int) -> bool:
    """Whether a grant's grantee (or a dashboard's) is this principal (by username, role,
    group, department)."""
    membership = principal.membership
    if grantee.kind == "everyone":
        return True
    if grantee.kind == "user":
        return grantee.key == principal.user.username
    if membership is None:
        return False
    if grantee.kind == "role":
        return (None, grantee.key) in membership.role_keys or (
            app_id,
            grantee.key,
        ) in membership.role_keys
    if grantee.kind == "group":
        return grantee.key in membership.group_keys
    codes = membership.ancestor_codes if grantee.include_children else membership.department_codes
    return grantee.key in codes


@dataclass
class Access:
    """One principal's rights on one form (built per request; cheap)."""

    handle: FormHandle
    principal: Principal
    admin: bool
    grants: tuple[Grant, ...]
    _scopes: dict[int, ColumnElement[bool]] = field(default_factory=dict)
    _visibility: dict[str, ColumnElement[bool] | bool] = field(default_factory=dict)
    _granting: dict[str, list[Grant]] = field(default_factory=dict)

    def _allowed_action(self, action: str) -> bool:
        actions = self.principal.token_actions
        return actions is None or action in actions

    def granting(self, action: str) -> list[Grant]:
        """The grants that give ``action`` (empty for administrators: they need none)."""
        found = self._granting.get(action)
        if found is None:
            allowed = self._allowed_action(action)
            found = [g for g in self.grants if allowed and action in g.actions]
            self._granting[action] = found
        return found

    def can(self, action: str) -> bool:
        if not self._allowed_action(action):
            return False
        return self.admin or bool(self.granting(action))

    def rows(self, action: str) -> ColumnElement[bool]:
        """The rows ``action`` may touch, as one condition (OR of the grants' scopes)."""
        if not self._allowed_action(action):
            return false()
        if self.admin:
            return true()
        grants = self.granting(action)
        if not grants:
            return false()
        return or_(*[self.grant_scope(g) for g in grants])

    def grant_scope(self, grant: Grant) -> ColumnElement[bool]:
        cached = self._scopes.get(id(grant))
        if cached is None:
            cached = self._scopes[id(grant)] = self._compile_scope(grant)
        return cached

    def _compile_scope(self, grant: Grant) -> ColumnElement[bool]:
        table = self.handle.table
        membership = self.principal.membership or Membership(self.principal.user_id)
        if grant.scope == "all":
            return true()
        if grant.scope == "own":
            return table.c.owner_id == self.principal.user_id  # type: ignore[no-any-return]
        if grant.scope == "department":
            ids = sorted(membership.department_ids)
            return table.c.department_id.in_(ids) if ids else false()  # type: ignore[no-any-return]
        if grant.scope == "department_tree":
            ids = sorted(membership.subtree_ids)
            return table.c.department_id.in_(ids) if ids else false()  # type: ignore[no-any-return]
        # A rule that no longer compiles (the form changed under it) grants nothing.
        try:
            return compile_condition(
                grant.rule, sql_fields(self.handle), context=logic_context(self.principal)
            )
        except LogicError:
            return false()

    # --- fields --------------------------------------------------------------------------------

    def field_visibility(self, key: str) -> ColumnElement[bool] | bool:
        """Where field ``key`` may be read: True (every readable row), False (nowhere) or the
        rows (a condition) whose read grants do not hide it."""
        found = self._visibility.get(key)
        if found is None:
            found = self._visibility[key] = self._field_visibility(key)
        return found

    def _field_visibility(self, key: str) -> ColumnElement[bool] | bool:
        if self.admin:
            return self._allowed_action("read")
        grants = self.granting("read")
        showing = [g for g in grants if g.fields.get(key) != "hidden"]
        if not showing:
            return False
        if len(showing) == len(grants):
            return True
        return or_(*[self.grant_scope(g) for g in showing])

    def readable(self, key: str) -> Any:
        """The expression to read field ``key`` through (its column, or NULL on the rows that
        may not show it), or None when the caller may not read it anywhere. Lists, filters,
        sorts and exports all read through this, so a hidden value cannot be filtered on."""
        visibility = self.field_visibility(key)
        if visibility is False:
            return None
        column = self.handle.column(key)
        if visibility is True:
            return column
        return case((visibility, column), else_=null()).label(column.name)

    def read_columns(self) -> list[Any]:
        """The table's columns as the caller may read them (hidden fields as NULL)."""
        table = self.handle.table
        if self.admin:
            return list(table.c)
        by_column = {f"f_{spec.id}": spec.key for spec in self.handle.form.fields}
        columns: list[Any] = []
        for column in table.c:
            key = by_column.get(column.name)
            if key is None or not self.handle.field_type(key).has_column:
                columns.append(column)
                continue
            readable = self.readable(key)
            columns.append(null().label(column.name) if readable is None else readable)
        return columns

    def filter_fields(self) -> dict[str, SqlField]:
        """What list filters may name: system columns and the fields the caller can read."""
        fields = sql_fields(self.handle)
        if self.admin:
            return fields
        for key in list(fields):
            if key in SYSTEM_FIELDS:
                continue
            if key in self.handle.links:  # links cannot be masked per row: all or nothing
                if self.field_visibility(key) is not True:
                    del fields[key]
                continue
            readable = self.readable(key)
            if readable is None:
                del fields[key]
            elif readable is not self.handle.column(key):
                fields[key] = SqlField(readable, fields[key].kind)
        return fields

    async def hidden_on(self, db: AsyncSession, record_id: int) -> set[str]:
        """The fields hidden from the caller on one record (for its history)."""
        hidden = self.hidden_keys()
        partial = {}
        for key in self.handle.form.keys:
            visibility = self.field_visibility(key)
            if visibility is not True and visibility is not False:
                partial[key] = visibility
        if partial:
            table = self.handle.table
            labels = [condition.label(f"_v{i}") for i, condition in enumerate(partial.values())]
            row = (await db.execute(select(*labels).where(table.c.id == record_id))).one()
            hidden.update(key for key, shown in zip(partial, row, strict=True) if not shown)
        return hidden

    def hidden_keys(self) -> set[str]:
        """Fields left out for the caller: hidden on every row they can read, and fields kept
        outside the row (sub-tables, links, lookups) that some of their rows hide — those
        cannot be masked per row, so they fail closed."""
        hidden = set()
        for key in self.handle.form.keys:
            visibility = self.field_visibility(key)
            if visibility is False or (
                visibility is not True and not self.handle.field_type(key).has_column
            ):
                hidden.add(key)
        return hidden

    def restricted_for_write(self, action: str, grants: list[Grant] | None = None) -> set[str]:
        """Fields the caller may not set through ``action`` when ``grants`` apply (default:
        every grant giving the action): those that each of these grants hides or makes
        read-only."""
        if self.admin:
            return set()
        grants = self.granting(action) if grants is None else grants
        keys = set(self.handle.form.keys)
        if not grants:
            return keys
        return {k for k in keys if all(g.fields.get(k) in ("hidden", "read_only") for g in grants)}


def access(handle: FormHandle, principal: Principal) -> Access:
    """The principal's rights on ``handle``'s form (cached on the principal per request)."""
    cache_key = (handle.stamp, handle.form_id)
    cached = principal.access_cache.get(cache_key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    apps = principal.token_apps
    in_token = apps is None or handle.app_key in apps
    admin = principal.is_admin and in_token
    grants: tuple[Grant, ...] = ()
    if in_token and not admin:
        grants = tuple(
            g
            for g in handle.grants
            if (g.form is None or g.form == handle.form.key)
            and grantee_matches(g.grantee, principal, handle.app_id)
        )
    result = Access(handle, principal, admin, grants)
    principal.access_cache[cache_key] = result
    return result
