"""The task inbox pages: boxes with due dates, claim and release, a two-step approval worked
from the task pages by two users, the step's field rights, return, transfer, errors shown as
messages (403, 409, 422), CSRF, the instance history and the record's flow position — on both
databases."""

from __future__ import annotations

import re

import pytest

from tests.runtime.flows.conftest import chain, flow, org, people, publish_flows
from tests.runtime.web.pages import field_errors, sign_in

pytestmark = pytest.mark.asyncio
PASSWORD = "Pass-word-2026x"
__all__ = ["people"]  # the fixture, shared with the flows tests


def task(node_id: str, assignee: dict, **extra) -> dict:
    return {"id": node_id, "type": "user_task", "assignee": assignee, **extra}


def linear(key: str, *tasks: dict, **extra) -> dict:
    nodes = [{"id": "start", "type": "start"}, *tasks, {"id": "end", "type": "end"}]
    return flow(key, nodes, chain("start", *[t["id"] for t in tasks], "end"), **extra)


TWO_STEP = linear(
    "approval",
    task(
        "first",
        {"kind": "user", "key": "manager1"},
        name={"en": "Manager approval"},
        fields={"amount": "editable", "resolution": "required", "secret": "hidden"},
        due="PT24H",
    ),
    task(
        "second",
        {"kind": "user", "key": "director"},
        name={"en": "Director approval"},
        return_to=["first"],
    ),
)


async def as_user(client, name: str) -> str:
    client.cookies.clear()
    return await sign_in(client, name, PASSWORD)


def step(token: str, action: str, **fields: str) -> dict:
    """A task form as the page posts it: the fields it offered (``_fields``) and the action."""
    return {"csrf_token": token, "_action": action, "_fields": list(fields), **fields}


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td><a href="/inbox/tasks/(\d+)">', html)]


async def _started(client, admin, people, flows=(TWO_STEP,), **values):
    app = await publish_flows(client, admin, list(flows))
    record = await app.record(people["requester"], title="New laptop", secret="s3cret", **values)
    started = await app.start(people["requester"], flows[0]["key"], record["id"])
    assert started.status_code == 201, started.text
    return app, record, started.json()["id"]


