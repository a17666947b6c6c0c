"""Publish-time checks of form overviews (timeline sources and key figures): stable codes and
paths, messages in en and zh-CN, on the Customer Center's forms."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engines.form.overview import MESSAGES, check_overviews
from engines.form.schema import FormSchema
from tests.templates.customer_center import install


def forms(overview: dict[str, Any] | None = None) -> list[FormSchema]:
    documents = install.document()["forms"]
    if overview is not None:
        documents = [
            {**d, "overview": overview} if d["key"] == "customer" else d for d in documents
        ]
    return [FormSchema.model_validate(d) for d in documents]


def problems(overview: dict[str, Any], locale: str = "en") -> list[tuple[str, str]]:
    found = check_overviews(forms(overview), locale)
    return [(p.path.split("overview.", 1)[1], p.code) for p in found]


def test_the_templates_overview_is_valid():
    customer = next(f for f in forms() if f.key == "customer")
    assert customer.overview is not None
    assert [s.form for s in customer.overview.sources] == [
        "ticket",
        "communication",
        "return_request",
        "survey",
    ]
    assert check_overviews(forms()) == []


def test_sources_name_forms_relations_to_this_form_and_shown_fields():
    found = problems(
        {
            "sources": [
                {"form": "nosuch", "via": "customer"},
                {"form": "customer", "via": "name"},
                {"form": "ticket", "via": "nosuch"},
                {"form": "ticket", "via": "subject"},
                {"form": "communication", "via": "ticket"},
                {"form": "ticket", "via": "customer", "title": "nosuch", "fields": ["status", "x"]},
                {"form": "return_request", "via": "customer", "fields": ["lines"]},
                {"form": "ticket", "via": "customer", "time": "subject"},
                {"form": "ticket", "via": "customer", "time": "resolved_at"},
            ]
        }
    )
    assert found == [
        ("sources[0].form", "overview.unknown_form"),
        ("sources[1].form", "overview.same_form"),
        ("sources[2].via", "overview.unknown_field"),
        ("sources[3].via", "overview.not_a_relation"),
        ("sources[4].via", "overview.wrong_target"),
        ("sources[5].title", "overview.unknown_field"),
        ("sources[5].fields[1]", "overview.unknown_field"),
        ("sources[6].fields[0]", "overview.not_shown"),
        ("sources[7].time", "overview.bad_time"),
    ]


def test_figures_need_a_known_aggregation_over_a_suitable_field():
    def figure(**extra: Any) -> dict[str, Any]:
        return {
            "key": f"f{len(made)}",
            "label": {"en": "F"},
            "form": "ticket",
            "via": "customer",
        } | extra

    made: list[dict[str, Any]] = []
    for extra in (
        {"agg": "median", "field": "reopen_count"},
        {"agg": "sum"},
        {"agg": "sum", "field": "subject"},
        {"agg": "avg", "field": "nosuch"},
        {"agg": "max", "field": "resolved_at"},
        {"agg": "count", "filter": {"==": [{"var": "nosuch"}, 1]}},
        {"agg": "count", "filter": {"nosuch_op": [1]}},
        {"agg": "sum", "field": "reopen_count", "filter": {"==": [{"var": "status"}, "new"]}},
        {"form": "survey", "via": "ticket"},
    ):
        made.append(figure(**extra))
    made.append({**made[-2], "key": "f0"})
    found = problems({"figures": made})
    assert found == [
        ("figures", "overview.duplicate_key"),
        ("figures[0].agg", "overview.bad_agg"),
        ("figures[1].field", "overview.field_required"),
        ("figures[2].field", "overview.bad_agg_field"),
        ("figures[3].field", "overview.unknown_field"),
        ("figures[5].filter", "overview.unknown_field"),
        ("figures[6].filter.nosuch_op", "overview.bad_filter"),
        ("figures[8].via", "overview.wrong_target"),
    ]


def test_messages_are_in_english_and_chinese():
    overview = {"sources": [{"form": "ticket", "via": "subject"}]}
    [english] = check_overviews(forms(overview), "en")
    [chinese] = check_overviews(forms(overview), "zh-CN")
    assert english.code == chinese.code == "overview.not_a_relation"
    assert english.message == "'subject' is not a relation field of form 'ticket'"
    assert chinese.message == "'subject' 不是表单 'ticket' 的关联字段"
    assert all(en and zh and en != zh for en, zh in MESSAGES.values())


def test_labels_and_keys_are_checked_by_the_model():
    with pytest.raises(ValidationError):
        forms({"figures": [{"key": "Bad Key", "label": {"en": "x"}, "form": "t", "via": "c"}]})
    with pytest.raises(ValidationError):
        forms({"figures": [{"key": "k", "label": {"fr": "x"}, "form": "t", "via": "c"}]})


def test_an_overview_goes_through_template_files_with_its_labels_extracted():
    import json

    from templates.layout import Template, from_files, to_files
    from templates.manifest import Manifest

    definition = install.definition()
    files = to_files(Template(Manifest.model_validate(install.manifest()), definition))
    customer = json.loads(files["forms/customer.json"])
    assert "label" not in customer["overview"]["figures"][0]
    chinese = json.loads(files["locales/zh-CN.json"])["forms/customer.json"]
    assert chinese["overview.figures[csat].label"] == "平均满意度"
    template, problems = from_files(files)
    assert problems == [] and template is not None
    assert template.definition == definition
