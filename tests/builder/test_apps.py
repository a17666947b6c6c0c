"""Apps, drafts, validation, plans, publish, rollback and purge — on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, insert, inspect

from engines.form.schema import FormSchema
from engines.form.tables import build_table
from runtime.models import metadata as platform_metadata


def text_field(fid, key, **kw):
    return {"id": fid, "key": key, "type": "text", "label": {"en": key, "zh-CN": key}, **kw}


@pytest.fixture
async def app_with_form(client, admin):
    created = await client.post(
        "/api/v1/apps",
        json={"key": "helpdesk", "name": {"en": "Helpdesk", "zh-CN": "客服"}},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    draft = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    added = await client.post(
        f"/api/v1/apps/{app_id}/forms",
        json={
            "key": "ticket",
            "label": {"en": "Ticket", "zh-CN": "工单"},
            "row_version": draft["row_version"],
        },
        headers=admin.headers,
    )
    assert added.status_code == 201, added.text
    return app_id, added.json()


async def save(client, admin, app_id, draft, fields, **form_changes):
    definition = draft["definition"]
    form = {**definition["forms"][0], "fields": fields, **form_changes}
    response = await client.put(
        f"/api/v1/apps/{app_id}/draft",
        json={"row_version": draft["row_version"], "definition": {**definition, "forms": [form]}},
        headers=admin.headers,
    )
    return response


async def save_invented_form(client, admin, app_id, draft):
    """A draft with a form that was not added through POST /forms (no stable id)."""
    return await client.put(
        f"/api/v1/apps/{app_id}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {"forms": [{"id": 999, "key": "ghost", "label": {"en": "Ghost"}}]},
        },
        headers=admin.headers,
    )


async def publish(client, admin, app_id, purge=()):
    draft = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    return await client.post(
        f"/api/v1/apps/{app_id}/publish",
        json={"row_version": draft["row_version"], "purge": list(purge)},
        headers=admin.headers,
    )


async def columns_of(sessions, table):
    async with sessions() as db:
        conn = await db.connection()
        return await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns(table)})


async def insert_row(sessions, form_json, values):
    metadata = MetaData()
    for name in ("users", "departments"):
        platform_metadata.tables[name].to_metadata(metadata)
    table = build_table(FormSchema.model_validate(form_json), metadata)
    now = datetime.now(UTC)
    async with sessions() as db:
        result = await db.execute(
            insert(table).values(**values, created_at=now, updated_at=now).returning(table.c.id)
        )
        await db.commit()
        return result.scalar_one()


async def read_column(sessions, table, column):
    async with sessions() as db:
        conn = await db.connection()
        rows = await conn.exec_driver_sql(f"SELECT id, {column} FROM {table} ORDER BY id")
        return rows.all()


async def test_publish_creates_the_table_then_evolves_it_safely(
    client, admin, sessions, app_with_form
):
    app_id, draft = app_with_form
    form_id = draft["definition"]["forms"][0]["id"]
    table = f"t_{form_id}"
    saved = await save(
        client,
        admin,
        app_id,
        draft,
        [
            text_field(1, "subject", required=True),
            text_field(2, "note"),
            {"id": 3, "key": "code", "type": "text", "label": {"en": "Code"}},
        ],
    )
    assert saved.status_code == 200, saved.text
    plan = (await client.get(f"/api/v1/apps/{app_id}/draft/plan", headers=admin.headers)).json()
    assert [op["op"] for op in plan["operations"]] == ["create_table"]
    first = await publish(client, admin, app_id)
    assert first.status_code == 200, first.text
    assert first.json()["version"]["number"] == 1
    assert {"f_1", "f_2", "f_3", "id", "row_version", "deleted_at"} <= await columns_of(
        sessions, table
    )

    applied = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    form_json = applied["definition"]["forms"][0]
    await insert_row(
        sessions, form_json, {"f_1": "打印机坏了", "f_2": "kept note", "f_3": "A" * 30}
    )
    await insert_row(sessions, form_json, {"f_1": "second", "f_3": "short"})

    # Rename a key, drop a field, shrink a column below existing data, add a field.
    saved = await save(
        client,
        admin,
        app_id,
        applied,
        [
            text_field(1, "title", required=True),
            {
                "id": 3,
                "key": "code",
                "type": "text",
                "label": {"en": "Code"},
                "options": {"max_length": 10},
            },
            {
                "id": 4,
                "key": "priority",
                "type": "select",
                "label": {"en": "Priority"},
                "options": {"options": [{"value": "high"}, {"value": "low"}]},
            },
        ],
    )
    assert saved.status_code == 200, saved.text
    assert [f["id"] for f in saved.json()["definition"]["forms"][0]["archived"]] == [2]
    plan = (await client.get(f"/api/v1/apps/{app_id}/draft/plan", headers=admin.headers)).json()
    assert {op["op"] for op in plan["operations"]} >= {
        "rename_field",
        "archive_field",
        "retype_column",
        "add_column",
        "add_index",
    }
    blocker = plan["blockers"][0]
    assert blocker["code"] == "retype_fails" and blocker["field"] == "code"
    assert blocker["count"] == 1 and blocker["examples"][0]["code"] == "too_long"

    blocked = await publish(client, admin, app_id)
    assert blocked.status_code == 422 and blocked.json()["code"] == "publish_blocked"
    assert blocked.json()["blockers"][0]["rows"] == [1]
    assert "f_4" not in await columns_of(sessions, table)  # nothing half-applied

    fixed = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    fields = fixed["definition"]["forms"][0]["fields"]
    fields[1]["options"]["max_length"] = 40
    saved = await save(client, admin, app_id, fixed, fields)
    second = await publish(client, admin, app_id)
    assert second.status_code == 200, second.text
    assert second.json()["version"]["number"] == 2
    cols = await columns_of(sessions, table)
    assert {"f_1", "f_2", "f_3", "f_4"} <= cols  # f_2 archived, data kept
    assert await read_column(sessions, table, "f_2") == [(1, "kept note"), (2, None)]
    assert await read_column(sessions, table, "f_1") == [(1, "打印机坏了"), (2, "second")]

    # Roll back to version 1: priority (added later) is archived, nothing is dropped.
    back = await client.post(f"/api/v1/apps/{app_id}/versions/1/rollback", headers=admin.headers)
    assert back.status_code == 200, back.text
    assert back.json()["version"]["number"] == 3
    restored = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    form = restored["definition"]["forms"][0]
    assert [f["key"] for f in form["fields"]] == ["subject", "note", "code"]
    assert [f["key"] for f in form["archived"]] == ["priority"]
    assert "f_4" in await columns_of(sessions, table)
    assert await read_column(sessions, table, "f_2") == [(1, "kept note"), (2, None)]

    # Purge the archived field: only now is its column dropped.
    purged = await publish(client, admin, app_id, purge=[{"form_id": form_id, "field_id": 4}])
    assert purged.status_code == 200, purged.text
    assert [op["op"] for op in purged.json()["operations"]] == ["purge_column"]
    assert "f_4" not in await columns_of(sessions, table)
    versions = await client.get(f"/api/v1/apps/{app_id}/versions", headers=admin.headers)
    assert [(v["number"], v["status"]) for v in versions.json()] == [
        (4, "published"),
        (3, "archived"),
        (2, "archived"),
        (1, "archived"),
    ]


async def test_invalid_definitions_report_every_problem(client, admin, app_with_form):
    app_id, draft = app_with_form
    saved = await save(
        client,
        admin,
        app_id,
        draft,
        [
            text_field(1, "a", linkage={"visible": {"==": [{"var": "missing"}, 1]}}),
            {
                "id": 2,
                "key": "b",
                "type": "integer",
                "label": {"en": "B"},
                "linkage": {"value": {"+": [{"var": "c"}, 1]}},
            },
            {
                "id": 3,
                "key": "c",
                "type": "integer",
                "label": {"en": "C"},
                "linkage": {"value": {"+": [{"var": "b"}, 1]}},
            },
            {"id": 4, "key": "d", "type": "wormhole", "label": {"en": "D"}},
            {
                "id": 5,
                "key": "e",
                "type": "text",
                "label": {"en": "E"},
                "options": {"max_length": -1},
            },
            text_field(6, "f", linkage={"required": {"nope": [1]}}),
        ],
    )
    assert saved.status_code == 200  # drafts may be incomplete
    report = (
        await client.post(f"/api/v1/apps/{app_id}/draft/validate", headers=admin.headers)
    ).json()
    codes = {(p["path"], p["code"]) for p in report["problems"]}
    assert report["ok"] is False
    assert ("forms[0].fields[0].linkage.visible", "unknown_field") in codes
    assert ("forms[0].fields[3].type", "unknown_type") in codes
    assert ("forms[0].fields[4].options.max_length", "bad_options") in codes
    assert ("forms[0].fields", "formula_cycle") in codes
    assert any(
        path.startswith("forms[0].fields[5].linkage.required") and code == "logic.unknown_operator"
        for path, code in codes
    )
    refused = await publish(client, admin, app_id)
    assert refused.status_code == 422 and refused.json()["code"] == "definition_invalid"
    assert len(refused.json()["errors"]) == len(report["problems"])


async def test_structural_errors_and_conflicts(client, admin, app_with_form, user):
    app_id, draft = app_with_form
    bad = await save(
        client,
        admin,
        app_id,
        draft,
        [
            text_field(1, "a"),
            text_field(1, "b"),
            text_field(2, "Not A Key"),
        ],
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert "definition.forms[0].fields[2].key" in fields
    stale = await save(
        client,
        admin,
        app_id,
        {**draft, "row_version": draft["row_version"] - 1},
        [text_field(1, "a")],
    )
    assert stale.status_code == 409 and stale.json()["current_row_version"] == draft["row_version"]
    invented = await save_invented_form(client, admin, app_id, draft)
    assert invented.status_code == 422
    assert invented.json()["errors"][0]["code"] == "unknown_form"
    denied = await client.get(f"/api/v1/apps/{app_id}/draft", headers=user.headers)
    assert denied.status_code == 403
    duplicate = await client.post(
        "/api/v1/apps", json={"key": "helpdesk", "name": {"en": "X"}}, headers=admin.headers
    )
    assert duplicate.status_code == 422


async def test_unique_constraint_is_checked_against_existing_rows(
    client, admin, sessions, app_with_form
):
    app_id, draft = app_with_form
    await save(client, admin, app_id, draft, [text_field(1, "email")])
    assert (await publish(client, admin, app_id)).status_code == 200
    current = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    form_json = current["definition"]["forms"][0]
    for _ in range(2):
        await insert_row(sessions, form_json, {"f_1": "same@example.com"})
    await save(client, admin, app_id, current, [text_field(1, "email", unique=True)])
    blocked = await publish(client, admin, app_id)
    assert blocked.status_code == 422
    assert blocked.json()["blockers"][0]["code"] == "not_unique"
    assert blocked.json()["blockers"][0]["rows"] == [1, 2]
