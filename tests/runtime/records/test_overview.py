"""A record's overview through field and row rights (SQLite and PostgreSQL): a source form
the viewer may not read is left out, rows outside their scope are neither shown nor counted,
hidden fields are not shown and figures over (or filtering on) them are left out, and a row
whose relation field is hidden from the viewer does not show the link."""

from __future__ import annotations

from typing import Any

from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.records.conftest import publish_app

STAGES = {
    "options": [
        {"value": "open", "label": {"en": "Open"}},
        {"value": "won", "label": {"en": "Won"}},
    ]
}


def build(ids: dict[str, int]) -> list[dict[str, Any]]:
    relation = {"form_id": ids["account"]}
    return [
        {
            "id": ids["account"],
            "key": "account",
            "label": {"en": "Account"},
            "title_field": "name",
            "fields": [{"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}}],
            "overview": {
                "sources": [
                    {"form": "deal", "via": "account", "fields": ["stage", "amount", "secret"]},
                    {"form": "note", "via": "account", "title": "body"},
                ],
                "figures": [
                    {"key": "deals", "label": {"en": "Deals"}, "form": "deal", "via": "account"},
                    {
                        "key": "amount",
                        "label": {"en": "Amount"},
                        "form": "deal",
                        "via": "account",
                        "agg": "sum",
                        "field": "amount",
                    },
                    {
                        "key": "flagged",
                        "label": {"en": "Flagged"},
                        "form": "deal",
                        "via": "account",
                        "filter": {"==": [{"var": "secret"}, "x"]},
                    },
                    {"key": "notes", "label": {"en": "Notes"}, "form": "note", "via": "account"},
                ],
            },
        },
        {
            "id": ids["deal"],
            "key": "deal",
            "label": {"en": "Deal"},
            "title_field": "title",
            "fields": [
                {"id": 1, "key": "title", "type": "text", "label": {"en": "Title"}},
                {
                    "id": 2,
                    "key": "account",
                    "type": "relation",
                    "label": {"en": "Account"},
                    "options": relation,
                },
                {
                    "id": 3,
                    "key": "stage",
                    "type": "select",
                    "label": {"en": "Stage"},
                    "options": STAGES,
                },
                {"id": 4, "key": "amount", "type": "currency", "label": {"en": "Amount"}},
                {"id": 5, "key": "secret", "type": "text", "label": {"en": "Secret"}},
            ],
        },
        {
            "id": ids["note"],
            "key": "note",
            "label": {"en": "Note"},
            "fields": [
                {"id": 1, "key": "body", "type": "textarea", "label": {"en": "Body"}},
                {
                    "id": 2,
                    "key": "account",
                    "type": "relation",
                    "label": {"en": "Account"},
                    "options": relation,
                },
            ],
        },
    ]


BOB = {"kind": "user", "key": "bob"}
PERMISSIONS = [
    {"id": "accounts", "form": "account", "grantee": BOB, "actions": ["read"]},
    {
        "id": "open_deals",
        "form": "deal",
        "grantee": BOB,
        "actions": ["read"],
        "scope": "rule",
        "rule": {"==": [{"var": "stage"}, "open"]},
        "fields": {"secret": "hidden", "amount": "hidden"},
    },
    {
        "id": "named_deals",
        "form": "deal",
        "grantee": BOB,
        "actions": ["read"],
        "scope": "rule",
        "rule": {"==": [{"var": "title"}, "Bob's"]},
        "fields": {"account": "hidden", "secret": "hidden", "amount": "hidden"},
    },
]


async def test_the_overview_reads_through_field_and_row_rights(client, admin, sessions):
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    app = await publish_app(client, admin, "crm", ["account", "deal", "note"], build, PERMISSIONS)

    async def create(who, form: str, **values: Any) -> int:
        made = await client.post(app.url(form), json={"values": values}, headers=who.headers)
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    account = await create(admin, "account", name="ACME")
    open_deal = await create(
        admin, "deal", title="Big", account=account, stage="open", amount="500", secret="x"
    )
    await create(admin, "deal", title="Won", account=account, stage="won", amount="900", secret="x")
    await create(admin, "deal", title="Bob's", account=account, stage="won", amount="50")
    await create(admin, "note", body="Called them", account=account)

    async def overview(who) -> dict[str, Any]:
        got = await client.get(f"{app.url('account')}/{account}/overview", headers=who.headers)
        assert got.status_code == 200, got.text
        return dict(got.json())

    everything = await overview(admin)
    assert [e["form"] for e in everything["items"]] == ["note", "deal", "deal", "deal"]
    assert {f["key"]: f["value"] for f in everything["figures"]} == {
        "deals": 3,
        "amount": "1450.00",
        "flagged": 2,
        "notes": 1,
    }

    listed = await client.get(app.url("deal"), headers=bob.headers)
    titles = {d["values"]["title"]: d["values"].get("account") for d in listed.json()["items"]}
    assert titles == {"Big": account, "Bob's": None}  # he reads both, one without its account

    seen = await overview(bob)
    # No note grant: the source and its figure are left out. The won deal is outside his
    # scope; "Bob's" deal he may read, but not its account: it is not linked here either.
    assert [s["form"] for s in seen["sources"]] == ["deal"]
    assert [(e["form"], e["id"]) for e in seen["items"]] == [("deal", open_deal)]
    assert seen["items"][0]["values"] == {"title": "Big", "stage": "open"}
    assert seen["sources"][0]["fields"] == ["title", "stage"]
    # Figures over (or filtering on) hidden fields are left out; the count is his rows only.
    assert {f["key"]: f["value"] for f in seen["figures"]} == {"deals": 1}


def test_cursors_round_trip_and_anything_else_is_a_bad_cursor():
    import base64
    from datetime import UTC, datetime

    import pytest

    from runtime.errors import ProblemError
    from runtime.records.overview import Entry, decode_cursor, encode_cursor

    at = datetime(2026, 12, 3, 8, 30, 1, 123456, tzinfo=UTC)
    assert decode_cursor(encode_cursor(Entry(2, "deal", 77, at, None, {}))) == (at, 2, 77)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode()

    for bad in (
        "",
        "%%%",
        b64(b"\xff\xfe"),
        b64(b"[1, 2]"),
        b64(b'{"t": 5, "s": 0, "i": 1}'),
        b64(b'{"t": "2026-12-03T08:30:00", "s": 0, "i": 1}'),  # no time zone
        b64(b'{"t": "2026-12-03T08:30:00+00:00", "s": -1, "i": 1}'),
        b64(b'{"t": "2026-12-03T08:30:00+00:00", "s": 0, "i": true}'),
        b64(b'{"t": "2026-12-03T08:30:00+00:00", "s": 0, "i": 99999999999999999999}'),
    ):
        with pytest.raises(ProblemError) as raised:
            decode_cursor(bad)
        assert raised.value.errors[0].code == "bad_cursor"
