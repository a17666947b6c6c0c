"""Auto-number patterns and formulas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from engines.form.check import check_form
from engines.form.errors import SchemaError
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.types.computed import format_number
from engines.form.validate import FormValidator

MOMENT = datetime(2026, 11, 23, 9, 30)


@pytest.mark.parametrize(
    ("pattern", "seq", "scope", "number"),
    [
        ("TK-{yyyyMMdd}-{seq:4}", 7, "TK-20261123-\x1f", "TK-20261123-0007"),
        ("{seq}", 12, "\x1f", "12"),
        ("R{yy}{MM}-{seq:3}-X", 5, "R2611-\x1f-X", "R2611-005-X"),
        ("工单{yyyy}年{seq:2}", 3, "工单2026年\x1f", "工单2026年03"),
    ],
)
def test_patterns(pattern, seq, scope, number):
    spec = FieldSpec(
        id=1, key="n", type="autonumber", label={"en": "N"}, options={"pattern": pattern}
    )
    normalised = FIELD_TYPES.get("autonumber").settings(spec).pattern
    assert format_number(normalised, MOMENT, seq) == (scope, number)


@pytest.mark.parametrize("pattern", ["TK-{yyyy}", "{seq}{seq}", "{seq} {unknown}", "{seq"])
def test_bad_patterns(pattern):
    spec = FieldSpec(
        id=1, key="n", type="autonumber", label={"en": "N"}, options={"pattern": pattern}
    )
    with pytest.raises(SchemaError):
        FIELD_TYPES.get("autonumber").check_spec(spec)


def order_form(**extra_fields) -> FormSchema:
    fields = [
        {"id": 1, "key": "qty", "type": "integer", "label": {"en": "Qty"}},
        {"id": 2, "key": "price", "type": "decimal", "label": {"en": "Price"}},
        {
            "id": 3,
            "key": "total",
            "type": "formula",
            "label": {"en": "Total"},
            "options": {"expression": {"*": [{"var": "qty"}, {"var": "price"}]}, "scale": 2},
        },
        {
            "id": 4,
            "key": "big",
            "type": "formula",
            "label": {"en": "Big"},
            "options": {"expression": {">": [{"var": "total"}, 100]}, "result": "boolean"},
        },
        {
            "id": 5,
            "key": "number",
            "type": "autonumber",
            "label": {"en": "No."},
            "options": {"pattern": "SO-{seq:5}"},
        },
        *extra_fields.values(),
    ]
    return FormSchema.model_validate({"id": 1, "key": "o", "label": {"en": "O"}, "fields": fields})


def test_formulas_are_computed_in_dependency_order_and_not_writable():
    validator = FormValidator(order_form())
    assert [key for key, _ in validator.formulas] == ["total", "big"]
    result = validator.check({"qty": 3, "price": "40.5"})
    assert result.ok, result.problems
    assert result.values["total"] == Decimal("121.50") and result.values["big"] is True
    refused = validator.check({"qty": 1, "total": 5, "number": "SO-1"})
    assert {(p.field, p.code) for p in refused.problems} == {
        ("total", "read_only"),
        ("number", "read_only"),
    }
    updated = validator.check(
        {"qty": 1}, existing={"qty": 3, "price": Decimal("40.5"), "total": Decimal("121.5")}
    )
    assert updated.values["total"] == Decimal("40.50") and updated.values["big"] is False


def test_formula_results_that_do_not_fit_are_empty():
    formula = FIELD_TYPES.get("formula")
    spec = FieldSpec(
        id=1,
        key="f",
        type="formula",
        label={"en": "F"},
        options={"expression": 1, "result": "number"},
    )
    assert formula.to_storage(spec, "abc") is None
    assert formula.to_storage(spec, float("inf")) is None
    assert formula.to_storage(spec, 2) == Decimal("2.00")


def test_formula_cycles_and_unknown_fields_are_reported():
    cyclic = order_form(
        a={
            "id": 6,
            "key": "a",
            "type": "formula",
            "label": {"en": "A"},
            "options": {"expression": {"var": "b"}},
        },
        b={
            "id": 7,
            "key": "b",
            "type": "formula",
            "label": {"en": "B"},
            "options": {"expression": {"+": [{"var": "a"}, {"var": "nope"}]}},
        },
    )
    problems = {(p.path, p.code) for p in check_form(cyclic)}
    assert ("fields", "formula_cycle") in problems
    assert ("fields[6].options.expression", "unknown_field") in problems
