"""Cached widget results: a repeat is a hit; every kind of record write invalidates, also a
write made by another process (another app instance on the same database)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from runtime.app import create_app
from runtime.records.models import FormDataVersion
from tests.runtime.reports.conftest import Desk
from tests.runtime.reports.results import kpi


async def _total(desk: Desk) -> tuple[int, bool]:
    body = await desk.result(desk.admin, "total")
    return kpi(body["result"], "tickets"), body["cached"]


async def test_a_repeat_is_a_hit_and_writes_invalidate(tickets: Desk, sessions):
    desk = tickets
    assert await _total(desk) == (5, False)
    assert await _total(desk) == (5, True)
    # Another viewer (another scope) has an entry of their own.
    mia = await desk.result(desk.mia, "total")
    assert (kpi(mia["result"], "tickets"), mia["cached"]) == (3, False)
    assert (await desk.result(desk.mia, "total"))["cached"] is True
    # create
    created = await desk.ticket(desk.ann, status="open", team="l1")
    assert await _total(desk) == (6, False)
    assert (kpi((await desk.result(desk.mia, "total"))["result"], "tickets")) == 4
    assert await _total(desk) == (6, True)
    # update: the status widget moves the record from one bar to the other
    by_status = await desk.result(desk.admin, "total", filters={"status": "open"})
    assert kpi(by_status["result"], "tickets") == 4
    patched = await desk.client.patch(
        f"{desk.records()}/{created['id']}",
        json={"row_version": created["row_version"], "values": {"status": "closed"}},
        headers=desk.ann.headers,
    )
    assert patched.status_code == 200, patched.text
    again = await desk.result(desk.admin, "total", filters={"status": "open"})
    assert (kpi(again["result"], "tickets"), again["cached"]) == (3, False)
    # delete, restore
    deleted = await desk.client.delete(
        f"{desk.records()}/{created['id']}", headers=desk.ann.headers
    )
    assert deleted.status_code == 200, deleted.text
    assert await _total(desk) == (5, False)
    restored = await desk.client.post(
        f"{desk.records()}/{created['id']}/restore", headers=desk.ann.headers
    )
    assert restored.status_code == 200, restored.text
    assert await _total(desk) == (6, False)
    async with sessions() as db:
        versions = (await db.execute(select(FormDataVersion.version))).scalars().all()
    assert versions and max(versions) >= 9  # 5 + 1 creates, 1 update, 1 delete, 1 restore


async def test_an_import_invalidates(tickets: Desk):
    desk = tickets
    assert await _total(desk) == (5, False)
    assert await _total(desk) == (5, True)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([["subject", "status"], ["imported 1", "open"], ["2", "open"]])
    uploaded = await desk.client.post(
        "/api/v1/files",
        files={"file": ("t.csv", buffer.getvalue().encode(), "text/csv")},
        headers=desk.ann.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    imported = await desk.client.post(
        f"{desk.records()}/imports",
        json={"file_id": uploaded.json()["id"]},
        headers=desk.ann.headers,
    )
    assert imported.status_code == 200, imported.text
    assert await _total(desk) == (7, False)


async def test_a_write_in_another_process_invalidates(tickets: Desk, settings):
    """Two app instances on one database, each with its own cache: a write through one makes
    the other miss."""
    desk = tickets
    assert await _total(desk) == (5, False)
    assert await _total(desk) == (5, True)
    other = create_app(settings)
    import httpx

    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other, client=("127.0.0.1", 50001))
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as client:
            created = await client.post(
                desk.records(), json={"values": {"subject": "x"}}, headers=desk.bob.headers
            )
            assert created.status_code == 201, created.text
    assert await _total(desk) == (6, False)


async def test_the_cache_can_be_skipped(tickets: Desk):
    desk = tickets
    assert await _total(desk) == (5, False)
    fresh = await desk.result(desk.admin, "total", cache=False)
    assert fresh["cached"] is False
    run = await desk.run(desk.admin)
    assert run.status_code == 200
    assert {w["widget"]: w["cached"] for w in run.json()["widgets"]}["total"] is True
