"""Many-relations: links to several records of another form, lookups, filters, retypes,
import/export and bad input — on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text

from tests.runtime.records.conftest import publish_app
from tests.runtime.records.test_import_export import csv_bytes, start_import, upload


def customer_form(form_id: int) -> dict:
    return {
        "id": form_id,
        "key": "customer",
        "label": {"en": "Customer", "zh-CN": "客户"},
        "fields": [
            {"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}, "required": True},
            {
                "id": 2,
                "key": "level",
                "type": "select",
                "label": {"en": "Level"},
                "options": {"options": [{"value": "vip"}, {"value": "normal"}]},
            },
        ],
    }


def ticket_fields(customer_id: int, *, max_links: int = 5, retyped: str = "relation") -> list:
    return [
        {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
        {
            "id": 2,
            "key": "customers",
            "type": "multirelation",
            "label": {"en": "Customers", "zh-CN": "客户"},
            "options": {"form_id": customer_id, "max_links": max_links},
        },
        {
            "id": 3,
            "key": "names",
            "type": "lookup",
            "label": {"en": "Customer names"},
            "options": {"relation": "customers", "field": "name"},
        },
        {
            "id": 4,
            "key": "owner_customer",
            "type": retyped,
            "label": {"en": "Main customer"},
            "options": {"form_id": customer_id},
        },
    ]


def crm_forms(ids: dict[str, int], **kw) -> list[dict]:
    return [
        customer_form(ids["customer"]),
        {
            "id": ids["ticket"],
            "key": "ticket",
            "label": {"en": "Ticket", "zh-CN": "工单"},
            "fields": ticket_fields(ids["customer"], **kw),
        },
    ]


@pytest.fixture
async def crm(client, admin):
    return await publish_app(client, admin, "crm", ["customer", "ticket"], crm_forms)


async def make_customers(client, admin, crm, *names: str) -> list[int]:
    ids = []
    for name in names:
        created = await client.post(
            crm.url("customer"), json={"values": {"name": name}}, headers=admin.headers
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    return ids


async def table_names(sessions) -> set[str]:
    async with sessions() as db:
        conn = await db.connection()
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def link_count(sessions, crm) -> int:
    async with sessions() as db:
        name = f"t_{crm.ids['ticket']}_2"
        return (await db.execute(text(f'SELECT count(*) FROM "{name}"'))).scalar_one()


async def test_links_lookups_history_and_update(client, admin, crm):
    acme, globex, initech = await make_customers(client, admin, crm, "Acme", "Globex", "Initech")
    created = await client.post(
        crm.url("ticket"),
        json={"values": {"subject": "退货", "customers": [globex, acme]}},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["values"]["customers"] == [globex, acme]  # the order given
    assert record["values"]["names"] == ["Globex", "Acme"]

    url = f"{crm.url('ticket')}/{record['id']}"
    fetched = (await client.get(url, headers=admin.headers)).json()
    assert fetched["values"]["customers"] == [globex, acme]
    await client.patch(
        f"{crm.url('customer')}/{acme}",
        json={"row_version": 1, "values": {"name": "Acme Ltd"}},
        headers=admin.headers,
    )
    await client.delete(f"{crm.url('customer')}/{globex}", headers=admin.headers)
    fetched = (await client.get(url, headers=admin.headers)).json()
    assert fetched["values"]["customers"] == [globex, acme]  # the link stays
    assert fetched["values"]["names"] == ["Acme Ltd"]  # lookups show live records only

    updated = await client.patch(
        url,
        json={"row_version": 1, "values": {"customers": [initech, acme]}},
        headers=admin.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["values"]["customers"] == [initech, acme]
    assert updated.json()["values"]["names"] == ["Initech", "Acme Ltd"]
    cleared = await client.patch(
        url, json={"row_version": 2, "values": {"customers": []}}, headers=admin.headers
    )
    assert cleared.json()["values"]["customers"] is None
    assert cleared.json()["values"]["names"] is None

    timeline = (await client.get(f"{url}/timeline", headers=admin.headers)).json()
    assert [e["changes"].get("customers") for e in timeline] == [
        [None, [globex, acme]],
        [[globex, acme], [initech, acme]],
        [[initech, acme], None],
    ]


async def test_bulk_writes_links_for_every_record(client, admin, crm, sessions):
    a, b = await make_customers(client, admin, crm, "A", "B")
    bulk = await client.post(
        f"{crm.url('ticket')}/bulk",
        json={"create": [{"customers": [a]}, {"customers": [a, b]}, {"subject": "none"}]},
        headers=admin.headers,
    )
    assert bulk.status_code == 200, bulk.text
    assert [r["values"]["customers"] for r in bulk.json()["created"]] == [[a], [a, b], None]
    assert [r["values"]["names"] for r in bulk.json()["created"]] == [["A"], ["A", "B"], None]
    assert await link_count(sessions, crm) == 3


@pytest.mark.parametrize(
    ("value", "code", "field"),
    [
        ("x", "wrong_type", "customers"),
        ([1.5], "wrong_type", "customers[0]"),
        ([True], "wrong_type", "customers[0]"),
        ([[1]], "wrong_type", "customers[0]"),
        ([0], "too_small", "customers[0]"),
        ([1, 1], "duplicate_reference", "customers"),
        ([1, 2, 3, 4, 5, 6], "too_many_links", "customers"),
    ],
)
async def test_bad_values_are_refused_per_field(client, admin, crm, sessions, value, code, field):
    await make_customers(client, admin, crm, "A", "B")
    response = await client.post(
        crm.url("ticket"), json={"values": {"customers": value}}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)]
    assert await link_count(sessions, crm) == 0


async def test_unknown_and_deleted_records_are_named_and_nothing_is_written(
    client, admin, crm, sessions
):
    live, gone = await make_customers(client, admin, crm, "Live", "Gone")
    await client.delete(f"{crm.url('customer')}/{gone}", headers=admin.headers)
    response = await client.post(
        f"{crm.url('ticket')}/bulk",
        json={"create": [{"customers": [live]}, {"customers": [live, gone, 424242]}]},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "[1].customers[1]",
            "code": "unknown_reference",
            "message": f"引用的对象（id {gone}）不存在。",
        },
        {
            "field": "[1].customers[2]",
            "code": "unknown_reference",
            "message": "引用的对象（id 424242）不存在。",
        },
    ]
    assert await link_count(sessions, crm) == 0
    listed = await client.get(crm.url("ticket"), params={"total": "true"}, headers=admin.headers)
    assert listed.json()["total"] == 0


async def test_records_the_writer_cannot_see_are_unknown_and_lookups_hide_them(
    client, admin, user, crm
):
    await crm.own_records_only()
    [theirs] = await make_customers(client, admin, crm, "Admin's")
    [mine] = await make_customers(client, user, crm, "Alice's")
    refused = await client.post(
        crm.url("ticket"), json={"values": {"customers": [mine, theirs]}}, headers=user.headers
    )
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("customers[1]", "unknown_reference")
    ]
    made = await client.post(
        crm.url("ticket"), json={"values": {"customers": [mine]}}, headers=user.headers
    )
    assert made.status_code == 201, made.text
    url = f"{crm.url('ticket')}/{made.json()['id']}"
    linked = await client.patch(
        url,
        json={"row_version": 1, "values": {"customers": [mine, theirs]}},
        headers=admin.headers,
    )
    assert linked.json()["values"]["names"] == ["Alice's", "Admin's"]
    as_user = (await client.get(url, headers=user.headers)).json()
    assert as_user["values"]["customers"] == [mine, theirs]
    assert as_user["values"]["names"] == ["Alice's"]  # through the customer form's scope


async def test_list_filters_over_links(client, admin, crm):
    a, b, c = await make_customers(client, admin, crm, "A", "B", "C")
    values = [[a], [a, b], [c], None, [b, c]]
    made = []
    for links in values:
        response = await client.post(
            crm.url("ticket"), json={"values": {"customers": links}}, headers=admin.headers
        )
        made.append(response.json()["id"])

    async def ids(rule) -> list[int]:
        response = await client.post(
            f"{crm.url('ticket')}/query", json={"filter": rule}, headers=admin.headers
        )
        assert response.status_code == 200, response.text
        return [made.index(r["id"]) for r in response.json()["items"]]

    customers = {"var": "customers"}
    assert await ids({"in": [a, customers]}) == [0, 1]
    assert await ids({"!": {"in": [a, customers]}}) == [2, 3, 4]
    assert await ids({"some": [customers, {"in": [{"var": ""}, [b, c]]}]}) == [1, 2, 4]
    assert await ids({"none": [customers, {"==": [{"var": ""}, c]}]}) == [0, 1, 3]
    assert await ids({"all": [customers, {"!=": [{"var": ""}, a]}]}) == [2, 4]
    assert await ids({">": [{"length": customers}, 1]}) == [1, 4]
    assert await ids({"!": customers}) == [3]
    assert await ids({"and": [{"in": [b, customers]}, {"in": [c, customers]}]}) == [4]
    by_query = await client.get(
        crm.url("ticket"),
        params={"filter": json.dumps({"in": [c, customers]})},
        headers=admin.headers,
    )
    assert len(by_query.json()["items"]) == 2
    refused = await client.post(
        f"{crm.url('ticket')}/query",
        json={"filter": {"<": [customers, 3]}},
        headers=admin.headers,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["code"] == "logic.not_sql"
    unsortable = await client.get(
        crm.url("ticket"), params={"sort": "customers"}, headers=admin.headers
    )
    assert unsortable.status_code == 422


async def test_import_and_export_cells(client, admin, crm):
    a, b = await make_customers(client, admin, crm, "A", "B")
    content = csv_bytes([["subject", "customers"], ["one", f"{a}; {b}"], ["two", f"{b}，{a}"]])
    file_id = await upload(client, admin, content)
    report = await start_import(client, crm.url("ticket"), admin, file_id)
    assert report.status_code == 200, report.text
    assert report.json()["created"] == 2
    listed = (await client.get(crm.url("ticket"), headers=admin.headers)).json()["items"]
    assert [r["values"]["customers"] for r in listed] == [[a, b], [b, a]]

    exported = await client.get(
        f"{crm.url('ticket')}/export", params={"header": "key"}, headers=admin.headers
    )
    assert exported.status_code == 200
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:2] == ["subject", "customers"]
    assert lines[1].startswith(f'one,"{a}, {b}"')
    again = await upload(client, admin, exported.content, name="again.csv")
    reimport = await start_import(client, crm.url("ticket"), admin, again, dry_run=True)
    assert reimport.json()["ok"] is True, reimport.text

    bad = csv_bytes([["customers"], [f"{a}, x"], ["424242"]])
    report = await start_import(client, crm.url("ticket"), admin, await upload(client, admin, bad))
    assert report.status_code == 422
    assert [(e["row"], e["code"]) for e in report.json()["errors"]] == [
        (2, "invalid_integer"),
        (3, "unknown_reference"),
    ]


async def test_retype_relation_to_many_and_back(client, admin, crm, sessions):
    a, b = await make_customers(client, admin, crm, "A", "B")
    url = crm.url("ticket")
    for main in (a, None, b):
        created = await client.post(
            url, json={"values": {"owner_customer": main}}, headers=admin.headers
        )
        assert created.status_code == 201
    to_many = await crm.change(crm_forms(crm.ids, retyped="multirelation"))
    assert to_many.status_code == 200, to_many.text
    listed = (await client.get(url, headers=admin.headers)).json()["items"]
    assert [r["values"]["owner_customer"] for r in listed] == [[a], None, [b]]
    filtered = await client.post(
        f"{url}/query",
        json={"filter": {"in": [b, {"var": "owner_customer"}]}},
        headers=admin.headers,
    )
    assert [r["id"] for r in filtered.json()["items"]] == [listed[2]["id"]]

    crowded = listed[0]
    await client.patch(
        f"{url}/{crowded['id']}",
        json={"row_version": crowded["row_version"], "values": {"owner_customer": [a, b]}},
        headers=admin.headers,
    )
    back = await crm.change(crm_forms(crm.ids, retyped="relation"))
    assert back.status_code == 422 and back.json()["code"] == "publish_blocked"
    [blocker] = back.json()["blockers"]
    assert blocker["code"] == "retype_fails" and blocker["rows"] == [crowded["id"]]
    assert blocker["examples"] == [{"id": crowded["id"], "value": [a, b], "code": "too_many_links"}]
    await client.patch(
        f"{url}/{crowded['id']}",
        json={"row_version": crowded["row_version"] + 1, "values": {"owner_customer": [b]}},
        headers=admin.headers,
    )
    back = await crm.change(crm_forms(crm.ids, retyped="relation"))
    assert back.status_code == 200, back.text
    listed = (await client.get(url, headers=admin.headers)).json()["items"]
    assert [r["values"]["owner_customer"] for r in listed] == [b, None, b]
    filtered = await client.get(
        url,
        params={"filter": json.dumps({"==": [{"var": "owner_customer"}, b]})},
        headers=admin.headers,
    )
    assert len(filtered.json()["items"]) == 2
    assert f"t_{crm.ids['ticket']}_4" not in await table_names(sessions)


async def test_the_related_form_cannot_change(client, admin, crm):
    for index in (1, 3):  # the many-relation, the single one
        forms = crm_forms(crm.ids)
        forms[1]["fields"][index]["options"]["form_id"] = crm.ids["ticket"]
        if index == 1:
            del forms[1]["fields"][2]  # its lookup would name a field the tickets lack
        changed = await crm.change(forms)
        assert changed.status_code == 422, changed.text
        assert changed.json()["code"] == "plan_impossible"
        assert changed.json()["errors"][0]["code"] == "retarget_impossible"


async def test_archive_keeps_links_and_restore_brings_them_back(client, admin, crm, sessions):
    [a] = await make_customers(client, admin, crm, "A")
    made = await client.post(
        crm.url("ticket"), json={"values": {"customers": [a]}}, headers=admin.headers
    )
    ticket = made.json()["id"]
    forms = crm_forms(crm.ids)
    without = {**forms[1], "fields": [f for f in forms[1]["fields"] if f["id"] not in (2, 3)]}
    archived = await crm.change([forms[0], without])
    assert archived.status_code == 200, archived.text
    record = (await client.get(f"{crm.url('ticket')}/{ticket}", headers=admin.headers)).json()
    assert "customers" not in record["values"]
    assert await link_count(sessions, crm) == 1
    restored = await crm.change(crm_forms(crm.ids))
    assert restored.status_code == 200, restored.text
    record = (await client.get(f"{crm.url('ticket')}/{ticket}", headers=admin.headers)).json()
    assert record["values"]["customers"] == [a]
    assert record["values"]["names"] == ["A"]

    archived = await crm.change([forms[0], without])
    assert archived.status_code == 200, archived.text
    purged = await crm.publish(purge=[{"form_id": crm.ids["ticket"], "field_id": 2}])
    assert purged.status_code == 200, purged.text
    assert f"t_{crm.ids['ticket']}_2" not in await table_names(sessions)
