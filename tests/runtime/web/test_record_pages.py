"""The record page: field rights and formatting, delete, the timeline with history, comments,
internal notes, @mentions (notified in-app, from the page and the API alike) and attachments —
on both databases."""

from __future__ import annotations

import re

from sqlalchemy import select

from runtime.auth.models import User
from runtime.rules.models import Notification
from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.records.conftest import publish_form
from tests.runtime.web.pages import sign_in

CASE = {
    "key": "case",
    "label": {"en": "Case", "zh-CN": "案件"},
    "title_field": "subject",
    "fields": [
        {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
        {"id": 2, "key": "amount", "type": "currency", "label": {"en": "Amount"}},
        {
            "id": 3,
            "key": "category",
            "type": "select",
            "label": {"en": "Category"},
            "options": {
                "options": [
                    {"value": "repair", "label": {"en": "Repair"}, "color": "#1f5fbf"},
                    {"value": "consult", "label": {"en": "Consulting"}},
                ]
            },
        },
        {"id": 4, "key": "due", "type": "datetime", "label": {"en": "Due"}},
        {"id": 5, "key": "secret", "type": "text", "label": {"en": "Secret note"}},
        {"id": 6, "key": "notes", "type": "richtext", "label": {"en": "Notes"}},
        {
            "id": 7,
            "key": "lines",
            "type": "subtable",
            "label": {"en": "Lines"},
            "options": {
                "fields": [
                    {"id": 1, "key": "item", "type": "text", "label": {"en": "Item"}},
                    {"id": 2, "key": "qty", "type": "integer", "label": {"en": "Qty"}},
                ]
            },
        },
        {"id": 8, "key": "handler", "type": "user", "label": {"en": "Handler"}},
        {"id": 9, "key": "files", "type": "attachments", "label": {"en": "Files"}},
    ],
}
#: Everyone works with cases, but the secret note is hidden from them; readers may only read.
GRANTS = [
    {
        "id": "staff",
        "grantee": {"kind": "everyone"},
        "actions": ["create", "read", "update", "delete"],
        "fields": {"secret": "hidden"},
    }
]
READ_ONLY = [{"id": "readers", "grantee": {"kind": "everyone"}, "actions": ["read"]}]


async def _case(client, admin, grants=GRANTS, **values) -> tuple[str, dict]:
    url = await publish_form(client, admin, "desk", CASE, permissions=grants)
    upload = await client.post(
        "/api/v1/files",
        files={"file": ("report.pdf", b"%PDF-1.4 test", "application/pdf")},
        headers=admin.headers,
    )
    assert upload.status_code == 201, upload.text
    body = {
        "subject": "Printer on fire",
        "amount": "1234.5",
        "category": "repair",
        "due": "2026-03-01T02:00:00Z",
        "secret": "the password is swordfish",
        "notes": "<p>Call <b>facilities</b><script>alert(1)</script></p>",
        "lines": [{"item": "Toner", "qty": 2}],
        "handler": admin.id,
        "files": [upload.json()["id"]],
        **values,
    }
    created = await client.post(url, json={"values": body}, headers=admin.headers)
    assert created.status_code == 201, created.text
    return url, created.json()


def _page(record: dict) -> str:
    return f"/apps/desk/forms/case/records/{record['id']}"


async def test_fields_follow_field_rights_and_are_formatted(client, admin, user, sessions):
    async with sessions() as db:
        (await db.scalar(select(User).where(User.id == user.id))).time_zone = "Asia/Shanghai"
        await db.commit()
    _, record = await _case(client, admin)
    await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get(_page(record))
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>Printer on fire</h1>" in html
    # the hidden field is not shown at all, neither its label nor its value
    assert "Secret note" not in html and "swordfish" not in html
    assert "1,234.50" in html  # money in the locale's format
    assert re.search(r'class="chip" style="background: #1f5fbf; color: #ffffff', html)
    assert ">Repair</span>" in html
    assert "10:00:00" in html  # 02:00 UTC in the viewer's Shanghai time
    assert "<b>facilities</b>" in html and "<script>alert" not in html
    assert "<td>Toner</td><td>2</td>" in html  # the sub-table as a table
    assert re.search(r'href="/api/v1/files/\d+/content" download>report.pdf</a>', html)
    assert ">admin</dd>" in html  # a user field shows the user's name
    assert f'href="{_page(record)}/edit"' in html and f'href="{_page(record)}/delete"' in html
    # the administrator sees the hidden field
    client.cookies.clear()
    await sign_in(client, "admin", "Admin-pass-2026")
    assert "swordfish" in (await client.get(_page(record))).text


async def test_readers_get_no_edit_or_delete_and_other_apps_stay_hidden(client, admin, user):
    _, record = await _case(client, admin, grants=READ_ONLY)
    await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get(_page(record))
    assert page.status_code == 200
    assert "/edit" not in page.text and f"{_page(record)}/delete" not in page.text
    assert (await client.get(f"{_page(record)}/delete")).status_code == 403
    assert (await client.get("/apps/desk/forms/case/records/999999")).status_code == 404


async def test_timeline_shows_field_changes_who_and_old_to_new(client, admin, user):
    url, record = await _case(client, admin)
    changed = await client.patch(
        f"{url}/{record['id']}",
        json={
            "row_version": record["row_version"],
            "values": {"subject": "Printer fixed", "secret": "new secret"},
        },
        headers=user.headers,
    )
    assert changed.status_code == 422  # alice may not set the hidden field
    changed = await client.patch(
        f"{url}/{record['id']}",
        json={"row_version": record["row_version"], "values": {"subject": "Printer fixed"}},
        headers=user.headers,
    )
    assert changed.status_code == 200, changed.text
    await sign_in(client, "alice", USER_PASSWORD)
    html = (await client.get(_page(record))).text
    assert "<strong>alice</strong>" in html and "changed the record" in html
    change = re.search(
        r'<span class="changes__field">Subject</span>: <span class="changes__old">(.*?)</span>'
        r'.*?<span class="changes__new">(.*?)</span>',
        html,
        re.S,
    )
    assert change and change.groups() == ("Printer on fire", "Printer fixed")
    assert "created the record" in html


async def test_comment_with_mention_notifies_and_is_sanitised(client, admin, user, sessions):
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    url, record = await _case(client, admin)
    token = await sign_in(client, "alice", USER_PASSWORD)
    posted = await client.post(
        f"{_page(record)}/comments",
        data={
            "csrf_token": token,
            "body": "Please check, @bob <script>alert(1)</script><b>now</b>",
            "internal": "true",
        },
        files={"files": ("photo.png", b"\x89PNG fake", "image/png")},
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == f"{_page(record)}#activity"
    html = (await client.get(_page(record))).text
    assert "<b>now</b>" in html and "<script>alert" not in html
    assert "Internal note</span>" in html and "Mentioned: bob" in html
    assert re.search(r'href="/api/v1/files/\d+/content" download>photo.png</a>', html)
    async with sessions() as db:
        notes = list((await db.scalars(select(Notification))).all())
    assert [(n.user_id, n.subject["kind"], n.subject["record_id"]) for n in notes] == [
        (bob.id, "mention", record["id"])
    ]
    assert notes[0].title == f"alice mentioned you on Case #{record['id']}"
    assert "Please check" in notes[0].body and "<" not in notes[0].body
    # bob reads it through the notifications API
    mine = await client.get("/api/v1/notifications", headers=bob.headers)
    assert mine.json()["unread"] == 1
    # the API's comments notify the same way (never the author)
    api = await client.post(
        f"{url}/{record['id']}/comments",
        json={"body": "@alice @bob see above"},
        headers=bob.headers,
    )
    assert api.status_code == 201, api.text
    async with sessions() as db:
        users = sorted((await db.scalars(select(Notification.user_id))).all())
    assert users == sorted([bob.id, user.id])


async def test_mentioned_users_who_cannot_read_the_record_are_not_notified(
    client, admin, user, sessions
):
    mine_only = [{**GRANTS[0], "scope": "own"}]
    url = await publish_form(client, admin, "desk", CASE, permissions=mine_only)
    await make_account(client, sessions, "bob", USER_PASSWORD)
    created = await client.post(url, json={"values": {"subject": "x"}}, headers=user.headers)
    record = created.json()
    answer = await client.post(
        f"{url}/{record['id']}/comments", json={"body": "@bob look"}, headers=user.headers
    )
    assert answer.status_code == 201
    async with sessions() as db:
        assert (await db.scalars(select(Notification))).all() == []


async def test_empty_comments_are_refused_inline_and_htmx_gets_the_activity(client, admin, user):
    _, record = await _case(client, admin)
    token = await sign_in(client, "alice", USER_PASSWORD)
    empty = await client.post(
        f"{_page(record)}/comments", data={"csrf_token": token, "body": "  <script></script> "}
    )
    assert empty.status_code == 422
    assert '<ul class="field-errors" id="body-errors">' in empty.text
    assert "Write something first." in empty.text
    htmx = await client.post(
        f"{_page(record)}/comments",
        data={"body": "All good"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert htmx.status_code == 200
    assert htmx.text.lstrip().startswith('<section id="activity"')
    assert "All good" in htmx.text


async def test_writes_without_the_csrf_token_are_refused(client, admin, user):
    _, record = await _case(client, admin)
    await sign_in(client, "alice", USER_PASSWORD)
    refused = await client.post(f"{_page(record)}/comments", data={"body": "hello"})
    assert refused.status_code == 403
    refused = await client.post(f"{_page(record)}/delete", data={"row_version": "1"})
    assert refused.status_code == 403
    html = (await client.get(_page(record))).text
    assert "hello" not in html


async def test_delete_asks_first_then_soft_deletes(client, admin, user):
    url, record = await _case(client, admin)
    token = await sign_in(client, "alice", USER_PASSWORD)
    confirm = await client.get(f"{_page(record)}/delete")
    assert confirm.status_code == 200 and "Delete Printer on fire?" in confirm.text
    stale = await client.post(
        f"{_page(record)}/delete", data={"csrf_token": token, "row_version": "99"}
    )
    assert stale.status_code == 409 and "Someone changed this record" in stale.text
    done = await client.post(
        f"{_page(record)}/delete",
        data={"csrf_token": token, "row_version": str(record["row_version"])},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/apps/desk/forms/case?deleted={record['id']}"
    gone = await client.get(_page(record))
    assert "This record was deleted" in gone.text and f"{_page(record)}/edit" not in gone.text
    deleted = await client.get(url, params={"deleted": "true"}, headers=admin.headers)
    assert [r["id"] for r in deleted.json()["items"]] == [record["id"]]


async def test_people_suggestions_for_mentions(client, admin, user, sessions):
    await make_account(client, sessions, "albert", USER_PASSWORD)
    await sign_in(client, "alice", USER_PASSWORD)
    found = await client.get("/people/suggest", params={"q": "@al", "field": "f-body"})
    assert found.status_code == 200
    assert re.findall(r'data-username="([^"]+)"', found.text) == ["albert", "alice"]
    assert 'role="listbox"' in found.text and 'id="suggest-f-body-' in found.text
    nobody = await client.get("/people/suggest", params={"q": "zz%"})
    assert "Nobody matches." in nobody.text
