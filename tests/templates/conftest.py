"""Fixtures of the template tests: the sample helpdesk published with records, and helpers to
import a template through the API and wait for its job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from runtime.jobs.models import DEAD, DONE, Job
from runtime.jobs.worker import Worker
from tests.runtime.records.conftest import AppUnderTest, publish_app
from tests.support.jobs import eventually, running
from tests.templates import sample


@dataclass
class Desk:
    app: AppUnderTest
    app_id: int
    customers: list[dict[str, Any]]
    tickets: list[dict[str, Any]]


async def publish_sample(client, admin, key: str = "desk") -> Desk:
    under_test = await publish_app(
        client,
        admin,
        key,
        ["customer", "ticket"],
        sample.forms,
        permissions=sample.PERMISSIONS,
        roles=sample.ROLES,
    )
    draft = await under_test.draft()
    definition = {
        **draft["definition"],
        **{k: v for k, v in sample.definition(under_test.ids).items() if k != "forms"},
    }
    saved = await client.put(
        f"{under_test.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    published = await under_test.publish()
    assert published.status_code == 200, published.text
    customers, tickets = [], []
    for name, level in (("ACME 阿克米", "gold"), ("Globex", "basic")):
        created = await client.post(
            under_test.url("customer"),
            json={"values": {"name": name, "level": level}},
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        customers.append(created.json())
    for subject, customer in (("打印机坏了", 0), ("VPN", 1), ("Invoice", 0)):
        created = await client.post(
            under_test.url("ticket"),
            json={
                "values": {
                    "subject": subject,
                    "priority": "normal",
                    "status": "new",
                    "customer": customers[customer]["id"],
                }
            },
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        tickets.append(created.json())
    app_id = int(under_test.base.rsplit("/", 1)[1])
    return Desk(under_test, app_id, customers, tickets)


@pytest.fixture
async def desk(client, admin) -> Desk:
    return await publish_sample(client, admin)


async def finish_job(app, sessions, settings, client, admin, job_id: int) -> dict[str, Any]:
    """Run a worker until the job ends; the job as the API shows it."""

    async def ended() -> bool:
        async with app.state.read_sessions() as db:
            return (await db.get(Job, job_id)).status in (DONE, DEAD)

    async with running(Worker(sessions, settings)):
        await eventually(ended, timeout=90, message=f"job {job_id} ended")
    shown = await client.get(f"/api/v1/jobs/{job_id}", headers=admin.headers)
    assert shown.status_code == 200, shown.text
    return dict(shown.json())


async def upload(client, admin, data: bytes, path: str = "imports", **form: Any):
    return await client.post(
        f"/api/v1/templates/{path}",
        files={"file": ("template.zip", data, "application/zip")},
        data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
        headers=admin.headers,
    )
