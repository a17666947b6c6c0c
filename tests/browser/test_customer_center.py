"""The Customer Center in a real browser, by real users: an agent takes a ticket from the
form page, the keyword routing rule assigns it, the supervisor triages it from their inbox
(the ``ticket_lifecycle`` flow's triage step), and the agent works it from their inbox — reads
its fields and timeline, replies on the record, parks it waiting on the customer (whose
reply resumes it), then resolves it by completing the work step with the right status. The
ticket's status, first_response_at (empty after triage: with no message sent, amy's parking
the ticket is its first response) and resolved_at are checked through the API and on the
record page.

The template is installed through the builder API exactly as tests/templates/customer_center
does; rules and flows run on record events, so the live server runs its in-process worker."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, Account, make_account
from tests.runtime.org.api import department, join
from tests.runtime.rules.conftest import make_group
from tests.support.jobs import eventually
from tests.templates.customer_center import install as template

PASSWORD = "Pass-word-2026x"
#: Who is who: amy answers the phone (first line), sol supervises; fay and wes are there so
#: the finance and warehouse routes have someone to pick.
GROUPS = {"first_line": ["amy"], "finance": ["fay"], "warehouse": ["wes"], "supervisors": ["sol"]}
ROLES = {"agent": ["amy", "fay", "wes"], "supervisor": ["sol"]}
SUPPORT = ["amy", "sol"]
TICKETS = "/api/v1/records/customer_center/ticket"
SUBJECT = "Printer jams on every page"


def _client(live: Any) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=live.app, client=("127.0.0.1", 50002))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def _install(live: Any) -> dict[str, Account]:
    """The groups, a SUPPORT department, the people and their roles, and the template."""

    async def arrange(sessions: Any) -> dict[str, Account]:
        async with _client(live) as client:
            admin = await make_account(client, sessions, "admin", ADMIN_PASSWORD, admin=True)
            names = {n for members in GROUPS.values() for n in members}
            people = {n: await make_account(client, sessions, n, PASSWORD) for n in sorted(names)}
            for key, members in GROUPS.items():
                await make_group(client, admin, key, [people[n].id for n in members])
            support = await department(client, admin, "SUPPORT")
            for name in SUPPORT:
                await join(client, admin, support["id"], people[name].id, is_primary=True)
            app = await template.install(client, admin)
            roles = await client.get(
                "/api/v1/roles", params={"app_id": app["id"]}, headers=admin.headers
            )
            assert roles.status_code == 200, roles.text
            by_key = {r["key"]: r["id"] for r in roles.json()["items"]}
            for key, members in ROLES.items():
                for name in members:
                    added = await client.put(
                        f"/api/v1/roles/{by_key[key]}/members/{people[name].id}",
                        headers=admin.headers,
                    )
                    assert added.status_code == 200, added.text
            return {"admin": admin, **people}

    return live.run(arrange, timeout=120)


def _ticket(live: Any, who: Account, ticket_id: int, check: Any = bool) -> dict[str, Any]:
    """The ticket (``GET …/ticket/{id}``) once ``check(ticket)`` holds: rules and flows act
    after the write commits, on the worker (bounded polling)."""

    async def read(sessions: Any) -> dict[str, Any]:
        async with _client(live) as client:

            async def probe() -> dict[str, Any] | None:
                got = await client.get(f"{TICKETS}/{ticket_id}", headers=who.headers)
                assert got.status_code == 200, got.text
                return got.json() if check(got.json()) else None

            return dict(await eventually(probe, timeout=30, message=f"ticket {ticket_id}"))

    return live.run(read, timeout=60)


def _sla(live: Any, who: Account, ticket_id: int) -> dict[str, Any]:
    async def read(sessions: Any) -> dict[str, Any]:
        async with _client(live) as client:
            got = await client.get(f"{TICKETS}/{ticket_id}/sla", headers=who.headers)
            assert got.status_code == 200, got.text
            return dict(got.json())

    return live.run(read)


def _create(live: Any, who: Account, form: str, **values: Any) -> dict[str, Any]:
    async def write(sessions: Any) -> dict[str, Any]:
        async with _client(live) as client:
            made = await client.post(
                f"/api/v1/records/customer_center/{form}",
                json={"values": values},
                headers=who.headers,
            )
            assert made.status_code == 201, made.text
            return dict(made.json())

    return live.run(write)


def _sign_in(page: Any, live: Any, username: str, next_url: str = "/inbox") -> None:
    page.context.clear_cookies()
    page.goto(f"{live.url}/sign-in?next={next_url}")
    page.fill("#f-username", username)
    page.fill("#f-password", PASSWORD)
    page.click("form[action='/sign-in'] button[type=submit]")
    page.wait_for_url(f"{live.url}{next_url}")


def _wait_for_task(
    live: Any, who: Account, ticket_id: int, node: str, box: str = "mine"
) -> dict[str, Any]:
    """The open task at step ``node`` on the ticket in ``who``'s ``box``, once the flow (on
    the worker) has made it (bounded polling of ``GET /api/v1/tasks``)."""

    async def read(sessions: Any) -> dict[str, Any]:
        async with _client(live) as client:

            async def probe() -> dict[str, Any] | None:
                got = await client.get("/api/v1/tasks", params={"box": box}, headers=who.headers)
                assert got.status_code == 200, got.text
                found = [
                    t
                    for t in got.json()["items"]
                    if t["record_id"] == ticket_id and t["node"] == node
                ]
                return found[0] if found else None

            return dict(await eventually(probe, timeout=30, message=f"task {node}"))

    return live.run(read, timeout=60)


def _open_task(page: Any, live: Any, name: str, box: str = "mine") -> None:
    """Open the inbox's ``box``, then the task called ``name`` from it."""
    page.goto(f"{live.url}/inbox?box={box}")
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("heading", level=1, name=name).wait_for()


