"""Validating a submission: linkage, JSON Schema, type checks, form rules.

:class:`FormValidator` is built once per form version (it compiles the JSON Schema validators
and the JsonLogic rules) and then checks submissions:

1. unknown keys are refused;
2. linkage rules run over the merged record: a hidden field is not required and its value is
   cleared, a read-only field cannot be changed, ``required`` rules add requirements and
   ``value`` rules compute values;
3. each value is checked against its JSON Schema fragment, then converted by its field type;
4. form-level rules run over the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaViolation

from engines.form.check import rule_vars
from engines.form.errors import FieldProblem, InvalidValue
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.types.base import FieldType
from engines.logic import compile_rule, truthy

_FORMAT_CODES = {"date": "invalid_date", "date-time": "invalid_datetime"}
_KEYWORD_CODES = {
    "maxLength": ("too_long", "max"),
    "minLength": ("too_short", "min"),
    "pattern": ("pattern", None),
    "enum": ("not_an_option", None),
    "minimum": ("too_small", "min"),
    "maximum": ("too_large", "max"),
    "maxItems": ("too_many_choices", "max"),
    "minItems": ("too_few_rows", "min"),
    "uniqueItems": ("not_an_option", None),
}
_EXPECTED = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
}


@dataclass
class Submission:
    """The outcome: storage values to write (by key) and problems (empty when valid)."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[FieldProblem] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems


def _problem_from_schema(key: str, error: SchemaViolation, field_type: FieldType) -> FieldProblem:
    path = key + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "type":
        expected = error.validator_value
        name = str(expected[0] if isinstance(expected, list) else expected)
        return FieldProblem(path, "wrong_type", {"expected": _EXPECTED.get(name, name)})
    if error.validator == "format":
        return FieldProblem(path, _FORMAT_CODES.get(str(error.validator_value), "pattern"))
    code, param = _KEYWORD_CODES.get(str(error.validator), ("pattern", None))
    if code == "pattern":
        code = field_type.pattern_code
    code = field_type.schema_codes.get(str(error.validator), code)
    return FieldProblem(path, code, {param: error.validator_value} if param else {})


def value_validator(spec: FieldSpec) -> Draft202012Validator:
    """The JSON Schema validator of a non-empty value of ``spec``."""
    schema = FIELD_TYPES.get(spec.type).value_schema(spec)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def to_storage(spec: FieldSpec, value: Any, validator: Draft202012Validator | None = None) -> Any:
    """Check an API value (schema, then type) and convert it; raises InvalidValue."""
    field_type = FIELD_TYPES.get(spec.type)
    if field_type.is_empty(value):
        return None
    if _has_nul(value):
        raise InvalidValue("pattern")
    errors = sorted((validator or value_validator(spec)).iter_errors(value), key=lambda e: e.path)
    if errors:
        problem = _problem_from_schema(spec.key, errors[0], field_type)
        raise InvalidValue(problem.code, **problem.params)
    return field_type.to_storage(spec, value)


