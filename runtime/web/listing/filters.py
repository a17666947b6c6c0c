"""List filters built from the field types: per type of input the operators a filter bar
offers, each a JsonLogic shape over ``{"var": key}``; and the way back, from a filter
condition (also one from a dashboard's drill-down) to a chip that names field, operator and
value.

Shapes use placeholders: ``K`` for the field, ``A`` and ``B`` for the values. Building fills
them in; reading a condition unifies it with every shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from engines.form.types.base import FieldType
from runtime.i18n import current_locale
from runtime.permissions.access import Access
from runtime.records.forms import FormHandle
from runtime.web.formatting import format_date, format_number, zone
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

K = {"var": "\x00k"}
A = "\x00a"
B = "\x00b"
_MY_DEPARTMENT = {"current_department": "id"}
_NOT_EMPTY = {"!": [{"is_empty": [K]}]}


@dataclass(frozen=True)
class Operator:
    code: str
    label: str
    inputs: int
    shapes: tuple[Any, ...]


_OPERATORS = {
    op.code: op
    for op in (
        Operator("contains", N_("contains"), 1, ({"in": [A, {"lower": K}]}, {"in": [A, K]})),
        Operator("eq", N_("is"), 1, ({"==": [K, A]},)),
        Operator("neq", N_("is not"), 1, ({"!=": [K, A]},)),
        Operator("gte", N_("at least"), 1, ({">=": [K, A]},)),
        Operator("lte", N_("at most"), 1, ({"<=": [K, A]},)),
        Operator("between", N_("between"), 2, ({"<=": [A, K, B]},)),
        Operator("on", N_("on"), 1, ({"==": [K, A]},)),
        Operator("from", N_("from"), 1, ({">=": [K, A]},)),
        Operator("until", N_("until"), 1, ({"<=": [K, A]},)),
        Operator("after", N_("from"), 1, ({">=": [K, A]},)),
        Operator("before", N_("until"), 1, ({"<": [K, B]},)),
        Operator("range", N_("between"), 2, ({"and": [{">=": [K, A]}, {"<": [K, B]}]},)),
        Operator("includes", N_("includes"), 1, ({"in": [A, K]},)),
        Operator("is_true", N_("is yes"), 0, ({"==": [K, True]},)),
        Operator("is_false", N_("is no"), 0, ({"==": [K, False]},)),
        Operator("is_me", N_("is me"), 0, ({"==": [K, {"current_user": "id"}]},)),
        Operator("is_mine", N_("is my department"), 0, ({"==": [K, _MY_DEPARTMENT]},)),
        Operator("empty", N_("is empty"), 0, ({"is_empty": [K]},)),
        Operator("not_empty", N_("is not empty"), 0, (_NOT_EMPTY,)),
    )
}
#: The operators of each kind of filter input, in the order the bar offers them.
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("contains", "eq", "neq", "empty", "not_empty"),
    "number": ("eq", "gte", "lte", "between", "empty", "not_empty"),
    "date": ("on", "from", "until", "between", "empty", "not_empty"),
    "datetime": ("after", "before", "range", "empty", "not_empty"),
    "boolean": ("is_true", "is_false", "empty"),
    "option": ("eq", "neq", "empty", "not_empty"),
    "options": ("includes", "empty", "not_empty"),
    "user": ("is_me", "eq", "empty", "not_empty"),
    "department": ("is_mine", "eq", "empty", "not_empty"),
    "reference": ("eq", "empty", "not_empty"),
    "links": ("empty", "not_empty"),
}
_INPUT_OF_TYPE = {"user": "user", "department": "department", "relation": "reference"}
#: Inputs whose value is picked from a searchable list (the form page's combobox).
PICKED = frozenset(_INPUT_OF_TYPE.values())
_INPUT_OF_KIND = {"array": "options", "links": "links"}
SYSTEM_FILTERS = {"created_at": N_("Created"), "updated_at": N_("Updated")}


@dataclass(frozen=True)
class FilterField:
    key: str
    label: Any
    input: str
    options: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def operators(self) -> list[Operator]:
        return [_OPERATORS[code] for code in OPERATORS[self.input]]

    @property
    def picked(self) -> bool:
        """Whether the value is a user, department or related record, chosen from a list."""
        return self.input in PICKED

    def option_label(self, value: Any) -> Any:
        return next((label or value for v, label in self.options if v == value), value)


class FilterInputError(ValueError):
    """A value the filter bar cannot use; ``slot`` names the input (a or b)."""

    def __init__(self, slot: str, message: str) -> None:
        super().__init__(message)
        self.slot = slot
        self.message = message


def _input_of(field_type: FieldType, kind: str) -> str:
    if field_type.type in _INPUT_OF_TYPE:
        return _INPUT_OF_TYPE[field_type.type]
    if field_type.type == "select":
        return "option"
    if field_type.type == "attachments":
        return "links"
    return _INPUT_OF_KIND.get(kind, kind)


def filter_fields(handle: FormHandle, rights: Access) -> dict[str, FilterField]:
    """The fields a user may filter on (what they can read), with their kind of input."""
    usable = rights.filter_fields()
    found: dict[str, FilterField] = {}
    for spec in handle.form.fields:
        if spec.key not in usable:
            continue
        field_type = handle.field_type(spec.key)
        kind = _input_of(field_type, usable[spec.key].kind)
        if kind not in OPERATORS:
            continue
        options = []
        if kind in ("option", "options"):
            options = [(o.value, o.label) for o in field_type.settings(spec).options]
        found[spec.key] = FilterField(spec.key, spec.label, kind, options)
    for key, label in SYSTEM_FILTERS.items():
        found[key] = FilterField(key, _(label), "datetime")
    return found


# --- building -----------------------------------------------------------------------------


def _fill(shape: Any, bindings: dict[str, Any]) -> Any:
    if isinstance(shape, dict):
        return {k: _fill(v, bindings) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_fill(v, bindings) for v in shape]
    if isinstance(shape, str) and shape in bindings:
        return bindings[shape]
    return shape


def _instant(day: date, tz: str | None) -> str:
    moment = datetime.combine(day, time(), tzinfo=zone(tz)).astimezone(zone("UTC"))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _value(item: FilterField, op: Operator, slot: str, raw: str, tz: str | None) -> Any:
    text = raw.strip()
    if not text:
        raise FilterInputError(slot, _("Enter a value."))
    kind = item.input
    if kind in ("number",):
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation as exc:
            raise FilterInputError(slot, _("Enter a number.")) from exc
        if not number.is_finite():
            raise FilterInputError(slot, _("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind in ("user", "department", "reference"):
        if not text.isdigit() or int(text) < 1:
            raise FilterInputError(slot, _("Enter an id (a whole number)."))
        return int(text)
    if kind in ("date", "datetime"):
        try:
            day = date.fromisoformat(text)
        except ValueError as exc:
            raise FilterInputError(slot, _("Enter a date.")) from exc
        if kind == "date":
            return day.isoformat()
        upper = op.code == "before" or (op.code == "range" and slot == "b")
        return _instant(day + timedelta(days=1) if upper else day, tz)
    if kind in ("option", "options"):
        if text not in {value for value, _label in item.options}:
            raise FilterInputError(slot, _("Choose one of the options."))
        return text
    return text


def build(
    item: FilterField, code: str, raw_a: str = "", raw_b: str = "", tz: str | None = None
) -> Any:
    """The JsonLogic condition of one filter-bar entry (raises :class:`FilterInputError`)."""
    if code not in OPERATORS[item.input]:
        raise FilterInputError("op", _("Choose an operator."))
    op = _OPERATORS[code]
    bindings: dict[str, Any] = {"\x00k": item.key}
    slots = ["a", "b"][: op.inputs] if code != "before" else ["b"]
    for slot, raw in zip(slots, [raw_a, raw_b] if code != "before" else [raw_a], strict=False):
        bindings[A if slot == "a" else B] = _value(item, op, slot, raw, tz)
    shape = op.shapes[0]
    if code == "contains":
        text = bindings[A]
        if text.isascii():
            bindings[A] = text.lower()
        else:
            shape = op.shapes[1]
    if code == "between" and _greater(bindings[A], bindings[B]):
        bindings[A], bindings[B] = bindings[B], bindings[A]
    return _fill(shape, bindings)


def _greater(a: Any, b: Any) -> bool:
    return bool(type(a) is type(b) and a > b)


# --- reading ------------------------------------------------------------------------------


def _unify(shape: Any, rule: Any, bound: dict[str, Any]) -> bool:
    if isinstance(shape, dict):
        if not isinstance(rule, dict) or list(shape) != list(rule):
            return False
        return all(_unify(shape[k], rule[k], bound) for k in shape)
    if isinstance(shape, list):
        if not isinstance(rule, list) or len(shape) != len(rule):
            return False
        return all(_unify(s, r, bound) for s, r in zip(shape, rule, strict=True))
    if isinstance(shape, str) and shape.startswith("\x00"):
        if shape in bound and bound[shape] != rule:
            return False
        bound[shape] = rule
        return True
    return type(shape) is type(rule) and bool(shape == rule)


@dataclass(frozen=True)
class Chip:
    """One active filter as the page shows it: field, operator and values, or the JSON."""

    field: Any
    operator: str
    values: list[str]
    raw: str
    #: The field's key (None for a condition the filter bar cannot read).
    key: str | None = None


def _show(item: FilterField, op: Operator, slot: str, value: Any, tz: str | None) -> str:
    if item.input in ("option", "options"):
        label = item.option_label(value)
        if isinstance(label, dict) and label:
            return str(
                label.get(current_locale.get()) or label.get("en") or next(iter(label.values()))
            )
        return str(value)
    if item.input == "number":
        return format_number(value) if isinstance(value, int | float) else str(value)
    if item.input == "date" and isinstance(value, str):
        try:
            return format_date(value)
        except ValueError:
            return value
    if item.input == "datetime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        day = moment.astimezone(zone(tz)).date()
        upper = op.code == "before" or (op.code == "range" and slot == "b")
        return format_date(day - timedelta(days=1) if upper else day)
    return str(value)


def chip(rule: Any, fields: dict[str, FilterField], tz: str | None = None) -> Chip:
    """How ``rule`` reads on the page (the JSON itself when it is not a filter-bar shape)."""
    raw = json.dumps(rule, ensure_ascii=False, separators=(",", ":"))
    for op in _OPERATORS.values():
        for shape in op.shapes:
            bound: dict[str, Any] = {}
            if not _unify(shape, rule, bound):
                continue
            item = fields.get(bound.get("\x00k"))  # type: ignore[arg-type]
            if item is None or op.code not in OPERATORS[item.input]:
                continue
            slots = [s for s in ("a", "b") if (A if s == "a" else B) in bound]
            values = [_show(item, op, s, bound[A if s == "a" else B], tz) for s in slots]
            return Chip(item.label, _(op.label), values, raw, item.key)
    return Chip(None, "", [], raw)
