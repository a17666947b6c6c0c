"""The generated form page: every field type, create, edit with optimistic locking, inline
errors, field rights, picker search through the read scope, CSRF — on both databases."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.records.conftest import EVERYONE, publish_app
from tests.runtime.web.pages import field_errors, hidden, sign_in

CUSTOMER = [
    {"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}, "required": True},
    {"id": 2, "key": "region", "type": "text", "label": {"en": "Region"}},
]


def order_fields(customer_id: int) -> list[dict]:
    """A field of every type (the sub-table's cells too)."""
    options = [
        {"value": "open", "label": {"en": "Open", "zh-CN": "打开"}, "color": "#1f77b4"},
        {"value": "closed", "label": {"en": "Closed"}, "color": "#d62728"},
    ]
    return [
        {
            "id": 1,
            "key": "title",
            "type": "text",
            "label": {"en": "Title"},
            "required": True,
            "options": {"max_length": 100},
            "help": {"en": "A short name"},
        },
        {"id": 2, "key": "notes", "type": "textarea", "label": {"en": "Notes"}},
        {"id": 3, "key": "body", "type": "richtext", "label": {"en": "Body"}},
        {
            "id": 4,
            "key": "qty",
            "type": "integer",
            "label": {"en": "Quantity"},
            "options": {"min": 1, "max": 99},
        },
        {
            "id": 5,
            "key": "price",
            "type": "decimal",
            "label": {"en": "Price"},
            "options": {"scale": 2},
        },
        {
            "id": 6,
            "key": "total",
            "type": "currency",
            "label": {"en": "Total"},
            "options": {"currency": "CNY"},
        },
        {"id": 7, "key": "rate", "type": "percent", "label": {"en": "Rate"}},
        {"id": 8, "key": "due", "type": "date", "label": {"en": "Due"}},
        {"id": 9, "key": "at", "type": "datetime", "label": {"en": "At"}},
        {"id": 10, "key": "done", "type": "boolean", "label": {"en": "Done"}},
        {
            "id": 11,
            "key": "status",
            "type": "select",
            "label": {"en": "Status"},
            "options": {"options": options},
        },
        {
            "id": 12,
            "key": "labels",
            "type": "multiselect",
            "label": {"en": "Labels"},
            "options": {"options": [{"value": "a", "color": "#2ca02c"}, {"value": "b"}]},
        },
        {"id": 13, "key": "handler", "type": "user", "label": {"en": "Handler"}},
        {"id": 14, "key": "team", "type": "department", "label": {"en": "Team"}},
        {"id": 15, "key": "email", "type": "email", "label": {"en": "E-mail"}},
        {"id": 16, "key": "phone", "type": "phone", "label": {"en": "Phone"}},
        {"id": 17, "key": "site", "type": "url", "label": {"en": "Site"}},
        {
            "id": 18,
            "key": "number",
            "type": "autonumber",
            "label": {"en": "Number"},
            "options": {"pattern": "O-{seq:4}"},
        },
        {
            "id": 19,
            "key": "double",
            "type": "formula",
            "label": {"en": "Double"},
            "options": {"expression": {"*": [{"var": "qty"}, 2]}, "scale": 0},
        },
        {
            "id": 20,
            "key": "customer",
            "type": "relation",
            "label": {"en": "Customer"},
            "options": {"form_id": customer_id},
        },
        {
            "id": 21,
            "key": "others",
            "type": "multirelation",
            "label": {"en": "Others"},
            "options": {"form_id": customer_id},
        },
        {
            "id": 22,
            "key": "files",
            "type": "attachments",
            "label": {"en": "Files"},
            "options": {"max_files": 3},
        },
        {
            "id": 23,
            "key": "items",
            "type": "subtable",
            "label": {"en": "Items"},
            "options": {
                "fields": [
                    {
                        "id": 1,
                        "key": "product",
                        "type": "text",
                        "label": {"en": "Product"},
                        "required": True,
                    },
                    {
                        "id": 2,
                        "key": "amount",
                        "type": "integer",
                        "label": {"en": "Amount"},
                        "options": {"min": 0},
                    },
                ]
            },
        },
        {
            "id": 24,
            "key": "customer_name",
            "type": "lookup",
            "label": {"en": "Customer name"},
            "options": {"relation": "customer", "field": "name"},
        },
        {
            "id": 25,
            "key": "reason",
            "type": "textarea",
            "label": {"en": "Reason"},
            "linkage": {
                "visible": {"==": [{"var": "status"}, "closed"]},
                "required": {"==": [{"var": "status"}, "closed"]},
            },
        },
    ]


def build(ids: dict[str, int]) -> list[dict]:
    return [
        {
            "id": ids["customer"],
            "key": "customer",
            "label": {"en": "Customer"},
            "fields": CUSTOMER,
            "title_field": "name",
        },
        {
            "id": ids["order"],
            "key": "order",
            "label": {"en": "Order", "zh-CN": "订单"},
            "fields": order_fields(ids["customer"]),
            "sections": [
                {
                    "id": "main",
                    "title": {"en": "Main"},
                    "columns": 2,
                    "fields": ["title", "qty", "price", "status", "reason"],
                }
            ],
            "rules": [
                {
                    "id": "cap",
                    "field": "qty",
                    "condition": {"<=": [{"var": "qty"}, 50]},
                    "message": {"en": "At most 50 at once.", "zh-CN": "一次最多 50。"},
                }
            ],
        },
    ]


@pytest.fixture
async def shop(client, admin):
    return await publish_app(client, admin, "shop", ["customer", "order"], build)


async def signed_in(client, user) -> str:
    return await sign_in(client, user.username, USER_PASSWORD)


def form_of(html: str) -> str:
    match = re.search(r"<form method=\"post\".*?</form>", html, re.S)
    assert match, "no form"
    return match[0]


def base_data(csrf: str, **values) -> dict:
    data = {"csrf_token": csrf, "_fields": list(values)}
    data.update(values)
    return data


async def test_every_field_type_gets_its_control(client, admin, user, shop):
    await signed_in(client, user)
    page = await client.get("/apps/shop/forms/order/new")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'name="title" type="text"' in html and 'maxlength="100"' in html
    assert 'for="f-title"' in html and 'aria-describedby="f-title-help"' in html
    assert '<textarea id="f-notes" name="notes"' in html
    assert 'name="body" rows="6" data-richtext' in html
    assert 'name="qty" type="number" step="1"' in html and 'min="1" max="99"' in html
    assert 'name="price" type="text" inputmode="decimal"' in html
    assert ">CNY<" in html and ">%<" in html  # currency and percent affixes
    assert 'name="due" type="date"' in html and 'name="at" type="datetime-local"' in html
    assert 'name="done" type="checkbox" value="true"' in html
    assert 'type="radio" id="f-status-1" name="status" value="open"' in html
    assert "background-color: #1f77b4" in html  # choice colours
    assert 'type="checkbox" name="labels" value="a"' in html
    assert 'id="f-handler" name="handler" data-picker' in html
    assert 'data-source="/apps/shop/forms/order/fields/customer/options"' in html
    assert 'name="others" multiple size="5" data-picker' in html
    assert 'name="email" type="email"' in html and 'name="phone" type="tel"' in html
    assert 'name="site" type="url"' in html
    assert "Assigned when saved" in html and "Calculated when saved" in html
    assert 'type="file" name="files" multiple data-upload="files"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "<template data-row-template>" in html and 'name="items[__i__].product"' in html
    assert 'name="_add_row" value="items"' in html
    # sections and their columns; the linkage-hidden field is rendered hidden
    assert (
        'class="form-grid form-grid--2"' in html
        and '<legend class="form-section__title">Main' in html
    )
    assert re.search(r'data-field="reason" data-widget="textarea"[^>]*hidden', html)
    assert '<span class="required" aria-hidden="true" data-required-mark>*</span>' in html
    block = re.search(r'<script type="application/json" data-form-rules>(.*?)</script>', html, re.S)
    rules = json.loads(block[1])
    assert rules["fields"]["reason"]["visible"] == {"==": [{"var": "status"}, "closed"]}
    assert rules["rules"][0]["field"] == "qty" and rules["context"]["user"]["id"] == user.id
    assert "<script>" not in html and " onclick=" not in html


async def test_create_redirects_to_the_record_page(client, admin, user, shop):
    customer = await client.post(
        shop.url("customer"), json={"values": {"name": "ACME"}}, headers=admin.headers
    )
    csrf = await signed_in(client, user)
    data = base_data(
        csrf,
        title="First",
        qty="3",
        price="1,234.50",
        total="9.99",
        rate="12.5",
        due="2026-05-01",
        at="2026-05-01T09:30",
        done="true",
        status="open",
        labels=["a", "b"],
        handler=str(user.id),
        email="A@Example.COM",
        customer=str(customer.json()["id"]),
        others=[str(customer.json()["id"])],
        body="<p>Hi<script>alert(1)</script></p>",
    )
    data["_fields"] += ["items"]
    data.update({"items[0].product": "Bolt", "items[0].amount": "4", "items[1].product": ""})
    answer = await client.post("/apps/shop/forms/order/new", data=data)
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/apps/shop/forms/order/records/\d+", location)
    record = (
        await client.get(
            shop.url("order") + "/" + location.rsplit("/", 1)[1], headers=admin.headers
        )
    ).json()
    values = record["values"]
    assert values["title"] == "First" and values["qty"] == 3 and values["price"] == "1234.50"
    assert values["rate"] == "12.50" and values["done"] is True and values["labels"] == ["a", "b"]
    assert values["at"] == "2026-05-01T09:30:00.000Z"  # the organisation's zone is UTC
    assert values["items"] == [{"product": "Bolt", "amount": 4}]
    assert values["number"] == "O-0001" and values["double"] == "6"
    assert values["customer_name"] == "ACME" and values["body"] == "<p>Hi</p>"
    assert values["email"] == "A@example.com"
    # the edit page shows the stored values, computed ones as values
    edit = await client.get(location + "/edit")
    assert edit.status_code == 200
    html = edit.text
    assert 'value="First"' in html and 'value="2026-05-01T09:30"' in html
    assert hidden(html, "row_version") == "1"
    assert 'name="items[0].product" type="text" value="Bolt"' in html
    assert f'<option value="{customer.json()["id"]}" selected>ACME</option>' in html
    assert "O-0001" in html


async def test_server_errors_show_inline_and_keep_the_values(client, user, shop):
    csrf = await signed_in(client, user)
    data = base_data(csrf, title="", qty="abc", email="nope", status="closed", reason="")
    data["_fields"] += ["items"]
    data.update({"items[0].amount": "-1", "items[0].product": ""})
    answer = await client.post("/apps/shop/forms/order/new", data=data)
    assert answer.status_code == 422, answer.text
    html = answer.text
    assert field_errors(html, "title") == ["This field is required."]
    assert field_errors(html, "qty") == ["Expected a whole number."]
    assert field_errors(html, "email") == ["Enter a valid e-mail address."]
    assert field_errors(html, "reason") == ["This field is required."]
    assert field_errors(html, "items[0].amount") == ["Enter a value of at least 0."]
    assert field_errors(html, "items[0].product") == ["This field is required."]
    assert 'value="abc"' in html and 'value="nope"' in html
    assert 'aria-invalid="true"' in html
    assert not re.search(r'data-field="reason" data-widget="textarea"[^>]*hidden', html)
    # a form rule points at its field; htmx gets the same page to swap in place
    data = base_data(csrf, title="Many", qty="60")
    answer = await client.post(
        "/apps/shop/forms/order/new", data=data, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 422
    assert field_errors(answer.text, "qty") == ["At most 50 at once."]
    ok = await client.post(
        "/apps/shop/forms/order/new",
        data=base_data(csrf, title="Fine", qty="5"),
        headers={"HX-Request": "true"},
    )
    assert ok.status_code == 204 and ok.headers["HX-Redirect"].startswith(
        "/apps/shop/forms/order/records/"
    )


async def test_sub_table_rows_without_javascript(client, user, shop):
    csrf = await signed_in(client, user)
    data = base_data(csrf, title="T")
    data["_fields"] += ["items"]
    data.update({"items[0].product": "A", "_add_row": "items"})
    added = await client.post("/apps/shop/forms/order/new", data=data)
    assert added.status_code == 200
    assert 'name="items[0].product" type="text" value="A"' in added.text
    assert 'name="items[1].product"' in added.text and 'value="T"' in added.text
    data.pop("_add_row")
    data.update({"items[1].product": "B", "_remove_row": "items:0"})
    removed = await client.post("/apps/shop/forms/order/new", data=data)
    assert 'name="items[0].product" type="text" value="B"' in removed.text
    assert 'name="items[1].product"' not in removed.text


async def test_edit_with_a_stale_version_is_a_conflict_not_a_lost_update(client, admin, user, shop):
    created = await client.post(
        shop.url("order"), json={"values": {"title": "Old"}}, headers=admin.headers
    )
    record = created.json()
    csrf = await signed_in(client, user)
    edit_url = f"/apps/shop/forms/order/records/{record['id']}/edit"
    page = await client.get(edit_url)
    version = hidden(page.text, "row_version")
    changed = await client.patch(
        f"{shop.url('order')}/{record['id']}",
        json={"row_version": 1, "values": {"title": "Theirs"}},
        headers=admin.headers,
    )
    assert changed.status_code == 200
    data = base_data(csrf, title="Mine")
    data["row_version"] = version
    answer = await client.post(edit_url, data=data)
    assert answer.status_code == 409
    assert "Someone else changed it" in answer.text
    assert f'href="{edit_url}"' in answer.text and 'value="Mine"' in answer.text
    assert hidden(answer.text, "row_version") == "1"
    stored = (await client.get(f"{shop.url('order')}/{record['id']}", headers=admin.headers)).json()
    assert stored["values"]["title"] == "Theirs"
    # after reloading, the save goes through
    fresh = await client.get(edit_url)
    data["row_version"] = hidden(fresh.text, "row_version")
    saved = await client.post(edit_url, data=data)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/apps/shop/forms/order/records/{record['id']}"


async def test_hidden_and_read_only_fields(client, admin, sessions, shop):
    shop.permissions = [
        {**EVERYONE[0], "fields": {"email": "hidden", "phone": "read_only", "items": "read_only"}}
    ]
    published = await shop.change((await shop.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text
    created = await client.post(
        shop.url("order"),
        json={"values": {"title": "X", "email": "x@example.com", "phone": "13812345678"}},
        headers=admin.headers,
    )
    record = created.json()
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    csrf = await sign_in(client, bob.username, USER_PASSWORD)
    edit_url = f"/apps/shop/forms/order/records/{record['id']}/edit"
    page = await client.get(edit_url)
    html = page.text
    assert 'data-field="email"' not in html and "x@example.com" not in html
    assert 'data-field="phone" data-widget="tel" data-readonly' in html
    assert "+8613812345678" in html and 'name="phone"' not in html
    assert 'name="items[__i__]' not in html
    # a forged value for a read-only field is refused by the server, shown inline
    data = base_data(csrf, title="Y", phone="13900000000")
    data["row_version"] = "1"
    answer = await client.post(edit_url, data=data)
    assert answer.status_code == 303  # parse ignores fields the page did not offer
    stored = (await client.get(f"{shop.url('order')}/{record['id']}", headers=admin.headers)).json()
    assert stored["values"]["phone"] == "+8613812345678" and stored["values"]["title"] == "Y"


async def test_relation_search_follows_the_read_scope(client, admin, sessions, shop):
    shop.permissions = [{**EVERYONE[0], "id": "own", "scope": "own"}]
    published = await shop.change((await shop.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    for name in ("Acme one", "Acme two"):
        await client.post(
            shop.url("customer"), json={"values": {"name": name}}, headers=admin.headers
        )
    mine = await client.post(
        shop.url("customer"), json={"values": {"name": "Acme bob"}}, headers=bob.headers
    )
    await sign_in(client, bob.username, USER_PASSWORD)
    found = await client.get("/apps/shop/forms/order/fields/customer/options", params={"q": "acme"})
    assert found.status_code == 200, found.text
    assert found.json()["items"] == [{"value": mine.json()["id"], "label": "Acme bob"}]
    everything = await client.get("/apps/shop/forms/order/fields/others/options")
    assert [i["label"] for i in everything.json()["items"]] == ["Acme bob"]
    users = await client.get("/apps/shop/forms/order/fields/handler/options", params={"q": "bo"})
    assert [i["value"] for i in users.json()["items"]] == [bob.id]
    assert (await client.get("/apps/shop/forms/order/fields/title/options")).status_code == 404
    # a relation id outside the scope is refused by the writer, inline
    others = await client.get(shop.url("customer"), headers=admin.headers)
    foreign = next(r["id"] for r in others.json()["items"] if r["values"]["name"] == "Acme one")
    page = await client.get("/apps/shop/forms/order/new")
    answer = await client.post(
        "/apps/shop/forms/order/new",
        data=base_data(hidden(page.text, "csrf_token"), title="Z", customer=str(foreign)),
    )
    assert answer.status_code == 422
    assert field_errors(answer.text, "customer") == [
        f"Nothing with id {foreign} exists to refer to."
    ]


async def test_writes_without_the_csrf_token_are_refused(client, user, shop):
    await signed_in(client, user)
    answer = await client.post(
        "/apps/shop/forms/order/new", data={"_fields": ["title"], "title": "No token"}
    )
    assert answer.status_code == 403
    assert "CSRF" in unescape(answer.text)


async def test_file_posted_with_the_form_is_attached(client, admin, user, shop):
    csrf = await signed_in(client, user)
    answer = await client.post(
        "/apps/shop/forms/order/new",
        data={"csrf_token": csrf, "_fields": ["title", "files"], "title": "With file"},
        files={"files": ("note.txt", b"hello", "text/plain")},
    )
    assert answer.status_code == 303, answer.text
    record_id = answer.headers["location"].rsplit("/", 1)[1]
    stored = (await client.get(f"{shop.url('order')}/{record_id}", headers=admin.headers)).json()
    assert [f["filename"] for f in stored["values"]["files"]] == ["note.txt"]
    edit = await client.get(f"/apps/shop/forms/order/records/{record_id}/edit")
    file_id = stored["values"]["files"][0]["id"]
    assert f'name="files" value="{file_id}" checked' in edit.text and "note.txt" in edit.text


async def test_pages_need_the_right_to_create_or_update(client, admin, sessions, shop):
    shop.permissions = [{**EVERYONE[0], "actions": ["read"]}]
    published = await shop.change((await shop.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    await sign_in(client, bob.username, USER_PASSWORD)
    assert (await client.get("/apps/shop/forms/order/new")).status_code == 403
    assert (await client.get("/apps/shop/forms/nope/new")).status_code == 404
