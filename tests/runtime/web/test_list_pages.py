"""The list page of a form: columns by field rights, filters (URL and bar), sort, pages,
saved views, bulk edit and delete, import and export — on both databases."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

from openpyxl import Workbook

from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.records.conftest import EVERYONE, TICKET, publish_form
from tests.runtime.web.pages import sign_in

LIST = "/apps/helpdesk/forms/ticket"
API = "/api/v1/records/helpdesk/ticket"


def ids(html: str) -> list[int]:
    """The records the list shows, in order (their links to the record page)."""
    return [int(m) for m in re.findall(rf'href="{LIST}/records/(\d+)">', html)]


def picks(html: str) -> list[str]:
    return re.findall(r'name="pick" value="(\d+:\d+)"', html)


async def add(client, account, *items: dict) -> list[int]:
    answer = await client.post(f"{API}/bulk", json={"create": list(items)}, headers=account.headers)
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["created"]]


def ticket(subject: str, category: str = "repair", amount: str = "10", **more) -> dict:
    values = {"subject": subject, "category": category, "amount": amount, **more}
    if category == "return":
        values.setdefault("return_reason", "broken")
    return values


async def test_columns_honour_field_rights(client, admin, user):
    hidden = [{**EVERYONE[0], "fields": {"amount": "hidden"}}]
    await publish_form(client, admin, "helpdesk", TICKET, permissions=hidden)
    await add(client, admin, ticket("Printer jam", amount="99.5"))
    await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get(LIST, params={"cols": "subject,amount,category"})
    assert page.status_code == 200, page.text
    assert "Printer jam" in page.text and "Repair" in page.text
    assert "Amount" not in page.text and "99.5" not in page.text
    assert f'href="{LIST}/new"' in page.text
    filtered = await client.get(LIST, params={"filter": json.dumps({">": [{"var": "amount"}, 1]})})
    assert filtered.status_code == 422  # a hidden field cannot be filtered on


async def test_a_filter_from_the_url_and_from_the_bar_narrows_rows(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    first, second, third = await add(
        client,
        admin,
        ticket("Printer jam", "repair", "5"),
        ticket("Refund please", "return", "50"),
        ticket("Printer smoke", "complaint", "500"),
    )
    await sign_in(client, "alice", USER_PASSWORD)
    rule = {"==": [{"var": "category"}, "return"]}
    page = await client.get(LIST, params={"filter": json.dumps(rule)})
    assert ids(page.text) == [second]
    assert "<strong>Category</strong> is Return" in page.text  # a removable chip
    removed = re.search(r'class="chip__remove" href="([^"]+)"', page.text)
    assert removed and ids((await client.get(unescape(removed[1]))).text) == [first, second, third]

    bar = await client.get(LIST, params={"ff": "subject", "fo": "contains", "fa": "PRINTER"})
    assert bar.status_code == 303
    narrowed = await client.get(bar.headers["location"])
    assert ids(narrowed.text) == [first, third]
    assert "<strong>Subject</strong> contains printer" in narrowed.text
    more = await client.get(
        bar.headers["location"] + "&ff=amount&fo=between&fa=100&fb=1000", follow_redirects=True
    )
    assert ids(more.text) == [third]
    bad = await client.get(LIST, params={"ff": "amount", "fo": "gte", "fa": "lots"})
    assert bad.status_code == 422 and "Enter a number." in bad.text
    options = await client.get(f"{LIST}/filter-input", params={"ff": "category"})
    assert '<option value="complaint"' in options.text and 'name="fo"' in options.text
    searched = await client.get(LIST, params={"q": "refund"})
    assert ids(searched.text) == [second]


async def test_sort_by_column_and_keyset_pages(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    created = await add(client, admin, *[ticket(f"t{n:02d}", amount=str(n)) for n in range(12)])
    await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get(LIST, params={"sort": "-amount", "limit": 10})
    assert ids(page.text) == list(reversed(created))[:10]
    assert 'aria-sort="descending"' in page.text and "12 records" in page.text
    following = re.search(r'href="([^"]+)" rel="next"', page.text)
    assert following
    second = await client.get(unescape(following[1]))
    assert ids(second.text) == list(reversed(created))[10:]
    assert 'rel="next"' not in second.text
    previous = re.search(r'href="([^"]+)" rel="prev"', second.text)
    assert previous
    assert ids((await client.get(unescape(previous[1]))).text) == list(reversed(created))[:10]
    header = re.search(r'aria-sort="none"><a href="([^"]+)">Subject', page.text)
    assert header and "sort=subject" in unescape(header[1])


async def test_saved_views_belong_to_their_owner(client, admin, user, sessions):
    await publish_form(client, admin, "helpdesk", TICKET)
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    body = {
        "name": "Returns",
        "columns": ["subject", "amount"],
        "filter": {"==": [{"var": "category"}, "return"]},
        "sort": "-amount",
    }
    created = await client.post(f"{API}/views", json=body, headers=bob.headers)
    assert created.status_code == 201, created.text
    view = created.json()
    assert (await client.post(f"{API}/views", json=body, headers=bob.headers)).status_code == 409
    mine = await client.get(f"{API}/views", headers=bob.headers)
    assert [v["name"] for v in mine.json()] == ["Returns"]
    theirs = await client.get(f"{API}/views", headers=admin.headers)
    assert theirs.json() == []
    url = f"{API}/views/{view['id']}"
    patch = {"row_version": view["row_version"], "name": "Refunds"}
    assert (await client.patch(url, json=patch, headers=admin.headers)).status_code == 404
    changed = await client.patch(url, json=patch, headers=bob.headers)
    assert changed.status_code == 200 and changed.json()["row_version"] == 2
    stale = await client.patch(url, json=patch, headers=bob.headers)
    assert stale.status_code == 409
    shared = await client.post(f"{API}/views", json={**body, "shared": True}, headers=bob.headers)
    assert shared.status_code == 403
    bad = await client.post(f"{API}/views", json={**body, "columns": ["nope"]}, headers=bob.headers)
    assert bad.status_code == 422
    gone = await client.delete(url, params={"row_version": 1}, headers=bob.headers)
    assert gone.status_code == 409
    assert (
        await client.delete(url, params={"row_version": 2}, headers=bob.headers)
    ).status_code == 204
    assert (await client.get(f"{API}/views", headers=bob.headers)).json() == []


async def test_saved_views_on_the_page(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    _jam, refund = await add(client, admin, ticket("Jam"), ticket("Refund", "return"))
    token = await sign_in(client, "alice", USER_PASSWORD)
    rule = json.dumps({"and": [{"==": [{"var": "category"}, "return"]}]})
    saved = await client.post(
        f"{LIST}/views",
        data={"csrf_token": token, "name": "Returns", "cols": "subject", "filter": rule},
    )
    assert saved.status_code == 303
    shown = await client.get(saved.headers["location"])
    assert ids(shown.text) == [refund] and "· Returns" in shown.text
    again = await client.post(
        f"{LIST}/views", data={"csrf_token": token, "name": "Returns", "filter": rule}
    )
    assert again.status_code == 422 and "You already have a view with this name." in again.text
    view_id = int(saved.headers["location"].rsplit("=", 1)[1])
    stale = await client.post(
        f"{LIST}/views/{view_id}", data={"csrf_token": token, "row_version": 7, "cols": "subject"}
    )
    assert stale.status_code == 409 and "Someone changed this view" in stale.text


async def test_bulk_edit_and_delete(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    await add(client, admin, ticket("a"), ticket("b"), ticket("c"))
    token = await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get(LIST)
    chosen = picks(page.text)[:2]
    edited = await client.post(
        f"{LIST}/bulk",
        data={
            "csrf_token": token,
            "action": "edit",
            "field": "category",
            "value": "Complaint",
            "pick": chosen,
        },
    )
    assert edited.status_code == 200, edited.text
    assert edited.text.count("Changed") == 2
    listed = (await client.get(API, headers=admin.headers)).json()["items"]
    assert [r["values"]["category"] for r in listed] == ["complaint", "complaint", "repair"]
    refused = await client.post(
        f"{LIST}/bulk",
        data={
            "csrf_token": token,
            "action": "edit",
            "field": "quantity",
            "value": "5000",
            "pick": picks((await client.get(LIST)).text)[:2],
        },
    )
    assert refused.status_code == 422
    assert "Not changed" not in refused.text or refused.text.count("is-failed") == 2
    stale = await client.post(
        f"{LIST}/bulk",
        data={
            "csrf_token": token,
            "action": "edit",
            "field": "subject",
            "value": "x",
            "pick": chosen,
        },
    )
    assert stale.status_code == 422 and "Someone else changed this" in stale.text
    fresh = picks((await client.get(LIST)).text)
    confirm = await client.post(
        f"{LIST}/bulk", data={"csrf_token": token, "action": "delete", "pick": fresh[:2]}
    )
    assert confirm.status_code == 200 and "Delete 2 records" in confirm.text
    assert len((await client.get(API, headers=admin.headers)).json()["items"]) == 3
    deleted = await client.post(
        f"{LIST}/bulk",
        data={
            "csrf_token": token,
            "action": "delete",
            "confirm": "true",
            "pick": [*fresh[:2], "999:1"],
        },
    )
    assert deleted.status_code == 200
    assert (
        deleted.text.count(">Deleted<") == 2 and "Nothing exists at this address." in deleted.text
    )
    assert len((await client.get(API, headers=admin.headers)).json()["items"]) == 1


async def test_bulk_edit_offers_the_form_pages_control_for_the_fields_type(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    await add(client, admin, ticket("a"), ticket("b"))
    token = await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get(LIST)
    # the first field (subject) as the form page's text box, swapped per field by htmx
    assert '<input type="hidden" name="value_for" value="subject">' in page.text
    assert f'hx-get="{LIST}/bulk-input"' in page.text
    controls = {
        "order_date": 'name="value" type="date"',
        "quantity": 'name="value" type="number" step="1"',
        "category": '<input type="radio" id="f-value-1" name="value" value="consult"',
        "vip": 'name="value" type="checkbox" value="true"',
        "assignee": f'data-source="{LIST}/fields/assignee/options"',
        "team": f'data-source="{LIST}/fields/team/options"',
    }
    for key, control in controls.items():
        swapped = await client.get(f"{LIST}/bulk-input", params={"field": key})
        assert swapped.status_code == 200 and control in swapped.text, key
        assert f'name="value_for" value="{key}"' in swapped.text
    assert "data-picker" in (await client.get(f"{LIST}/bulk-input?field=assignee")).text

    def edit(field: str, *value: str) -> dict:
        chosen = picks(page.text)
        return {
            "csrf_token": token,
            "action": "edit",
            "field": field,
            "value_for": field,
            "value": list(value),
            "pick": chosen,
        }

    for field, value in [
        ("order_date", ["2026-03-01"]),
        ("category", ["complaint"]),
        ("assignee", [str(user.id)]),
        ("tags", ["urgent", "vip"]),
    ]:
        edited = await client.post(f"{LIST}/bulk", data=edit(field, *value))
        assert edited.status_code == 200 and edited.text.count("Changed") == 2, edited.text
        page = await client.get(LIST)
    listed = (await client.get(API, headers=admin.headers)).json()["items"]
    for record in listed:
        values = record["values"]
        assert values["order_date"] == "2026-03-01" and values["category"] == "complaint"
        assert values["assignee"] == user.id and values["vip"] is True  # linkage: tags has vip
        assert values["tags"] == ["vip", "urgent"]  # in option order

    # the field changed without JavaScript: the value is asked for again with its control
    page = await client.get(LIST)
    mixed = {**edit("order_date", "complaint"), "value_for": "category"}
    asked = await client.post(f"{LIST}/bulk", data=mixed)
    assert asked.status_code == 200 and 'name="value" type="date"' in asked.text
    assert '<input type="hidden" name="field" value="order_date">' in asked.text
    assert picks(asked.text) == picks(page.text) and "Changed" not in asked.text
    again = await client.post(
        f"{LIST}/bulk", data={**mixed, "value_for": "order_date", "value": "2026-04-02"}
    )
    assert again.status_code == 200 and again.text.count("Changed") == 2
    listed = (await client.get(API, headers=admin.headers)).json()["items"]
    assert {r["values"]["order_date"] for r in listed} == {"2026-04-02"}
    bad = await client.post(f"{LIST}/bulk", data=edit("order_date", "soon"))
    assert bad.status_code == 422 and "Changed" not in bad.text


async def test_the_filter_bar_picks_users_by_name(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    mine, _other = await add(client, admin, ticket("a", assignee=user.id), ticket("b"))
    await sign_in(client, "alice", USER_PASSWORD)
    bar = await client.get(f"{LIST}/filter-input", params={"ff": "assignee"})
    assert bar.status_code == 200
    assert f'data-picker data-source="{LIST}/fields/assignee/options"' in bar.text
    assert f'<option value="{user.id}">alice (alice)</option>' in bar.text
    assert 'name="fb"' not in bar.text  # one value: no "between" for people
    found = await client.get(f"{LIST}/fields/assignee/options", params={"q": "ali"})
    assert [i["value"] for i in found.json()["items"]] == [user.id]
    added = await client.get(LIST, params={"ff": "assignee", "fo": "eq", "fa": str(user.id)})
    assert added.status_code == 303
    narrowed = await client.get(added.headers["location"])
    assert ids(narrowed.text) == [mine]
    assert "<strong>Assignee</strong> is alice (alice)" in narrowed.text  # a name, not an id


async def test_readers_search_the_filter_choices(client, admin, user):
    readers = [{**EVERYONE[0], "actions": ["read"]}]
    await publish_form(client, admin, "helpdesk", TICKET, permissions=readers)
    await sign_in(client, "alice", USER_PASSWORD)
    found = await client.get(f"{LIST}/fields/assignee/options", params={"q": "ali"})
    assert found.status_code == 200 and [i["value"] for i in found.json()["items"]] == [user.id]
    assert (await client.get(f"{LIST}/fields/subject/options")).status_code == 404
    assert (await client.get(f"{LIST}/bulk-input")).status_code == 403


async def test_bulk_needs_the_right(client, admin, user):
    read_only = [{**EVERYONE[0], "actions": ["read", "create"]}]
    await publish_form(client, admin, "helpdesk", TICKET, permissions=read_only)
    await add(client, admin, ticket("a"))
    token = await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get(LIST)
    assert 'name="pick"' not in page.text and "Import" not in page.text
    answer = await client.post(
        f"{LIST}/bulk", data={"csrf_token": token, "action": "delete", "pick": ["1:1"]}
    )
    assert answer.status_code == 403


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def test_import_with_a_bad_row_reports_it_and_imports_nothing(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    token = await sign_in(client, "alice", USER_PASSWORD)
    content = xlsx(
        [["Subject", "Category", "Quantity"], ["ok", "Repair", 2], ["bad", "Repair", "many"]]
    )
    answer = await client.post(
        f"{LIST}/import",
        data={"csrf_token": token},
        files={
            "file": (
                "t.xlsx",
                content,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        },
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 422, answer.text
    assert "nothing was imported" in answer.text
    row = re.search(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", answer.text)
    assert row and row[1] == "3" and row[2] == "Quantity"
    assert (await client.get(API, headers=admin.headers)).json()["items"] == []
    good = await client.post(
        f"{LIST}/import",
        data={"csrf_token": token},
        files={"file": ("t.csv", b"subject,category\nfine,repair\n", "text/csv")},
    )
    assert good.status_code == 200 and "1 record imported." in good.text
    assert len((await client.get(API, headers=admin.headers)).json()["items"]) == 1


async def test_export_returns_the_filtered_rows(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    await add(client, admin, ticket("Jam"), ticket("Refund", "return"), ticket("Other", "return"))
    await sign_in(client, "alice", USER_PASSWORD)
    rule = json.dumps({"and": [{"==": [{"var": "category"}, "return"]}]})
    answer = await client.get(
        f"{LIST}/export",
        params={"format": "csv", "filter": rule, "sort": "subject", "cols": "subject,category"},
    )
    assert answer.status_code == 200, answer.text
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows == [["Subject", "Category"], ["Other", "return"], ["Refund", "return"]]
    searched = await client.get(f"{LIST}/export", params={"q": "jam", "cols": "subject"})
    assert list(csv.reader(io.StringIO(searched.content.decode("utf-8-sig")))) == [
        ["Subject"],
        ["Jam"],
    ]
