"""Whole-form validation: every reference resolves, every rule is valid JsonLogic.

Returns all problems at once (path, code, message), so a designer sees everything to fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from engines.form.errors import SchemaError
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FormSchema
from engines.logic import iter_errors


@dataclass(frozen=True)
class SchemaProblem:
    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


_SCOPED = frozenset({"map", "filter", "reduce", "all", "some", "none"})


def rule_var_paths(rule: Any) -> Iterator[str]:
    """Every ``var`` path a JsonLogic rule reads from its data (``record.status``, ``amount``)."""
    if isinstance(rule, list):
        for item in rule:
            yield from rule_var_paths(item)
    elif isinstance(rule, dict):
        for op, args in rule.items():
            if op == "var":
                name = args[0] if isinstance(args, list) and args else args
                if isinstance(name, str) and name:
                    yield name
            elif op in _SCOPED and isinstance(args, list):
                # The body of map/filter/reduce/all/some/none reads the current element, not
                # the record: only the other arguments name fields.
                for position, arg in enumerate(args):
                    if position != 1:
                        yield from rule_var_paths(arg)
            else:
                yield from rule_var_paths(args)


def rule_vars(rule: Any) -> Iterator[str]:
    """Every ``var`` name a JsonLogic rule reads (first path segment)."""
    for path in rule_var_paths(rule):
        yield path.split(".")[0]


def _check_rule(rule: Any, path: str, keys: set[str]) -> list[SchemaProblem]:
    problems = [
        SchemaProblem(f"{path}{error.path[1:]}", error.code, error.message)
        for error in iter_errors(rule)
    ]
    for name in rule_vars(rule):
        if name not in keys:
            problems.append(SchemaProblem(path, "unknown_field", f"no field {name!r} in this form"))
    return problems


def check_form(form: FormSchema, path: str = "") -> list[SchemaProblem]:
    problems: list[SchemaProblem] = []
    keys = set(form.keys)
    computed: dict[str, set[str]] = {}
    for index, spec in enumerate(form.fields):
        where = f"{path}fields[{index}]"
        field_type = FIELD_TYPES.find(spec.type)
        if field_type is None:
            problems.append(
                SchemaProblem(f"{where}.type", "unknown_type", f"unknown field type {spec.type!r}")
            )
            continue
        try:
            field_type.check_spec(spec)
        except SchemaError as exc:
            problems.append(
                SchemaProblem(f"{where}.{exc.path.split('.', 1)[-1]}", exc.code, exc.detail)
            )
        if field_type.has_children:
            problems.extend(_check_children(field_type, spec, f"{where}.options."))
        for kind, rule in spec.linkage.rules().items():
            problems.extend(_check_rule(rule, f"{where}.linkage.{kind}", keys))
        depends = set(rule_vars(spec.linkage.value)) if spec.linkage.value is not None else set()
        if field_type.computed:
            try:
                expression = field_type.expression(spec)
            except SchemaError:
                expression = None  # bad options were reported above
            if expression is not None:
                problems.extend(_check_rule(expression, f"{where}.options.expression", keys))
                depends |= set(rule_vars(expression))
        if depends and (spec.linkage.value is not None or field_type.computed):
            computed[spec.key] = depends
    for index, rule in enumerate(form.rules):
        problems.extend(_check_rule(rule.condition, f"{path}rules[{index}].condition", keys))
        if rule.field is not None and rule.field not in keys:
            problems.append(
                SchemaProblem(
                    f"{path}rules[{index}].field",
                    "unknown_field",
                    f"no field {rule.field!r} in this form",
                )
            )
    for index, section in enumerate(form.sections):
        for position, key in enumerate(section.fields):
            if key not in keys:
                problems.append(
                    SchemaProblem(
                        f"{path}sections[{index}].fields[{position}]",
                        "unknown_field",
                        f"no field {key!r} in this form",
                    )
                )
    if form.title_field is not None and form.title_field not in keys:
        problems.append(
            SchemaProblem(
                f"{path}title_field", "unknown_field", f"no field {form.title_field!r} in this form"
            )
        )
    cycle = find_cycle(computed)
    if cycle:
        problems.append(
            SchemaProblem(
                f"{path}fields",
                "formula_cycle",
                "computed values depend on each other: " + " → ".join(cycle),
            )
        )
    return problems


def _check_children(field_type: Any, spec: Any, path: str) -> list[SchemaProblem]:
    try:
        child = field_type.child_form(spec)
    except SchemaError:
        return []  # bad options were reported already
    problems = check_form(child, path)
    for index, child_spec in enumerate(child.fields):
        child_type = FIELD_TYPES.find(child_spec.type)
        if child_type is not None and (
            child_type.has_children or not child_type.has_column or child_type.holds_files
        ):
            problems.append(
                SchemaProblem(
                    f"{path}fields[{index}].type",
                    "not_in_subtable",
                    f"a {child_spec.type} field cannot be in a sub-table",
                )
            )
    return problems


def find_cycle(depends: dict[str, set[str]]) -> list[str] | None:
    """A dependency cycle among computed fields, as the list of keys along it."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        stack.append(key)
        for dep in sorted(depends.get(key, ())):
            if dep not in depends:
                continue
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[key] = 2
        return None

    for key in sorted(depends):
        if key not in state:
            found = visit(key)
            if found:
                return found
    return None


def check_relations(forms: list[FormSchema]) -> list[SchemaProblem]:
    """Across the forms of one app: relations point at forms of the app, lookups at a
    relation of their form and at a stored field of the related form."""
    by_id = {form.id: form for form in forms}
    problems: list[SchemaProblem] = []
    for form_index, form in enumerate(forms):
        for index, spec in enumerate(form.fields):
            field_type = FIELD_TYPES.find(spec.type)
            if field_type is None:
                continue
            where = f"forms[{form_index}].fields[{index}].options"
            try:
                reference = field_type.reference(spec)
                lookup = field_type.settings(spec) if field_type.looks_up else None
            except SchemaError:
                continue  # reported by check_form
            if reference is not None and reference[0] == "form" and reference[1] not in by_id:
                problems.append(
                    SchemaProblem(
                        f"{where}.form_id",
                        "unknown_form",
                        f"no form with id {reference[1]} in this app",
                    )
                )
            if lookup is not None:
                problems.extend(_check_lookup(form, by_id, lookup, where))
    return problems


def _check_lookup(
    form: FormSchema, by_id: dict[int, FormSchema], lookup: Any, where: str
) -> list[SchemaProblem]:
    relation = form.find(lookup.relation)
    relation_type = FIELD_TYPES.find(relation.type) if relation else None
    target_id = None
    if relation is not None and relation_type is not None:
        try:
            reference = relation_type.reference(relation)
        except SchemaError:
            reference = None
        if reference is not None and reference[0] == "form":
            target_id = int(reference[1])
    if target_id is None:
        return [
            SchemaProblem(
                f"{where}.relation",
                "not_a_relation",
                f"{lookup.relation!r} is not a relation field of this form",
            )
        ]
    target = by_id.get(target_id)
    if target is None:
        return []  # the relation's own problem is reported
    target_spec = target.find(lookup.field)
    target_type = FIELD_TYPES.find(target_spec.type) if target_spec else None
    if target_type is None or not target_type.has_column:
        return [
            SchemaProblem(
                f"{where}.field",
                "unknown_field",
                f"the related form has no stored field {lookup.field!r}",
            )
        ]
    return []
