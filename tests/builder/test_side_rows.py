"""Changes that make SQLite rebuild a form's table keep its sub-table rows and links.

SQLite rebuilds a table to drop or retype a column or to add one with a foreign key; the DROP of
the old table would delete the rows of every table that refers to it ``ON DELETE CASCADE``.
Run on both databases (PostgreSQL alters in place).
"""

from __future__ import annotations

from tests.runtime.records.conftest import publish_app


def forms(ids: dict[str, int], *, extra: list[dict] | None = None, drop_note: bool = False) -> list:
    fields = [
        {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
        {"id": 2, "key": "note", "type": "text", "label": {"en": "Note"}},
        {
            "id": 3,
            "key": "lines",
            "type": "subtable",
            "label": {"en": "Lines"},
            "options": {
                "fields": [{"id": 1, "key": "item", "type": "text", "label": {"en": "Item"}}]
            },
        },
        {
            "id": 4,
            "key": "others",
            "type": "multirelation",
            "label": {"en": "Related"},
            "options": {"form_id": ids["order"]},
        },
        *(extra or []),
    ]
    if drop_note:
        fields = [f for f in fields if f["id"] != 2]
    return [{"id": ids["order"], "key": "order", "label": {"en": "Order"}, "fields": fields}]


async def test_rebuilds_keep_child_rows_and_links(client, admin):
    shop = await publish_app(client, admin, "shop", ["order"], forms)
    url = shop.url("order")
    first = (
        await client.post(url, json={"values": {"subject": "a"}}, headers=admin.headers)
    ).json()
    second = await client.post(
        url,
        json={
            "values": {
                "subject": "b",
                "note": "n",
                "lines": [{"item": "x"}, {"item": "y"}],
                "others": [first["id"]],
            }
        },
        headers=admin.headers,
    )
    assert second.status_code == 201, second.text
    record = f"{url}/{second.json()['id']}"

    owner = {"id": 5, "key": "assignee", "type": "user", "label": {"en": "Assignee"}}
    added = await shop.change(forms(shop.ids, extra=[owner]))  # a column with a foreign key
    assert added.status_code == 200, added.text
    archived = await shop.change(forms(shop.ids, extra=[owner], drop_note=True))
    assert archived.status_code == 200, archived.text
    purged = await shop.publish(purge=[{"form_id": shop.ids["order"], "field_id": 2}])
    assert purged.status_code == 200, purged.text

    values = (await client.get(record, headers=admin.headers)).json()["values"]
    assert values["lines"] == [{"item": "x"}, {"item": "y"}]
    assert values["others"] == [first["id"]]