def _formula_order(form: FormSchema) -> list[str]:
    """Computed fields in an order where each comes after the computed fields it reads."""
    computed = {
        spec.key: set(rule_vars(FIELD_TYPES.get(spec.type).expression(spec)))
        for spec in form.fields
        if FIELD_TYPES.get(spec.type).computed
    }
    order: list[str] = []

    def visit(key: str, path: set[str]) -> None:
        if key in order or key in path:
            return  # cycles are refused by check_form; never loop here
        for dep in sorted(computed[key]):
            if dep in computed:
                visit(dep, path | {key})
        order.append(key)

    for key in computed:
        visit(key, set())
    return order


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class FormValidator:
    def __init__(self, form: FormSchema) -> None:
        self.form = form
        self.specs = {spec.key: spec for spec in form.fields}
        self.types = {spec.key: FIELD_TYPES.get(spec.type) for spec in form.fields}
        self.value_validators = {spec.key: value_validator(spec) for spec in form.fields}
        #: Validators of sub-table rows, by field key.
        self.children = {
            spec.key: FormValidator(self.types[spec.key].child_form(spec, form.id))
            for spec in form.fields
            if self.types[spec.key].has_children
        }
        self.linkage = {
            spec.key: {kind: compile_rule(rule) for kind, rule in spec.linkage.rules().items()}
            for spec in form.fields
            if spec.linkage.rules()
        }
        self.rules = [(rule, compile_rule(rule.condition)) for rule in form.rules]
        self.formulas = [
            (key, compile_rule(self.types[key].expression(self.specs[key])))
            for key in _formula_order(form)
        ]

    # --- helpers -----------------------------------------------------------------------------

    def logic_data(self, values: dict[str, Any]) -> dict[str, Any]:
        """JsonLogic's view of storage values (keys, JSON types)."""
        data: dict[str, Any] = {}
        for key, value in values.items():
            if key not in self.types:
                continue
            if value is None:
                data[key] = None
            elif key in self.children:
                data[key] = [self.children[key].logic_data(row) for row in value]
            else:
                data[key] = self.types[key].to_logic(self.specs[key], value)
        return data

    def defaults(self) -> dict[str, Any]:
        return {
            spec.key: spec.default
            for spec in self.form.fields
            if self.types[spec.key].client_writable
            and self.types[spec.key].default_value(spec) is not None
        }

    # --- the check ---------------------------------------------------------------------------

    def check(
        self,
        submitted: dict[str, Any],
        *,
        existing: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Submission:
        """Validate ``submitted`` API values; ``existing`` storage values for an update."""
        result = Submission()
        creating = existing is None
        for key in submitted:
            if key not in self.specs:
                result.problems.append(FieldProblem(key, "unknown_field"))
            elif not self.types[key].client_writable:
                result.problems.append(FieldProblem(key, "read_only"))
        incoming = {
            k: v for k, v in submitted.items() if k in self.specs and self.types[k].client_writable
        }
        if creating:
            incoming = {**self.defaults(), **incoming}

        converted: dict[str, Any] = {}
        for key, value in incoming.items():
            spec, field_type = self.specs[key], self.types[key]
            if field_type.is_empty(value):
                converted[key] = None
                continue
            problem = self._check_value(spec, value)
            if problem is not None:
                result.problems.append(problem)
                continue
            if key in self.children:
                converted[key] = self._check_rows(key, value, result, context)
                continue
            try:
                converted[key] = field_type.to_storage(spec, value)
            except InvalidValue as exc:
                result.problems.append(FieldProblem(key, exc.code, exc.params))

        merged = {**(existing or {}), **converted}
        required = {
            spec.key
            for spec in self.form.fields
            if spec.required and self.types[spec.key].client_writable
        }
        for key, rules in self.linkage.items():
            data = self.logic_data(merged)
            ctx = context or {}
            if "visible" in rules and not truthy(rules["visible"](data, context=ctx)):
                result.hidden.add(key)
                required.discard(key)
                if merged.get(key) is not None:
                    converted[key] = merged[key] = None
                continue
            if "required" in rules:
                if truthy(rules["required"](data, context=ctx)):
                    required.add(key)
                else:
                    required.discard(key)
            if (
                "readonly" in rules
                and key in incoming
                and truthy(rules["readonly"](data, context=ctx))
            ):
                before = None if creating else (existing or {}).get(key)
                if converted.get(key) != before:
                    result.problems.append(FieldProblem(key, "read_only"))
            if "value" in rules:
                computed = rules["value"](data, context=ctx)
                self._set_computed(key, computed, converted, merged, result)

        for key, compiled in self.formulas:
            value = compiled(self.logic_data(merged), context=context or {})
            converted[key] = merged[key] = self.types[key].to_storage(self.specs[key], value)

        failed = {p.field.split(".")[0].split("[")[0] for p in result.problems}
        for key in sorted(required):
            if key not in failed and merged.get(key) is None:
                result.problems.append(FieldProblem(key, "required"))

        if not result.problems and self.rules:
            data = self.logic_data(merged)
            for rule, compiled in self.rules:
                if not truthy(compiled(data, context=context or {})):
                    message = rule.message
                    result.problems.append(
                        FieldProblem(
                            rule.field or "",
                            "rule_failed",
                            {
                                "message": message.get("en") or message.get("zh-CN", ""),
                                "messages": message,
                                "rule": rule.id,
                            },
                        )
                    )
        result.values = converted
        return result

    def _check_rows(
        self, key: str, rows: list[Any], result: Submission, context: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """Validate each child row; problems are reported as ``key[i].field``."""
        converted = []
        for index, row in enumerate(rows):
            checked = self.children[key].check(row, context=context)
            result.problems.extend(
                FieldProblem(f"{key}[{index}].{p.field}", p.code, p.params)
                for p in checked.problems
            )
            converted.append(checked.values)
        return converted

    def _check_value(self, spec: FieldSpec, value: Any) -> FieldProblem | None:
        if _has_nul(value):  # no database stores NUL in text
            return FieldProblem(spec.key, "pattern")
        validator = self.value_validators[spec.key]
        if next(validator.iter_errors(value), None) is None:  # the common case: stop early
            return None
        errors = sorted(validator.iter_errors(value), key=lambda e: e.path)
        return _problem_from_schema(spec.key, errors[0], self.types[spec.key])

    def _set_computed(
        self,
        key: str,
        value: Any,
        converted: dict[str, Any],
        merged: dict[str, Any],
        result: Submission,
    ) -> None:
        spec, field_type = self.specs[key], self.types[key]
        if field_type.is_empty(value):
            converted[key] = merged[key] = None
            return
        try:
            converted[key] = merged[key] = field_type.to_storage(spec, value)
        except InvalidValue as exc:
            result.problems.append(FieldProblem(key, exc.code, exc.params))
