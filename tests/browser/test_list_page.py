"""The list page in Chromium: find a record through the filter bar; import an XLSX file with
one bad row and see that row reported."""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from openpyxl import Workbook

from tests.conftest import Account
from tests.runtime.records.conftest import TICKET, publish_form


async def _publish(url: str, admin) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": admin.username, "password": admin.password}
        )
        csrf = login.json()["csrf_token"]
        token = await client.post(
            "/api/v1/auth/tokens", json={"name": "tests"}, headers={"X-CSRF-Token": csrf}
        )
        client.cookies.clear()
        account = Account(admin.id, admin.username, admin.password, token.json()["token"])
        await publish_form(client, account, "helpdesk", TICKET)
        items = [
            {"subject": "Printer jam", "category": "repair"},
            {"subject": "Screen flicker", "category": "complaint"},
        ]
        answer = await client.post(
            "/api/v1/records/helpdesk/ticket/bulk", json={"create": items}, headers=account.headers
        )
        assert answer.status_code == 200, answer.text


def _published(live) -> None:
    """Publish the ticket form with two tickets (in a thread: Playwright owns this one's loop)."""
    admin = live.create_admin()
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _publish(live.url, admin)).result(timeout=60)


@pytest.mark.both_databases
def test_find_a_record_through_a_filter(page, live, sign_in_as):
    _published(live)
    alice = live.create_user("alice")
    sign_in_as(page, "alice", alice.password, next_url="/apps/helpdesk/forms/ticket")
    rows = page.locator("table.records tbody tr")
    assert rows.count() == 2
    page.select_option("#f-ff", "category")
    page.wait_for_selector("#f-fa option[value=complaint]", state="attached")
    page.select_option("#f-fa", "complaint")
    with page.expect_navigation():
        page.get_by_role("button", name="Add filter").click()
    assert rows.count() == 1 and "Screen flicker" in rows.first.inner_text()
    assert "Complaint" in page.locator(".chips").inner_text()
    assert page.errors == []


@pytest.mark.both_databases
def test_import_an_xlsx_with_a_bad_row(page, live, sign_in_as, tmp_path):
    _published(live)
    alice = live.create_user("alice")
    workbook = Workbook()
    for row in (["Subject", "Category", "Quantity"], ["ok", "Repair", 2], ["bad", "Repair", "x"]):
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = tmp_path / "tickets.xlsx"
    path.write_bytes(buffer.getvalue())
    sign_in_as(page, "alice", alice.password, next_url="/apps/helpdesk/forms/ticket")
    page.set_input_files("#import-file", str(path))
    page.locator(".list-import").get_by_role("button", name="Import").click()
    report = page.locator("#import-panel table.import-errors tbody tr")
    report.first.wait_for()
    assert report.count() == 1
    cells = report.first.locator("td").all_inner_texts()
    assert cells[:2] == ["3", "Quantity"]
    assert "nothing was imported" in page.locator("#import-panel").inner_text()


def test_bulk_edit_and_filter_pick_a_user_by_name(page, live, sign_in_as):
    _published(live)
    alice = live.create_user("alice", display_name="Alice Liu")
    sign_in_as(page, "alice", alice.password, next_url="/apps/helpdesk/forms/ticket")
    rows = page.locator("table.records tbody tr")
    rows.filter(has_text="Printer jam").get_by_role("checkbox").check()
    page.select_option("#bulk-field", "assignee")  # htmx swaps in the field's own control
    page.locator("#bulk-value input[role=combobox]").wait_for()
    picker = page.get_by_role("combobox", name="New value")
    picker.fill("liu")
    page.get_by_role("option", name="Alice Liu (alice)").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Set on selected").click()
    assert page.locator(".bulk-results .is-ok").count() == 1
    page.get_by_role("link", name="Back to the list").click()

    page.select_option("#f-ff", "assignee")
    # The page opens with the first field's inputs (a plain text value, also with "eq"): wait
    # for htmx to swap in the user field's picker before choosing the condition.
    page.locator("#filter-inputs input[role=combobox]").wait_for(state="attached")
    page.select_option("#f-fo", "eq")
    page.locator("#filter-inputs input[role=combobox]").wait_for()
    value = page.get_by_role("combobox", name="Value")
    value.fill("ali")
    page.get_by_role("option", name="Alice Liu (alice)").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Add filter").click()
    assert rows.count() == 1 and "Printer jam" in rows.first.inner_text()
    assert "Alice Liu (alice)" in page.locator(".chips").inner_text()
    assert page.errors == []
