"""Field types one by one: settings, conversions, import/export text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engines.form.errors import InvalidValue, SchemaError
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec
from engines.form.types.contact import normalise_phone
from engines.form.types.text import sanitise_html


def spec(type_: str, **kw) -> FieldSpec:
    return FieldSpec(id=1, key="f", type=type_, label={"en": "F"}, **kw)


def test_every_type_is_registered_once_with_a_family():
    names = FIELD_TYPES.types()
    assert len(names) == len(set(names))
    for field_type in FIELD_TYPES:
        assert field_type.family
        assert field_type.type in names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("+86 138-1234-5678", "+8613812345678"),
        ("008613812345678", "+8613812345678"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_phone_normalisation(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "+86 12345", "phone", "+0123456789"])
def test_phone_rejects(raw):
    with pytest.raises(InvalidValue):
        normalise_phone(raw)


def test_rich_text_is_sanitised():
    dirty = (
        '<a href="javascript:alert(1)" onmouseover="x()">link</a>'
        "<img src=x onerror=alert(1)><b>ok</b>"
    )
    clean = sanitise_html(dirty)
    assert "javascript" not in clean and "onerror" not in clean and "onmouseover" not in clean
    assert "<b>ok</b>" in clean


def test_decimal_is_exact_and_returned_as_string():
    decimal = FIELD_TYPES.get("decimal")
    field = spec("decimal", options={"precision": 6, "scale": 2})
    assert decimal.to_storage(field, 0.1) == Decimal("0.10")
    assert decimal.from_storage(field, Decimal("0.1")) == "0.10"
    assert decimal.to_logic(field, Decimal("2.00")) == 2
    with pytest.raises(InvalidValue) as too_big:
        decimal.to_storage(field, "123456.7")
    assert too_big.value.code == "too_many_digits"
    with pytest.raises(InvalidValue):
        decimal.to_storage(field, "NaN")


def test_bad_options_name_the_path():
    with pytest.raises(SchemaError) as error:
        FIELD_TYPES.get("text").check_spec(spec("text", options={"max_length": 0}))
    assert error.value.path == "f.options.max_length"
    with pytest.raises(SchemaError) as error:
        FIELD_TYPES.get("select").check_spec(
            spec("select", options={"options": [{"value": "a"}, {"value": "a"}]})
        )
    assert error.value.code == "bad_options"
    with pytest.raises(SchemaError) as error:
        FIELD_TYPES.get("textarea").check_spec(spec("textarea", unique=True))
    assert error.value.code == "unique_not_supported"


@pytest.mark.parametrize(
    ("type_", "options", "raw", "value"),
    [
        ("integer", {}, "1,234", 1234),
        ("decimal", {}, "¥1,234.5", "1234.5"),
        ("boolean", {}, "是", True),
        ("boolean", {}, "no", False),
        (
            "select",
            {"options": [{"value": "return", "label": {"zh-CN": "退货"}}]},
            "退货",
            "return",
        ),
        (
            "multiselect",
            {"options": [{"value": "a", "label": {"en": "A"}}, {"value": "b"}]},
            "A，b",
            ["a", "b"],
        ),
        ("date", {}, "2026/11/23", "2026-11-23"),
        ("datetime", {}, "2026-11-23 08:00:00+08:00", "2026-11-23T00:00:00.000Z"),
    ],
)
def test_import_parsing(type_, options, raw, value):
    assert FIELD_TYPES.get(type_).parse_text(spec(type_, options=options), raw) == value


def test_export_formatting():
    assert (
        FIELD_TYPES.get("multiselect").format_text(
            spec("multiselect", options={"options": [{"value": "a"}]}), ["a"]
        )
        == "a"
    )
    assert (
        FIELD_TYPES.get("richtext").format_text(spec("richtext"), "<p>Hi <b>there</b></p>")
        == "Hi there"
    )
    assert FIELD_TYPES.get("percent").format_text(spec("percent"), "12.5") == "12.5%"


# --- attachments -------------------------------------------------------------------------------


def _file(file_id: int, filename: str, content_type: str, size: int = 10) -> dict:
    return {
        "id": file_id,
        "filename": filename,
        "size": size,
        "content_type": content_type,
        "sha256": "0" * 64,
    }


def test_attachment_settings_check_accept_patterns():
    attachments = FIELD_TYPES.get("attachments")
    for bad in (["image"], ["pdf"], ["*/*x"], [".p df"]):
        with pytest.raises(SchemaError) as error:
            attachments.check_spec(spec("attachments", options={"accept": bad}))
        assert error.value.path.startswith("f.options.accept")
    settings = attachments.settings(spec("attachments", options={"accept": [" IMAGE/* ", ".PDF"]}))
    assert settings.accept == ["image/*", ".pdf"]
    assert settings.accepts("scan.png", "image/png")
    assert settings.accepts("Report.PDF", "application/octet-stream")  # by extension
    assert settings.accepts("scan", "image/jpeg; charset=binary")  # no extension to compare
    assert not settings.accepts("setup.exe", "image/png")  # the name says otherwise
    assert not settings.accepts("notes.txt", "text/plain")
    assert attachments.settings(spec("attachments")).accepts("anything.bin", "x/y")


def test_attachments_check_resolved_files_against_the_limits():
    attachments = FIELD_TYPES.get("attachments")
    field = spec(
        "attachments",
        options={"max_files": 2, "max_size_bytes": 2048, "accept": ["application/pdf"]},
    )
    pdf = _file(1, "a.pdf", "application/pdf")
    assert attachments.to_storage(field, [{**pdf, "extra": "dropped"}]) == [pdf]
    failures = {
        "too_many_files": [
            pdf,
            _file(2, "b.pdf", "application/pdf"),
            _file(3, "c.pdf", "application/pdf"),
        ],
        "duplicate_reference": [pdf, pdf],
        "file_too_large": [_file(4, "big.pdf", "application/pdf", size=4096)],
        "file_type_refused": [_file(5, "x.png", "image/png")],
        "unknown_reference": [7],  # not resolved by the records service
        "invalid_attachment": [{"name": "x"}],
    }
    for code, value in failures.items():
        with pytest.raises(InvalidValue) as error:
            attachments.to_storage(field, value)
        assert error.value.code == code
    with pytest.raises(InvalidValue) as error:
        attachments.to_storage(field, [_file(4, "big.pdf", "application/pdf", size=4096)])
    assert error.value.params == {"filename": "big.pdf", "limit": "2 KiB"}
    assert attachments.file_ids(field, [3, {"id": 4, "filename": "x"}]) == [3, 4]
    assert attachments.file_ids(field, [3, "4"]) is None
    assert attachments.attach(field, [3, {"id": 4}], {3: pdf, 4: pdf}) == [pdf, pdf]
    with pytest.raises(SchemaError) as bad_default:
        attachments.check_spec(spec("attachments", default=[1]))
    assert bad_default.value.code == "bad_default"


def test_attachment_cells():
    attachments = FIELD_TYPES.get("attachments")
    field = spec("attachments")
    value = [_file(12, "报告, 终稿.pdf", "application/pdf"), _file(15, "a.png", "image/png")]
    cell = attachments.format_text(field, value)
    assert cell == "报告, 终稿.pdf (#12), a.png (#15)"
    assert attachments.parse_text(field, cell) == [12, 15]
    assert attachments.parse_text(field, "12；15") == [12, 15]
    with pytest.raises(InvalidValue) as error:
        attachments.parse_text(field, "a.png")
    assert error.value.code == "invalid_attachment"


# --- many-relations ----------------------------------------------------------------------------


def test_multirelation_values_and_cells():
    many = FIELD_TYPES.get("multirelation")
    field = spec("multirelation", options={"form_id": 3, "max_links": 3})
    assert many.reference(field) == ("form", 3)
    assert many.references(field, [5, 9]) == [("[0]", 5), ("[1]", 9)]
    assert many.kind(field) == "links" and not many.has_column and many.has_links
    assert many.to_storage(field, [9, 5]) == [9, 5]
    for value, code in (([1, 1], "duplicate_reference"), ([1, 2, 3, 4], "too_many_links")):
        with pytest.raises(InvalidValue) as error:
            many.to_storage(field, value)
        assert error.value.code == code
    assert many.parse_text(field, "12;15") == [12, 15]
    assert many.parse_text(field, "12，15, ") == [12, 15]
    assert many.format_text(field, [12, 15]) == "12, 15"
    with pytest.raises(InvalidValue):
        many.parse_text(field, "12; acme")
    schema = many.value_schema(field)
    assert schema["uniqueItems"] is True and schema["maxItems"] == 3
