"""The records API over a published ticket form — on both databases."""

from __future__ import annotations

import asyncio
import json

import pytest


def ticket(**values):
    return {"values": {"subject": "打印机坏了", "category": "repair", **values}}


async def create(client, url, headers, **values):
    response = await client.post(url, json=ticket(**values), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_read_and_system_fields(client, admin, tickets):
    record = await create(
        client,
        tickets,
        admin.headers,
        amount="12.5",
        tags=["urgent", "vip"],
        contact_phone="138 1234 5678",
        due_at="2026-11-23T18:00:00+08:00",
    )
    assert record["row_version"] == 1 and record["created_by"] == admin.id
    assert record["owner_id"] == admin.id and record["deleted_at"] is None
    values = record["values"]
    assert values["amount"] == "12.50" and values["tags"] == ["vip", "urgent"]
    assert values["vip"] is True and values["quantity"] == 1
    assert values["contact_phone"] == "+8613812345678"
    assert values["due_at"] == "2026-11-23T10:00:00.000Z"
    fetched = await client.get(f"{tickets}/{record['id']}", headers=admin.headers)
    assert fetched.json() == record


async def test_bad_input_is_per_field_localised_and_writes_nothing(client, admin, tickets):
    response = await client.post(
        tickets,
        json={
            "values": {
                "subject": "",
                "category": "nope",
                "contact_email": "x",
                "assignee": 999999,
                "bogus": 1,
            }
        },
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed" and body["title"] == "请求内容无效。"
    errors = {e["field"]: e for e in body["errors"]}
    assert set(errors) == {"subject", "category", "contact_email", "bogus"}
    assert errors["category"]["message"] == "请从列表中选择。"
    refs = await client.post(
        tickets, json=ticket(assignee=999999, team=12345), headers=admin.headers
    )
    assert {e["field"]: e["code"] for e in refs.json()["errors"]} == {
        "assignee": "unknown_reference",
        "team": "unknown_reference",
    }
    listed = await client.get(tickets, headers=admin.headers, params={"total": "true"})
    assert listed.json()["total"] == 0


async def test_linkage_is_enforced_on_the_server(client, admin, tickets):
    missing = await client.post(
        tickets, json=ticket(category="return", amount=10), headers=admin.headers
    )
    assert [e["field"] for e in missing.json()["errors"]] == ["return_reason"]
    hidden = await create(client, tickets, admin.headers, return_reason="not shown")
    assert hidden["values"]["return_reason"] is None
    rule = await client.post(
        tickets,
        json=ticket(category="return", return_reason="x", amount=6000),
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert rule.json()["errors"] == [
        {"field": "amount", "code": "rule_failed", "message": "超过 5000 的退货需要经理处理。"}
    ]


async def test_patch_with_row_version_and_history(client, admin, user, tickets):
    record = await create(client, tickets, admin.headers)
    url = f"{tickets}/{record['id']}"
    patched = await client.patch(
        url, json={"row_version": 1, "values": {"subject": "已修复"}}, headers=user.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["row_version"] == 2 and patched.json()["updated_by"] == user.id
    stale = await client.patch(
        url, json={"row_version": 1, "values": {"subject": "lost"}}, headers=admin.headers
    )
    assert stale.status_code == 409 and stale.json()["current_row_version"] == 2
    timeline = (await client.get(f"{url}/timeline", headers=admin.headers)).json()
    assert [e["action"] for e in timeline] == ["create", "update"]
    assert timeline[1]["changes"] == {"subject": ["打印机坏了", "已修复"]}
    assert timeline[1]["actor_id"] == user.id


async def test_concurrent_patches_one_wins(client, admin, tickets):
    record = await create(client, tickets, admin.headers)
    url = f"{tickets}/{record['id']}"
    responses = await asyncio.gather(
        *[
            client.patch(
                url, json={"row_version": 1, "values": {"subject": f"s{i}"}}, headers=admin.headers
            )
            for i in range(4)
        ]
    )
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409]


async def test_soft_delete_restore_and_unique(client, admin, tickets):
    first = await create(client, tickets, admin.headers, contact_email="a@example.com")
    dup = await client.post(
        tickets, json=ticket(contact_email="a@example.com"), headers=admin.headers
    )
    assert dup.status_code == 422 and dup.json()["errors"][0]["code"] == "not_unique"
    url = f"{tickets}/{first['id']}"
    deleted = await client.delete(url, headers=admin.headers)
    assert deleted.status_code == 200 and deleted.json()["deleted_at"]
    assert (await client.get(tickets, headers=admin.headers)).json()["items"] == []
    trash = await client.get(tickets, params={"deleted": "true"}, headers=admin.headers)
    assert [r["id"] for r in trash.json()["items"]] == [first["id"]]
    second = await create(client, tickets, admin.headers, contact_email="a@example.com")
    blocked = await client.post(f"{url}/restore", headers=admin.headers)
    assert blocked.status_code == 422 and blocked.json()["errors"][0]["code"] == "not_unique"
    await client.delete(f"{tickets}/{second['id']}", headers=admin.headers)
    restored = await client.post(f"{url}/restore", headers=admin.headers)
    assert restored.status_code == 200 and restored.json()["deleted_at"] is None
    actions = [
        e["action"] for e in (await client.get(f"{url}/timeline", headers=admin.headers)).json()
    ]
    assert actions == ["create", "delete", "restore"]


async def test_bulk_is_all_or_nothing(client, admin, tickets):
    good = [ticket(subject=f"t{i}")["values"] for i in range(5)]
    bad = [*good, {"subject": "x", "category": "nope"}, {"category": "repair"}]
    refused = await client.post(f"{tickets}/bulk", json={"create": bad}, headers=admin.headers)
    assert refused.status_code == 422
    assert {e["field"] for e in refused.json()["errors"]} == {"[5].category", "[6].subject"}
    assert (await client.get(tickets, params={"total": "true"}, headers=admin.headers)).json()[
        "total"
    ] == 0
    dupes = [ticket(contact_email="same@example.com")["values"]] * 2
    refused = await client.post(f"{tickets}/bulk", json={"create": dupes}, headers=admin.headers)
    assert refused.json()["errors"][0]["field"] == "[1].contact_email"
    done = await client.post(f"{tickets}/bulk", json={"create": good}, headers=admin.headers)
    assert done.status_code == 200 and len(done.json()["created"]) == 5
    items = [
        {"id": r["id"], "row_version": 1, "values": {"quantity": 3}} for r in done.json()["created"]
    ]
    items[-1]["row_version"] = 7
    conflict = await client.post(f"{tickets}/bulk", json={"update": items}, headers=admin.headers)
    assert conflict.status_code == 409
    page = (await client.get(tickets, headers=admin.headers)).json()
    assert {r["values"]["quantity"] for r in page["items"]} == {1}
    items[-1]["row_version"] = 1
    updated = await client.post(f"{tickets}/bulk", json={"update": items}, headers=admin.headers)
    assert updated.status_code == 200
    assert {r["values"]["quantity"] for r in updated.json()["updated"]} == {3}


async def test_list_filter_sort_fields_and_keyset_paging(client, admin, tickets):
    for i in range(12):
        await create(
            client,
            tickets,
            admin.headers,
            subject=f"ticket {i:02d}",
            amount=str(i * 10),
            category="repair" if i % 3 else "consult",
            order_date=None if i % 4 == 0 else f"2026-11-{i + 1:02d}",
        )
    rule = {"and": [{"==": [{"var": "category"}, "repair"]}, {">=": [{"var": "amount"}, 30]}]}
    seen, cursor = [], None
    while True:
        params = {
            "filter": json.dumps(rule),
            "sort": "-order_date,subject",
            "limit": 3,
            "fields": "subject,order_date",
            "total": "true",
        }
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(tickets, params=params, headers=admin.headers)).json()
        assert page["total"] == 6
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(seen[0]["values"]) == {"subject", "order_date"}
    dates = [r["values"]["order_date"] for r in seen]
    non_null = [d for d in dates if d is not None]
    assert non_null == sorted(non_null, reverse=True)
    assert dates == sorted(non_null, reverse=True) + [None] * (len(dates) - len(non_null))
    assert len({r["id"] for r in seen}) == 6
    body = await client.post(
        f"{tickets}/query", json={"filter": rule, "limit": 100}, headers=admin.headers
    )
    assert len(body.json()["items"]) == 6


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"filter": "{not json"}, "filter"),
        ({"filter": json.dumps({"==": [{"var": "nope"}, 1]})}, "filter"),
        ({"sort": "description"}, "sort"),
        ({"sort": "wat"}, "sort"),
        ({"fields": "subject,ghost"}, "fields"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
async def test_bad_list_parameters(client, admin, tickets, params, field):
    response = await client.get(tickets, params=params, headers=admin.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].startswith(field)


async def test_comments_mentions_and_timeline(client, admin, user, tickets):
    record = await create(client, tickets, admin.headers)
    url = f"{tickets}/{record['id']}"
    upload = await client.post(
        "/api/v1/files", files={"file": ("log.txt", b"log", "text/plain")}, headers=user.headers
    )
    comment = await client.post(
        f"{url}/comments",
        json={
            "body": "@admin 请看一下 (cc @nobody)",
            "internal": True,
            "attachments": [upload.json()["id"]],
        },
        headers=user.headers,
    )
    assert comment.status_code == 201, comment.text
    assert comment.json()["mentions"] == [admin.id]
    # Someone else's file cannot be attached, unless the record holds it already (then
    # whoever reads the record can read it anyway).
    other = await client.post(
        "/api/v1/files", files={"file": ("other.txt", b"other", "text/plain")}, headers=user.headers
    )
    foreign = await client.post(
        f"{url}/comments",
        json={"body": "x", "attachments": [other.json()["id"]]},
        headers=admin.headers,
    )
    assert foreign.status_code == 422
    held = await client.post(
        f"{url}/comments",
        json={"body": "y", "attachments": [upload.json()["id"]]},
        headers=admin.headers,
    )
    assert held.status_code == 201, held.text
    entries = (await client.get(f"{url}/timeline", headers=admin.headers)).json()
    assert [e["kind"] for e in entries] == ["history", "comment", "comment"]


async def test_unknown_app_or_form_is_404(client, admin, tickets):
    assert (
        await client.get("/api/v1/records/nope/ticket", headers=admin.headers)
    ).status_code == 404
    assert (
        await client.get("/api/v1/records/helpdesk/nope", headers=admin.headers)
    ).status_code == 404
    assert (await client.get(f"{tickets}/99999", headers=admin.headers)).status_code == 404


ORDER = {
    "key": "order",
    "label": {"en": "Order", "zh-CN": "订单"},
    "fields": [
        {
            "id": 1,
            "key": "number",
            "type": "autonumber",
            "label": {"en": "No."},
            "options": {"pattern": "SO-{yyyyMMdd}-{seq:4}"},
        },
        {"id": 2, "key": "qty", "type": "integer", "label": {"en": "Qty"}, "required": True},
        {"id": 3, "key": "price", "type": "decimal", "label": {"en": "Price"}},
        {
            "id": 4,
            "key": "total",
            "type": "formula",
            "label": {"en": "Total"},
            "options": {"expression": {"*": [{"var": "qty"}, {"var": "price"}]}},
        },
    ],
}


@pytest.fixture
async def orders(client, admin):
    from tests.runtime.records.conftest import publish_form

    return await publish_form(client, admin, "shop", ORDER)


async def test_auto_numbers_are_unique_and_gap_free_under_concurrency(client, admin, orders):
    responses = await asyncio.gather(
        *[
            client.post(
                orders, json={"values": {"qty": i + 1, "price": "2"}}, headers=admin.headers
            )
            for i in range(12)
        ]
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    numbers = sorted(r.json()["values"]["number"] for r in responses)
    prefix = numbers[0][:-4]
    assert numbers == [f"{prefix}{n:04d}" for n in range(1, 13)]
    bad = await client.post(orders, json={"values": {"qty": "x"}}, headers=admin.headers)
    assert bad.status_code == 422
    bulk = await client.post(
        f"{orders}/bulk", json={"create": [{"qty": 1}, {"qty": 2}]}, headers=admin.headers
    )
    assert [r["values"]["number"] for r in bulk.json()["created"]] == [
        f"{prefix}0013",
        f"{prefix}0014",
    ]


async def test_rolled_back_numbers_are_given_again(client, admin, orders, sessions):
    from runtime.records.forms import resolve
    from runtime.records.writer import RecordWriter

    async with sessions() as db:
        handle = await resolve(db, "shop", "order")
        record = await RecordWriter(db, handle, None).create({"qty": 1})
        await db.rollback()
    again = await client.post(
        orders, json={"values": {"qty": 2, "price": "1.5"}}, headers=admin.headers
    )
    assert again.json()["values"]["number"] == record["values"]["number"]
    assert again.json()["values"]["total"] == "3.00"
    patched = await client.patch(
        f"{orders}/{again.json()['id']}",
        json={"row_version": 1, "values": {"qty": 4}},
        headers=admin.headers,
    )
    assert patched.json()["values"]["total"] == "6.00"
    refused = await client.patch(
        f"{orders}/{again.json()['id']}",
        json={"row_version": 2, "values": {"number": "SO-X"}},
        headers=admin.headers,
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "read_only"


RETURN = {
    "key": "return_request",
    "label": {"en": "Return request", "zh-CN": "退货申请"},
    "fields": [
        {"id": 1, "key": "order_no", "type": "text", "label": {"en": "Order"}, "required": True},
        {
            "id": 2,
            "key": "lines",
            "type": "subtable",
            "label": {"en": "Lines", "zh-CN": "明细"},
            "options": {
                "min_rows": 1,
                "max_rows": 20,
                "fields": [
                    {
                        "id": 3,
                        "key": "sku",
                        "type": "text",
                        "label": {"en": "SKU"},
                        "required": True,
                    },
                    {
                        "id": 4,
                        "key": "qty",
                        "type": "integer",
                        "label": {"en": "Qty"},
                        "options": {"min": 1},
                    },
                    {"id": 5, "key": "price", "type": "decimal", "label": {"en": "Price"}},
                ],
            },
        },
        {
            "id": 6,
            "key": "amount",
            "type": "formula",
            "label": {"en": "Amount"},
            "options": {
                "expression": {
                    "reduce": [
                        {"var": "lines"},
                        {
                            "+": [
                                {"var": "accumulator"},
                                {"*": [{"var": "current.qty"}, {"var": "current.price"}]},
                            ]
                        },
                        0,
                    ]
                }
            },
        },
    ],
}


@pytest.fixture
async def returns(client, admin):
    from tests.runtime.records.conftest import publish_form

    return await publish_form(client, admin, "aftersales", RETURN)


async def test_sub_table_rows_are_validated_and_saved_with_the_parent(client, admin, returns):
    lines = [{"sku": "A-1", "qty": 2, "price": "9.90"}, {"sku": "B-2", "qty": 1, "price": "100"}]
    created = await client.post(
        returns, json={"values": {"order_no": "SO-1", "lines": lines}}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["values"]["lines"] == [
        {"sku": "A-1", "qty": 2, "price": "9.90"},
        {"sku": "B-2", "qty": 1, "price": "100.00"},
    ]
    assert record["values"]["amount"] == "119.80"
    url = f"{returns}/{record['id']}"
    assert (await client.get(url, headers=admin.headers)).json() == record

    bad = await client.post(
        returns,
        json={
            "values": {"order_no": "SO-2", "lines": [{"sku": "", "qty": 0}, {"sku": "x", "z": 1}]}
        },
        headers=admin.headers,
    )
    assert bad.status_code == 422
    assert {(e["field"], e["code"]) for e in bad.json()["errors"]} == {
        ("lines[0].sku", "required"),
        ("lines[0].qty", "too_small"),
        ("lines[1].z", "unknown_field"),
    }
    empty = await client.post(
        returns, json={"values": {"order_no": "SO-3", "lines": []}}, headers=admin.headers
    )
    assert empty.status_code == 422

    patched = await client.patch(
        url,
        json={"row_version": 1, "values": {"lines": [{"sku": "C-3", "qty": 3, "price": "1"}]}},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["values"]["lines"] == [{"sku": "C-3", "qty": 3, "price": "1.00"}]
    assert patched.json()["values"]["amount"] == "3.00"
    other = await client.patch(
        url, json={"row_version": 2, "values": {"order_no": "SO-1b"}}, headers=admin.headers
    )
    assert other.json()["values"]["lines"] == patched.json()["values"]["lines"]
    history = (await client.get(f"{url}/timeline", headers=admin.headers)).json()
    assert history[1]["changes"]["lines"][1] == [{"sku": "C-3", "qty": 3, "price": "1.00"}]
    page = (await client.get(returns, headers=admin.headers)).json()
    assert page["items"][0]["values"]["lines"][0]["sku"] == "C-3"


async def test_sub_table_columns_evolve_without_losing_rows(client, admin, returns, sessions):
    created = await client.post(
        returns,
        json={"values": {"order_no": "SO-9", "lines": [{"sku": "A", "qty": 1}]}},
        headers=admin.headers,
    )
    apps = (await client.get("/api/v1/apps", headers=admin.headers)).json()
    app_id = next(a["id"] for a in apps if a["key"] == "aftersales")
    draft = (await client.get(f"/api/v1/apps/{app_id}/draft", headers=admin.headers)).json()
    form = draft["definition"]["forms"][0]
    lines = form["fields"][1]
    lines["options"]["fields"] = [
        lines["options"]["fields"][0],  # sku kept; qty and price removed
        {"id": 7, "key": "reason", "type": "text", "label": {"en": "Reason"}},
    ]
    form["fields"][2]["options"]["expression"] = 0
    saved = await client.put(
        f"/api/v1/apps/{app_id}/draft",
        json={"row_version": draft["row_version"], "definition": draft["definition"]},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    archived = saved.json()["definition"]["forms"][0]["fields"][1]["options"]["archived"]
    assert [f["key"] for f in archived] == ["qty", "price"]
    published = await client.post(
        f"/api/v1/apps/{app_id}/publish",
        json={"row_version": saved.json()["row_version"]},
        headers=admin.headers,
    )
    assert published.status_code == 200, published.text
    assert [op["op"] for op in published.json()["operations"]] == ["add_child_column"]
    record = (await client.get(f"{returns}/{created.json()['id']}", headers=admin.headers)).json()
    assert record["values"]["lines"] == [{"sku": "A", "reason": None}]
    async with sessions() as db:
        conn = await db.connection()
        form_id = form["id"]
        rows = (await conn.exec_driver_sql(f"SELECT f_4 FROM t_{form_id}_2")).all()
    assert rows == [(1,)]  # the archived qty column kept its data


async def test_full_text_search_in_chinese_and_english(client, admin, tickets):
    first = await create(
        client,
        tickets,
        admin.headers,
        subject="申请退货流程",
        description="<p>The <b>printer</b> jams</p>",
    )
    await create(client, tickets, admin.headers, subject="发票问题", contact_email="li@example.com")
    await create(
        client,
        tickets,
        admin.headers,
        subject="Refund request",
        category="return",
        return_reason="尺码不对，想退货",
    )

    async def found(q, **params):
        page = await client.get(tickets, params={"q": q, **params}, headers=admin.headers)
        assert page.status_code == 200, page.text
        return sorted(r["values"]["subject"] for r in page.json()["items"])

    assert await found("退货") == ["Refund request", "申请退货流程"]
    assert await found("PRINTER") == ["申请退货流程"]
    assert await found("refund") == ["Refund request"]
    assert await found("退货 printer") == ["申请退货流程"]
    assert await found("li@example.com") == ["发票问题"]
    assert await found("快递") == []
    assert await found("退货", filter=json.dumps({"==": [{"var": "category"}, "return"]})) == [
        "Refund request"
    ]
    assert await found("!!!") == ["Refund request", "发票问题", "申请退货流程"]  # no words
    await client.patch(
        f"{tickets}/{first['id']}",
        json={"row_version": 1, "values": {"subject": "快递丢失"}},
        headers=admin.headers,
    )
    assert await found("快递") == ["快递丢失"]
    assert await found("退货") == ["Refund request"]
