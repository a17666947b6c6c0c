"""The form designer's refused saves speak the caller's language (Accept-Language, as
``tangram.api`` sends the page's): the draft's 422 ``validation_failed``, the publish's 422
``definition_invalid`` and the validate report word the form checks' problems as the
check-on-edit does (builder/apps/form_messages.py), in zh-CN or English."""

from __future__ import annotations

import pytest

from tests.builder.test_apps import (
    app_with_form,  # noqa: F401  (a fixture)
    publish,
    save,
    save_invented_form,
    text_field,
)

#: Accept-Language → what the same problems read like.
WORDS = {
    "zh-CN": {
        "reserved": "“owner”是系统列的保留名称，请换一个键。",
        "label": "请至少用一种语言填写名称。",
        "unknown_field": "表单中没有字段“missing”。",
        "unknown_type": "没有字段类型“wormhole”。",
        "form_key": "此应用中已有表单使用此键。",
        "form_id": "请通过 POST /forms 添加表单，以获得固定的 id。",
    },
    "en": {
        "reserved": "“owner” is reserved for a system column; choose another key.",
        "label": "Give a label in at least one language.",
        "unknown_field": "The form has no field “missing”.",
        "unknown_type": "There is no field type “wormhole”.",
        "form_key": "This app has a form with this key.",
        "form_id": "Add forms through POST /forms so that they get a stable id.",
    },
}


def messages(answer) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return {e["field"]: e["message"] for e in answer.json()["errors"]}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
async def test_refused_saves_in_the_callers_language(
    client,
    admin,
    app_with_form,  # noqa: F811
    lang,
):
    app_id, draft = app_with_form
    words = WORDS[lang]
    client.headers["Accept-Language"] = lang
    fields = [text_field(1, "owner"), {"id": 2, "key": "x", "type": "text", "label": {}}]
    refused = await save(client, admin, app_id, draft, fields)
    assert messages(refused) == {
        "definition.forms[0].fields[0].key": words["reserved"],
        "definition.forms[0].fields[1].label": words["label"],
    }

    # A draft may hold what publishing refuses: saved (twice: the unknown type is kept), then
    # the publish and the validate report say why, in the same words.
    broken = [
        text_field(1, "a", linkage={"visible": {"==": [{"var": "missing"}, 1]}}),
        {"id": 2, "key": "d", "type": "wormhole", "label": {"en": "D"}},
    ]
    for _ in range(2):
        saved = await save(client, admin, app_id, draft, broken)
        assert saved.status_code == 200, saved.text
        draft = saved.json()
    expected = {
        "forms[0].fields[0].linkage.visible": words["unknown_field"],
        "forms[0].fields[1].type": words["unknown_type"],
    }
    assert messages(await publish(client, admin, app_id)) == expected
    report = await client.post(f"/api/v1/apps/{app_id}/draft/validate", headers=admin.headers)
    assert {p["path"]: p["message"] for p in report.json()["problems"]} == expected

    again = await client.post(
        f"/api/v1/apps/{app_id}/forms",
        json={"key": "ticket", "label": {"en": "Ticket"}, "row_version": draft["row_version"]},
        headers=admin.headers,
    )
    assert messages(again) == {"key": words["form_key"]}
    invented = await save_invented_form(client, admin, app_id, draft)
    assert messages(invented) == {"definition.forms[0].id": words["form_id"]}
