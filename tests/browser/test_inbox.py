"""A two-step approval completed from the task inbox in a real browser, by two users: the
step's form is the form page's (a user picker searching as the step allows)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN_PASSWORD, make_account
from tests.runtime.flows.conftest import chain, flow, publish_flows

PASSWORD = "Pass-word-2026x"
APPROVAL = flow(
    "approval",
    [
        {"id": "start", "type": "start"},
        {
            "id": "first",
            "type": "user_task",
            "name": {"en": "Manager approval"},
            "assignee": {"kind": "user", "key": "manager"},
            "fields": {"resolution": "required", "agent": "editable"},
        },
        {
            "id": "second",
            "type": "user_task",
            "name": {"en": "Director approval"},
            "assignee": {"kind": "user", "key": "director"},
        },
        {"id": "end", "type": "end"},
    ],
    chain("start", "first", "second", "end"),
)


def _arrange(live: Any) -> int:
    """Publish the app, create the users and start the approval on a new request."""

    async def arrange(sessions: Any) -> int:
        transport = httpx.ASGITransport(app=live.app, client=("127.0.0.1", 50001))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            admin = await make_account(client, sessions, "admin", ADMIN_PASSWORD, admin=True)
            people = {
                name: await make_account(client, sessions, name, PASSWORD)
                for name in ("requester", "manager", "director")
            }
            app = await publish_flows(client, admin, [APPROVAL])
            record = await app.record(people["requester"], title="New laptop")
            started = await app.start(people["requester"], "approval", record["id"])
            assert started.status_code == 201, started.text
            return int(started.json()["id"])

    return live.run(arrange)


def _sign_in(page: Any, live: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live.url}/sign-in?next=/inbox")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url(f"{live.url}/inbox")


@pytest.mark.both_databases
def test_a_two_step_approval_from_the_inbox(page, live):
    instance_id = _arrange(live)

    _sign_in(page, live, "manager")
    page.get_by_role("link", name="Manager approval").click()
    page.get_by_label("Resolution").fill("Budget is fine")
    page.get_by_role("combobox", name="Agent").fill("direc")
    page.get_by_role("option", name="director").click()
    expect(page.locator("#f-agent-select")).not_to_have_value("")  # set by the picker's script
    page.get_by_label("Comment").first.fill("Approved for Q3")
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("You approved.").wait_for()

    _sign_in(page, live, "director")
    page.get_by_role("link", name="Director approval").click()
    # the manager's choices, read-only at this step
    assert (
        page.locator('[data-field="agent"] .field__value').inner_text().strip()
        == "director (director)"
    )
    assert page.locator('[data-field="resolution"] .field__value').inner_text() == "Budget is fine"
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("You approved.").wait_for()

    page.goto(f"{live.url}/inbox/instances/{instance_id}")
    expect(page.locator(".flow-card__head .badge")).to_have_text("Finished")
    assert page.get_by_text("Approved for Q3").is_visible()
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.errors == []
