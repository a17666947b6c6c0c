"""Relations and lookups between two forms of one app — on both databases."""

from __future__ import annotations

import pytest


@pytest.fixture
async def crm(client, admin):
    """A published app with customers and tickets that refer to them."""
    app = (
        await client.post(
            "/api/v1/apps", json={"key": "crm", "name": {"en": "CRM"}}, headers=admin.headers
        )
    ).json()
    base = f"/api/v1/apps/{app['id']}"
    draft = (await client.get(f"{base}/draft", headers=admin.headers)).json()
    for key in ("customer", "ticket"):
        draft = (
            await client.post(
                f"{base}/forms",
                json={"key": key, "label": {"en": key}, "row_version": draft["row_version"]},
                headers=admin.headers,
            )
        ).json()
    customer_id, ticket_id = (f["id"] for f in draft["definition"]["forms"])
    forms = [
        {
            "id": customer_id,
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
        },
        {
            "id": ticket_id,
            "key": "ticket",
            "label": {"en": "Ticket", "zh-CN": "工单"},
            "fields": [
                {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
                {
                    "id": 2,
                    "key": "customer",
                    "type": "relation",
                    "label": {"en": "Customer"},
                    "options": {"form_id": customer_id},
                },
                {
                    "id": 3,
                    "key": "customer_name",
                    "type": "lookup",
                    "label": {"en": "Customer name"},
                    "options": {"relation": "customer", "field": "name"},
                },
                {
                    "id": 4,
                    "key": "customer_level",
                    "type": "lookup",
                    "label": {"en": "Level"},
                    "options": {"relation": "customer", "field": "level"},
                },
            ],
        },
    ]
    saved = await client.put(
        f"{base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "forms": forms},
        },
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await client.post(
        f"{base}/publish", json={"row_version": saved.json()["row_version"]}, headers=admin.headers
    )
    assert published.status_code == 200, published.text
    return "/api/v1/records/crm/customer", "/api/v1/records/crm/ticket", base


async def test_relation_and_lookups(client, admin, crm):
    customers, tickets, _ = crm
    acme = (
        await client.post(
            customers,
            json={"values": {"name": "Acme 有限公司", "level": "vip"}},
            headers=admin.headers,
        )
    ).json()
    created = await client.post(
        tickets, json={"values": {"subject": "退货", "customer": acme["id"]}}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    values = created.json()["values"]
    assert values == {
        "subject": "退货",
        "customer": acme["id"],
        "customer_name": "Acme 有限公司",
        "customer_level": "vip",
    }
    listed = (await client.get(tickets, headers=admin.headers)).json()["items"][0]["values"]
    assert listed["customer_name"] == "Acme 有限公司"
    await client.patch(
        f"{customers}/{acme['id']}",
        json={"row_version": 1, "values": {"name": "Acme Ltd"}},
        headers=admin.headers,
    )
    fetched = await client.get(f"{tickets}/{created.json()['id']}", headers=admin.headers)
    assert fetched.json()["values"]["customer_name"] == "Acme Ltd"  # always current
    by_customer = await client.get(
        tickets,
        params={"filter": f'{{"==": [{{"var": "customer"}}, {acme["id"]}]}}'},
        headers=admin.headers,
    )
    assert len(by_customer.json()["items"]) == 1


async def test_relation_to_missing_or_deleted_record_is_refused(client, admin, crm):
    customers, tickets, _ = crm
    gone = (
        await client.post(customers, json={"values": {"name": "Gone"}}, headers=admin.headers)
    ).json()
    await client.delete(f"{customers}/{gone['id']}", headers=admin.headers)
    for target in (gone["id"], 424242):
        response = await client.post(
            tickets, json={"values": {"customer": target}}, headers=admin.headers
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {
                "field": "customer",
                "code": "unknown_reference",
                "message": f"Nothing with id {target} exists to refer to.",
            }
        ]
    writable = await client.post(
        tickets, json={"values": {"customer_name": "x"}}, headers=admin.headers
    )
    assert writable.json()["errors"][0]["code"] == "read_only"


async def test_bad_relation_definitions_are_reported(client, admin, crm):
    _, _, base = crm
    draft = (await client.get(f"{base}/draft", headers=admin.headers)).json()
    ticket = draft["definition"]["forms"][1]
    ticket["fields"][1]["options"]["form_id"] = 99999
    ticket["fields"][2]["options"]["field"] = "nope"
    ticket["fields"][3]["options"]["relation"] = "subject"
    await client.put(
        f"{base}/draft",
        json={"row_version": draft["row_version"], "definition": draft["definition"]},
        headers=admin.headers,
    )
    report = (await client.post(f"{base}/draft/validate", headers=admin.headers)).json()
    codes = {(p["path"], p["code"]) for p in report["problems"]}
    assert codes == {
        ("forms[1].fields[1].options.form_id", "unknown_form"),
        ("forms[1].fields[3].options.relation", "not_a_relation"),
    }