def _value(page: Any, field: str) -> str:
    """What a read-only field of the step's form shows."""
    return str(page.locator(f'[data-field="{field}"] .field__value').inner_text()).strip()


def _shown(page: Any, field: str) -> str:
    """What the record page shows for ``field``."""
    return str(page.locator(f'.record-field[data-field="{field}"] dd').inner_text()).strip()


def _choose(page: Any, field: str, option: str) -> None:
    """Pick ``option`` of a choice field (its radio buttons, by their labels)."""
    page.locator(f'[data-field="{field}"]').get_by_label(option, exact=True).check()


@pytest.mark.worker
@pytest.mark.both_databases
def test_an_agent_works_a_ticket_from_the_inbox_to_resolution(page, live):
    people = _install(live)
    amy, sol, admin = people["amy"], people["sol"], people["admin"]

    # The phone rings: amy takes the ticket on the form page.
    _sign_in(page, live, "amy", "/apps/customer_center/forms/ticket/new")
    page.fill("#f-subject", SUBJECT)
    page.fill("#f-description", "Paper jams in tray 2 since Monday.")
    _choose(page, "channel", "Phone")
    page.click("button.button--primary")
    page.wait_for_url(re.compile(r".*/forms/ticket/records/\d+$"))
    ticket_id = int(page.url.rsplit("/", 1)[1])

    # Keyword routing: no finance or warehouse word, so first line, round robin → amy.
    routed = _ticket(live, admin, ticket_id, lambda t: t["values"]["assignee"])
    assert routed["values"]["team"] == "first_line"
    assert routed["values"]["assignee"] == amy.id
    assert routed["values"]["status"] == "triage"
    assert routed["values"]["number"].startswith("TK-")

    # The supervisor triages it from their inbox: category, priority, team, assignee.
    # The step is offered to the role: it waits in "my groups' tasks" until someone claims it.
    _wait_for_task(live, sol, ticket_id, "triage", box="group")
    _sign_in(page, live, "sol")
    _open_task(page, live, "Triage", box="group")
    page.get_by_role("button", name="Claim this task").click()
    page.get_by_text("You claimed the task.").wait_for()
    assert _value(page, "subject") == SUBJECT
    assert _value(page, "number") == routed["values"]["number"]
    _choose(page, "category", "Repair")
    _choose(page, "priority", "High")
    _choose(page, "team", "First-line support")
    page.get_by_role("button", name="Complete").click()
    page.get_by_text("The task is done.").wait_for()

    started = _ticket(live, admin, ticket_id, lambda t: t["values"]["status"] == "in_progress")
    assert started["values"]["category"] == "repair"
    assert started["values"]["priority"] == "high"
    assert started["values"]["resolved_at"] is None
    # Triage and the flow's "Start work" are no answer to the customer: no first response
    # yet, and the SLA's response clock still runs.
    assert started["values"]["first_response_at"] is None
    assert _sla(live, admin, ticket_id)["responded_at"] is None

    # amy opens her inbox and the work step: the ticket's fields are on the page.
    _wait_for_task(live, amy, ticket_id, "work")
    _sign_in(page, live, "amy")
    _open_task(page, live, "Work the ticket")
    assert _value(page, "subject") == SUBJECT
    assert _value(page, "category") == "Repair" and _value(page, "priority") == "High"
    assert page.get_by_label("Description").input_value() == "Paper jams in tray 2 since Monday."

    # The record page: the timeline has the rule's and the flow's changes; she replies.
    with page.expect_navigation():
        page.get_by_role("link", name=f"#{ticket_id}").click()
    timeline = page.get_by_role("list", name="Timeline, newest first")
    timeline.locator(".timeline__item").first.wait_for()
    history = timeline.inner_text()
    assert "created the record" in history and "by a rule" in history and "in a flow" in history
    page.get_by_label("Comment").fill("Replaced the pickup roller; please try again.")
    page.get_by_role("button", name="Post").click()
    timeline.get_by_text("Replaced the pickup roller; please try again.").wait_for()
    # A comment on the record is no message to the customer either.
    assert _ticket(live, admin, ticket_id)["values"]["first_response_at"] is None

    # Waiting on the customer: the work step completed with that status. Nothing was sent
    # to the customer, so amy's parking the ticket is its first response (rule
    # first_response_status), stamped now and not at triage.
    page.go_back()
    _open_task(page, live, "Work the ticket")
    _choose(page, "status", "Waiting on customer")
    page.get_by_role("button", name="Complete").click()
    page.get_by_text("The task is done.").wait_for()
    waiting = _ticket(live, admin, ticket_id, lambda t: t["values"]["status"] == "waiting_customer")
    assert waiting["values"]["first_response_at"]
    stamped = datetime.fromisoformat(waiting["values"]["first_response_at"])
    assert stamped > datetime.fromisoformat(started["updated_at"])  # after triage, not at it
    clock = _sla(live, admin, ticket_id)
    assert clock["paused"] is True and clock["responded_at"]
    _wait_for_task(live, amy, ticket_id, "waiting")
    first_response = waiting["values"]["first_response_at"]

    # The customer answers (the mail channel files an inbound communication on the ticket):
    # the reply rule stamps customer_replied_at and puts the ticket back in progress, and
    # the resolution clock runs again.
    _create(
        live,
        amy,
        "communication",
        ticket=ticket_id,
        direction="inbound",
        channel="email",
        body="Still jamming, now in tray 1 as well.",
    )
    replied = _ticket(live, admin, ticket_id, lambda t: t["values"]["status"] == "in_progress")
    assert replied["values"]["customer_replied_at"]
    assert _sla(live, admin, ticket_id)["paused"] is False

    # amy closes the waiting step from her inbox and is back at work on the ticket …
    _open_task(page, live, "Waiting on customer")
    assert page.locator('[data-field="status"]').get_by_label("In progress").is_checked()
    page.get_by_role("button", name="Complete").click()
    page.get_by_text("The task is done.").wait_for()
    _wait_for_task(live, amy, ticket_id, "work")

    # … and resolves it: the work step completed with status Resolved.
    _open_task(page, live, "Work the ticket")
    _choose(page, "status", "Resolved")
    page.locator("#task-comment").fill("Customer confirmed the printer works.")
    page.get_by_role("button", name="Complete").click()
    page.get_by_text("The task is done.").wait_for()
    resolved = _ticket(live, admin, ticket_id, lambda t: t["values"]["resolved_at"])
    values = resolved["values"]
    assert values["status"] == "resolved"
    assert values["first_response_at"] == first_response  # stamped once, not again
    assert values["resolution_minutes"] >= 0 and values["first_contact_resolution"] is True
    clock = _sla(live, admin, ticket_id)
    assert clock["resolved_at"] and clock["responded_at"]
    # The flow waits out the 7-day reopen window with amy.
    _wait_for_task(live, amy, ticket_id, "reopen_window")

    # The record page shows it resolved, with its stamps, the reply and the steps.
    page.goto(f"{live.url}/apps/customer_center/forms/ticket/records/{ticket_id}")
    assert _shown(page, "status") == "Resolved"
    assert _shown(page, "resolved_at") and _shown(page, "first_response_at")
    timeline = page.get_by_role("list", name="Timeline, newest first")
    assert "Replaced the pickup roller; please try again." in timeline.inner_text()
    processes = page.locator("#flows-title").locator("xpath=..")
    assert "Resolved (can reopen for 7 days)" in processes.inner_text()
    assert page.errors == []
