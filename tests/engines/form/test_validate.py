"""Submissions against the ticket form: linkage, JSON Schema, type checks, rules."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engines.form.errors import render_message as message
from engines.form.jsonschema import form_json_schema
from engines.form.schema import FormSchema
from engines.form.validate import FormValidator

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def form() -> FormSchema:
    return FormSchema.model_validate(json.loads((DATA / "ticket.json").read_text()))


@pytest.fixture(scope="module")
def validator(form: FormSchema) -> FormValidator:
    return FormValidator(form)


def problems(result) -> dict[str, str]:
    return {p.field: p.code for p in result.problems}


def test_valid_submission_is_converted_for_storage(validator):
    result = validator.check(
        {
            "subject": "  打印机坏了 ",
            "category": "repair",
            "amount": "12.5",
            "tags": ["urgent", "vip"],
            "contact_phone": "138-1234-5678",
            "contact_email": "Li.Lei@Example.COM",
            "due_at": "2026-11-23T18:00:00+08:00",
            "order_date": "2026-11-20",
            "discount": 12.5,
            "description": "<p onclick='x()'>Hi<script>alert(1)</script></p>",
        }
    )
    assert result.ok, result.problems
    values = result.values
    assert values["subject"] == "打印机坏了"
    assert values["amount"] == Decimal("12.50")
    assert values["tags"] == ["vip", "urgent"]  # option order
    assert values["vip"] is True  # computed by the value rule
    assert values["quantity"] == 1  # default
    assert values["contact_phone"] == "+8613812345678"
    assert values["contact_email"] == "Li.Lei@example.com"
    assert values["due_at"] == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert values["order_date"] == date(2026, 11, 20)
    assert values["description"] == "<p>Hi</p>"


def test_every_bad_value_is_reported_per_field(validator):
    result = validator.check(
        {
            "subject": "x" * 121,
            "category": "nope",
            "amount": "1.234",
            "quantity": 0,
            "tags": ["vip", "urgent", "repeat"],
            "contact_phone": "12345",
            "contact_email": "no-at",
            "website": "javascript:alert(1)",
            "due_at": "2026-11-23T18:00:00",
            "order_date": "23/11/2026",
            "assignee": "bob",
            "discount": "101",
            "shoe_size": 42,
        }
    )
    assert problems(result) == {
        "subject": "too_long",
        "category": "not_an_option",
        "amount": "too_many_decimals",
        "quantity": "too_small",
        "tags": "too_many_choices",
        "contact_phone": "invalid_phone",
        "contact_email": "invalid_email",
        "website": "invalid_url",
        "due_at": "invalid_datetime",
        "order_date": "invalid_date",
        "assignee": "wrong_type",
        "discount": "too_large",
        "shoe_size": "unknown_field",
    }
    assert result.values.get("subject") is None


def test_required_and_messages_in_both_languages(validator):
    result = validator.check({})
    assert problems(result) == {"subject": "required", "category": "required"}
    first = result.problems[0]
    assert first.message("en") == "This field is required."
    assert first.message("zh-CN") == "此字段为必填项。"


def test_linkage_hidden_field_is_cleared_and_not_required(validator):
    result = validator.check({"subject": "s", "category": "repair", "return_reason": "leftover"})
    assert result.ok
    assert result.values["return_reason"] is None and "return_reason" in result.hidden


def test_linkage_required_when_visible(validator):
    result = validator.check({"subject": "s", "category": "return", "amount": 10})
    assert problems(result) == {"return_reason": "required"}
    ok = validator.check(
        {"subject": "s", "category": "return", "amount": 10, "return_reason": "坏了"}
    )
    assert ok.ok


def test_linkage_on_update_uses_the_stored_record(validator):
    existing = {
        "subject": "s",
        "category": "return",
        "return_reason": "broken",
        "amount": Decimal("5"),
    }
    changed = validator.check({"category": "consult"}, existing=existing)
    assert changed.ok and changed.values["return_reason"] is None


def test_form_rule(validator):
    result = validator.check(
        {"subject": "s", "category": "return", "return_reason": "r", "amount": 6000}
    )
    assert [(p.field, p.code) for p in result.problems] == [("amount", "rule_failed")]
    assert result.problems[0].params["messages"]["zh-CN"] == "超过 5000 的退货需要经理处理。"


def test_wrong_type_messages_are_localised():
    assert message("wrong_type", "zh-CN", {"expected": "a whole number"}) == "应为整数。"
    assert message("too_long", "en", {"max": 5}) == "Enter at most 5 characters."


def test_json_schema_is_draft_2020_12(form):
    from jsonschema import Draft202012Validator

    schema = form_json_schema(form)
    Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["category", "subject"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["subject"]["anyOf"][0] == {"type": "string", "maxLength": 120}


def test_schema_rejects_duplicate_ids_keys_and_reserved_keys():
    base = {"id": 1, "key": "f", "label": {"en": "F"}}
    field = {"type": "text", "label": {"en": "A"}}
    with pytest.raises(ValueError, match="used twice"):
        FormSchema.model_validate(
            {**base, "fields": [{**field, "id": 1, "key": "a"}, {**field, "id": 1, "key": "b"}]}
        )
    with pytest.raises(ValueError, match="used twice"):
        FormSchema.model_validate(
            {**base, "fields": [{**field, "id": 1, "key": "a"}, {**field, "id": 2, "key": "a"}]}
        )
    with pytest.raises(ValueError, match="reserved"):
        FormSchema.model_validate({**base, "fields": [{**field, "id": 1, "key": "created_at"}]})
    with pytest.raises(ValueError, match="locale"):
        FormSchema.model_validate({**base, "label": {"fr": "F"}})
    schema = FormSchema.model_validate({**base, "fields": [{**field, "id": 7, "key": "a"}]})
    assert schema.next_field_id == 8
