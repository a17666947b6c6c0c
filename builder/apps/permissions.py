"""Permission sets of an app: who may do what with which forms, rows and fields (DESIGN §6).

They are part of the app definition, so they are versioned, published and exported with the
app like its forms. A grant gives a grantee (a role, a user group, a department, a user, or
every signed-in user) actions on one form or on every form of the app, limited to a row scope
(own records, own department, department and below, all, or a JsonLogic rule over the record
and the current user), with per-field restrictions (hidden or read-only). Several grants
combine with OR: a row is visible when any read grant's scope covers it, and a field of that
row when one of those grants does not hide it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engines.form.check import SchemaProblem, rule_vars
from engines.form.schema import KEY_PATTERN, FormSchema, Labels
from engines.logic import iter_errors

Action = Literal["create", "read", "update", "delete", "export", "import", "design"]
ACTIONS: tuple[str, ...] = ("create", "read", "update", "delete", "export", "import", "design")
ScopeKind = Literal["own", "department", "department_tree", "all", "rule"]
FieldMode = Literal["hidden", "read_only"]
#: System columns a scope rule may read besides the form's fields.
SYSTEM_VARS = frozenset(
    {"id", "created_at", "updated_at", "created_by", "updated_by", "owner_id", "department_id"}
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AppRole(_Model):
    """A role that belongs to this app (members are assigned at run time)."""

    key: str = Field(pattern=KEY_PATTERN)
    name: Labels = Field(default_factory=dict)


class Grantee(_Model):
    """Whom a grant is for. ``key``: role key, group key, department code or username."""

    kind: Literal["role", "group", "department", "user", "everyone"]
    key: str | None = Field(default=None, min_length=1, max_length=200)
    #: For departments: members of sub-departments too.
    include_children: bool = False

    @model_validator(mode="after")
    def _key_given(self) -> Grantee:
        if (self.kind == "everyone") != (self.key is None):
            raise ValueError("give a key for every kind of grantee but 'everyone'")
        return self


class Grant(_Model):
    id: str = Field(pattern=KEY_PATTERN, description="Stable name of the grant")
    #: Form key, or None for every form of the app.
    form: str | None = Field(default=None, pattern=KEY_PATTERN)
    grantee: Grantee
    actions: list[Action] = Field(min_length=1)
    scope: ScopeKind = "all"
    #: The JsonLogic rule of a ``rule`` scope (record fields; ``current_user`` for the user).
    rule: Any = None
    #: Field key → hidden / read_only.
    fields: dict[str, FieldMode] = Field(default_factory=dict)

    @field_validator("actions")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an action is listed twice")
        return value

    @model_validator(mode="after")
    def _rule_iff_rule_scope(self) -> Grant:
        if (self.scope == "rule") != (self.rule is not None):
            raise ValueError("a 'rule' scope needs a rule, and only it takes one")
        return self


def check_permissions(
    roles: list[AppRole], grants: list[Grant], forms: list[FormSchema]
) -> list[SchemaProblem]:
    """Every problem of the permission sets that needs no database (forms, fields, rules)."""
    problems: list[SchemaProblem] = []
    by_key = {form.key: form for form in forms}
    role_keys = [role.key for role in roles]
    if len(set(role_keys)) != len(role_keys):
        problems.append(SchemaProblem("roles", "duplicate_key", "a role key is used twice"))
    ids = [grant.id for grant in grants]
    for index, grant in enumerate(grants):
        where = f"permissions[{index}]"
        if ids.count(grant.id) > 1:
            problems.append(SchemaProblem(f"{where}.id", "duplicate_key", "used twice"))
        targets = list(by_key.values()) if grant.form is None else []
        if grant.form is not None:
            if grant.form not in by_key:
                problems.append(
                    SchemaProblem(f"{where}.form", "unknown_form", f"no form {grant.form!r}")
                )
                continue
            targets = [by_key[grant.form]]
        for key in grant.fields:
            if not any(key in form.keys for form in targets):
                problems.append(
                    SchemaProblem(f"{where}.fields.{key}", "unknown_field", f"no field {key!r}")
                )
        if grant.rule is not None:
            problems.extend(
                SchemaProblem(f"{where}.rule{error.path[1:]}", error.code, error.message)
                for error in iter_errors(grant.rule)
            )
            for name in rule_vars(grant.rule):
                if name in SYSTEM_VARS:
                    continue
                if not targets or not all(name in form.keys for form in targets):
                    problems.append(
                        SchemaProblem(f"{where}.rule", "unknown_field", f"no field {name!r}")
                    )
    return problems


def grantee_keys(grants: list[Grant]) -> dict[str, set[str]]:
    """The keys each kind of grantee names: ``{"role": {...}, "group": …}``."""
    wanted: dict[str, set[str]] = {}
    for grant in grants:
        if grant.grantee.key is not None:
            wanted.setdefault(grant.grantee.kind, set()).add(grant.grantee.key)
    return wanted