async def test_two_step_approval_worked_from_the_pages(client, admin, sessions, people):
    app, record, instance_id = await _started(client, admin, people, amount=900)
    token = await as_user(client, "manager1")
    inbox = await client.get("/inbox")
    assert inbox.status_code == 200
    [first] = task_ids(inbox.text)
    assert "Manager approval" in inbox.text and "approval" in inbox.text
    assert f'href="/apps/desk/forms/request/records/{record["id"]}"' in inbox.text
    page = await client.get(f"/inbox/tasks/{first}")
    assert page.status_code == 200
    assert "New laptop" in page.text and "s3cret" not in page.text  # hidden at this step
    # the form page's controls for the fields the step lets the manager edit, values otherwise
    assert '<textarea id="f-resolution" name="resolution"' in page.text
    assert 'name="amount" type="number"' in page.text
    assert 'name="title"' not in page.text and 'value="title"' not in page.text  # read-only
    # the required field missing: shown under the field, nothing done
    missing = await client.post(
        f"/inbox/tasks/{first}/complete",
        data=step(token, "approve", amount="900", resolution=""),
    )
    assert missing.status_code == 422
    assert field_errors(missing.text, "resolution") == ["This field is required at this step."]
    bad = await client.post(
        f"/inbox/tasks/{first}/complete",
        data=step(token, "approve", amount="lots", resolution="x"),
    )
    assert bad.status_code == 422 and field_errors(bad.text, "amount") == [
        "Expected a whole number."
    ]
    approved = await client.post(
        f"/inbox/tasks/{first}/complete",
        # a read-only field sent anyway is not the page's to change: left as it is
        data={
            **step(token, "approve", amount="950", resolution="budget ok", title="Changed"),
            "_comment": "fine by me",
        },
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == f"/inbox/tasks/{first}?done=approve"
    shown = await client.get(approved.headers["location"])
    assert "You approved." in shown.text and "fine by me" in shown.text
    stored = (await client.get(f"{app.records}/{record['id']}", headers=admin.headers)).json()
    assert stored["values"]["amount"] == 950 and stored["values"]["resolution"] == "budget ok"
    assert stored["values"]["title"] == "New laptop"
    done = await client.get("/inbox", params={"box": "done"})
    assert task_ids(done.text) == [first]

    # the same task again: 409, shown as a message
    again = await client.post(f"/inbox/tasks/{first}/complete", data=step(token, "approve"))
    assert again.status_code == 409 and "already done" in again.text

    # the requester follows it but may not work the director's task: 403 as a message
    token = await as_user(client, "requester")
    started = await client.get("/inbox", params={"box": "started"})
    assert f'href="/inbox/instances/{instance_id}"' in started.text
    detail = await app.instance(admin, instance_id)
    [second] = [t["id"] for t in detail["tasks"]]
    seen = await client.get(f"/inbox/tasks/{second}")
    assert seen.status_code == 200 and "not yours to work on" in seen.text.replace("\n", " ")
    refused = await client.post(f"/inbox/tasks/{second}/complete", data=step(token, "approve"))
    assert refused.status_code == 403 and "not yours to work on" in refused.text

    token = await as_user(client, "director")
    record_page = await client.get(f"/apps/desk/forms/request/records/{record['id']}")
    assert "Director approval" in record_page.text and "with director" in record_page.text
    assert f'href="/inbox/tasks/{second}">Open the task' in record_page.text
    approved = await client.post(f"/inbox/tasks/{second}/complete", data=step(token, "approve"))
    assert approved.status_code == 303
    history = await client.get(f"/inbox/instances/{instance_id}")
    assert history.status_code == 200
    assert '<span class="badge badge--completed">Finished</span>' in history.text
    steps = re.findall(r"<strong class=\"history__action\">(.*?)</strong>", history.text)
    assert steps[0] == "Started" and steps[-1] == "Finished" and steps.count("Approved") == 2
    assert "fine by me" in history.text and "manager1" in history.text


async def test_group_tasks_are_claimed_and_released(client, admin, sessions, people):
    await org(sessions, people)
    pooled = linear("pool", task("work", {"kind": "group", "key": "team_a"}))
    await _started(client, admin, people, flows=(pooled,))
    token = await as_user(client, "agent1")
    assert task_ids((await client.get("/inbox")).text) == []
    group = await client.get("/inbox", params={"box": "group"})
    [task_id] = task_ids(group.text)
    claimed = await client.post(
        f"/inbox/tasks/{task_id}/claim", data={"csrf_token": token, "back": "/inbox?box=mine"}
    )
    assert (
        claimed.status_code == 303 and claimed.headers["location"] == "/inbox?box=mine&done=claim"
    )
    mine = await client.get(claimed.headers["location"])
    assert task_ids(mine.text) == [task_id] and "You claimed the task." in mine.text
    assert f'action="/inbox/tasks/{task_id}/release"' in mine.text

    # someone else of the group finds it taken: 409 as a message
    other = await as_user(client, "agent2")
    assert task_ids((await client.get("/inbox", params={"box": "group"})).text) == []
    taken = await client.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": other})
    assert taken.status_code == 409 and "Someone has already claimed this task." in taken.text

    token = await as_user(client, "agent1")
    released = await client.post(
        f"/inbox/tasks/{task_id}/release", data={"csrf_token": token, "back": "/inbox?box=group"}
    )
    assert released.status_code == 303
    assert task_ids((await client.get("/inbox", params={"box": "group"})).text) == [task_id]

    other = await as_user(client, "agent2")
    claimed = await client.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": other})
    assert claimed.status_code == 303
    token = await as_user(client, "agent1")
    late = await client.post(f"/inbox/tasks/{task_id}/claim", data={"csrf_token": token})
    assert late.status_code == 409 and "already claimed" in late.text


async def test_return_and_transfer_from_the_task_page(client, admin, sessions, people):
    app, _, instance_id = await _started(client, admin, people)
    token = await as_user(client, "manager1")
    [first] = task_ids((await client.get("/inbox")).text)
    unknown = await client.post(
        f"/inbox/tasks/{first}/transfer", data={"csrf_token": token, "to": "nobody"}
    )
    assert unknown.status_code == 422
    assert field_errors(unknown.text, "to") == ["Choose an active user by their username."]
    moved = await client.post(
        f"/inbox/tasks/{first}/transfer",
        data={"csrf_token": token, "to": "@manager2", "comment": "on holiday"},
    )
    assert moved.status_code == 303 and moved.headers["location"] == "/inbox?done=transfer"
    token = await as_user(client, "manager2")
    [first] = task_ids((await client.get("/inbox")).text)
    page = await client.get(f"/inbox/tasks/{first}")
    assert 'name="to"' in page.text and "data-user-picker" in page.text
    done = await client.post(
        f"/inbox/tasks/{first}/complete",
        data=step(token, "approve", resolution="ok"),
    )
    assert done.status_code == 303

    token = await as_user(client, "director")
    [second] = task_ids((await client.get("/inbox")).text)
    page = await client.get(f"/inbox/tasks/{second}")
    assert '<option value="first">Manager approval</option>' in page.text
    back = await client.post(
        f"/inbox/tasks/{second}/return",
        data={"csrf_token": token, "target": "first", "comment": "more detail"},
    )
    assert back.status_code == 303
    detail = await app.instance(admin, instance_id)
    assert [p["node"] for p in detail["position"]] == ["first"]
    history = (await client.get(f"/inbox/instances/{instance_id}")).text
    assert "Returned to an earlier step" in history and "to Manager approval" in history
    assert "Transferred the task" in history and "to manager2" in history


async def test_inbox_writes_need_the_csrf_token(client, admin, sessions, people):
    app, _, _ = await _started(client, admin, people)
    await as_user(client, "manager1")
    [first] = task_ids((await client.get("/inbox")).text)
    refused = await client.post(f"/inbox/tasks/{first}/complete", data={"_action": "approve"})
    assert refused.status_code == 403
    assert [t["id"] for t in await app.tasks(people["manager1"])] == [first]


async def test_inbox_pages_and_filters_by_app(client, admin, sessions, people):
    await _started(client, admin, people)
    await as_user(client, "manager1")
    page = await client.get("/inbox", params={"app": "desk"})
    assert len(task_ids(page.text)) == 1 and 'href="/inbox?app=desk"' in page.text
    assert task_ids((await client.get("/inbox", params={"app": "other"})).text) == []
    assert "badge--danger" not in page.text  # due tomorrow: not overdue
    assert re.search(r"<td><time datetime=\"[^\"]+\">[^<]+</time>\s*</td>", page.text)
    assert (await client.get("/inbox", params={"box": "nonsense"})).status_code == 422
    assert (await client.get("/inbox/tasks/999999")).status_code == 404


async def test_a_step_sets_a_user_field_through_the_form_pages_picker(
    client, admin, sessions, people
):
    picking = linear(
        "pick",
        task("first", {"kind": "user", "key": "manager1"}, fields={"agent": "required"}),
    )
    app, record, _ = await _started(client, admin, people, flows=(picking,))
    token = await as_user(client, "manager1")
    [first] = task_ids((await client.get("/inbox")).text)
    page = await client.get(f"/inbox/tasks/{first}")
    source = f"/apps/desk/forms/request/fields/agent/options?task={first}"
    # the form page's picker, searching through the task; required at this step
    assert f'data-picker\n    data-source="{source}" aria-required="true">' in page.text
    found = await client.get(source, params={"q": "agent1"})
    assert found.status_code == 200
    assert [i["value"] for i in found.json()["items"]] == [people["agent1"].id]
    done = await client.post(
        f"/inbox/tasks/{first}/complete",
        data=step(token, "complete", agent=str(people["agent1"].id)),
    )
    assert done.status_code == 303
    stored = (await client.get(f"{app.records}/{record['id']}", headers=admin.headers)).json()
    assert stored["values"]["agent"] == people["agent1"].id
    # the task is done: its page shows the record as values, and its choices are closed
    page = await client.get(f"/inbox/tasks/{first}")
    assert 'name="agent"' not in page.text and "data-picker" not in page.text
    assert (await client.get(source)).status_code == 403
    # someone else never searches through a task that is not theirs
    await as_user(client, "manager2")
    assert (await client.get(source)).status_code == 404
