"""A user's membership is read once per organisation version, not once per request.

Every write to departments, roles, groups and their members raises the organisation version
(database triggers), which requests read with their token; a membership cached at that
version is used without a query, and any write — through the API or in plain SQL — makes the
next request read it again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select, text

from runtime.org.models import OrgVersion
from tests.conftest import USER_PASSWORD, make_account
from tests.runtime.org.api import department, join
from tests.runtime.records.conftest import TICKET, publish_app

GRANTS = [
    {
        "id": "own_department",
        "grantee": {"kind": "everyone"},
        "actions": ["read", "create"],
        "scope": "department",
    }
]
RENAME = text("UPDATE departments SET name = :name WHERE id = :d")


@contextmanager
def membership_queries(app: Any) -> Iterator[list[str]]:
    """The membership queries the app runs inside the block."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "'dept' AS kind" in statement:
            seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def version(sessions: Any) -> tuple[int, str]:
    async with sessions() as db:
        row = (await db.execute(select(OrgVersion.version, OrgVersion.epoch))).one()
    return int(row.version), str(row.epoch)


async def _desk(client, admin, sessions):
    app = await publish_app(
        client, admin, "desk", ["ticket"], lambda ids: [{**TICKET, "id": ids["ticket"]}]
    )
    app.permissions = GRANTS
    published = await app.change((await app.draft())["definition"]["forms"])
    assert published.status_code == 200, published.text
    sales = await department(client, admin, "SALES")
    service = await department(client, admin, "SERVICE")
    ann = await make_account(client, sessions, "ann", USER_PASSWORD)
    await join(client, admin, sales["id"], ann.id, is_primary=True)
    return app, sales, service, ann


async def _subjects(client, app, account) -> set[str]:
    listed = await client.get(app.url("ticket"), headers=account.headers)
    assert listed.status_code == 200, listed.text
    return {item["values"]["subject"] for item in listed.json()["items"]}


async def test_a_cached_membership_costs_no_query_until_the_organisation_changes(
    app, client, admin, sessions
):
    desk, sales, service, ann = await _desk(client, admin, sessions)
    bob = await make_account(client, sessions, "bob", USER_PASSWORD)
    await join(client, admin, service["id"], bob.id, is_primary=True)
    for account, subject in ((ann, "sales ticket"), (bob, "service ticket")):
        created = await client.post(
            desk.url("ticket"),
            json={"values": {"subject": subject, "category": "repair"}},
            headers=account.headers,
        )
        assert created.status_code == 201, created.text

    with membership_queries(app) as queries:
        assert await _subjects(client, desk, ann) == {"sales ticket"}
        assert await _subjects(client, desk, ann) == {"sales ticket"}
        assert await _subjects(client, desk, ann) == {"sales ticket"}
    assert len(queries) == 0  # cached by the create requests above, at this version

    before = await version(sessions)
    await join(client, admin, service["id"], ann.id)  # through the API
    after = await version(sessions)
    assert after[0] > before[0] and after[1] == before[1]
    with membership_queries(app) as queries:
        assert await _subjects(client, desk, ann) == {"sales ticket", "service ticket"}
        assert await _subjects(client, desk, ann) == {"sales ticket", "service ticket"}
    assert len(queries) == 1

    async with sessions() as db:  # in plain SQL, past the application
        await db.execute(
            text("DELETE FROM department_members WHERE user_id = :u AND department_id = :d"),
            {"u": ann.id, "d": sales["id"]},
        )
        await db.commit()
    assert (await version(sessions))[0] > after[0]
    with membership_queries(app) as queries:
        assert await _subjects(client, desk, ann) == {"service ticket"}
    assert len(queries) == 1


async def test_each_committed_write_raises_the_version_and_a_rollback_does_not(
    app, client, admin, sessions, backend
):
    _, sales, service, _ = await _desk(client, admin, sessions)
    start, _ = await version(sessions)
    async with sessions() as db:
        for name, dept in (("x", sales), ("y", service)):
            await db.execute(RENAME, {"name": name, "d": dept["id"]})
        await db.rollback()
    assert (await version(sessions))[0] == start
    async with sessions() as db:
        for name, dept in (("x", sales), ("y", service)):
            await db.execute(RENAME, {"name": name, "d": dept["id"]})
        await db.commit()
    raised, _ = await version(sessions)
    # PostgreSQL raises it once per transaction (at commit), SQLite once per row written.
    assert raised == start + (1 if backend == "postgresql" else 2)


async def test_a_missing_version_row_means_no_cache_and_a_new_epoch(app, client, admin, sessions):
    desk, _, service, ann = await _desk(client, admin, sessions)
    _, epoch = await version(sessions)
    async with sessions() as db:
        await db.execute(text("DELETE FROM org_version"))
        await db.commit()
    with membership_queries(app) as queries:
        assert await _subjects(client, desk, ann) == set()
        assert await _subjects(client, desk, ann) == set()
    assert len(queries) == 2  # no version: read every time
    await join(client, admin, service["id"], ann.id)
    count, new_epoch = await version(sessions)
    assert count == 1 and new_epoch != epoch
    with membership_queries(app) as queries:
        await _subjects(client, desk, ann)
        await _subjects(client, desk, ann)
    assert len(queries) == 1
