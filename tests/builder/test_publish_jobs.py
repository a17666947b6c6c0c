"""Publishing as a job: 202 with the job, progress through the stages, the version in the
result; refused publishes end the job with the problem — on both databases."""

from __future__ import annotations

from builder.apps import publish_jobs
from runtime.jobs.context import JobContext
from runtime.jobs.models import DONE, Job
from runtime.jobs.worker import Worker
from tests.builder.test_apps import insert_row
from tests.runtime.records.conftest import publish_app
from tests.support.jobs import eventually, running

ZH = {"Accept-Language": "zh-CN"}


def _forms(ids: dict[str, int]) -> list[dict]:
    return [
        {
            "id": ids["ticket"],
            "key": "ticket",
            "label": {"en": "Ticket"},
            "fields": [{"id": 1, "key": "code", "type": "text", "label": {"en": "Code"}}],
        }
    ]


async def _done(app, job_id: int) -> bool:
    async with app.state.read_sessions() as db:
        return (await db.get(Job, job_id)).status == DONE


async def _start(client, admin, desk, headers=None):
    draft = await desk.draft()
    return await client.post(
        f"{desk.base}/publish-jobs",
        json={"row_version": draft["row_version"], "note": "by job"},
        headers={**admin.headers, **(headers or {})},
    )


async def test_publish_as_a_job(client, admin, app, sessions, settings):
    desk = await publish_app(client, admin, "desk", ["ticket"], _forms)
    draft = await desk.draft()
    form = draft["definition"]["forms"][0]
    added = {"id": 2, "key": "note", "type": "text", "label": {"en": "Note"}}
    assert (
        await desk.save(draft, [{**form, "fields": [*form["fields"], added]}])
    ).status_code == 200

    started = await _start(client, admin, desk, ZH)
    assert started.status_code == 202, started.text
    job_id = started.json()["job_id"]
    assert started.json() == {"job_id": job_id, "status": "queued", "url": f"/api/v1/jobs/{job_id}"}
    async with running(Worker(sessions, settings)):
        await eventually(lambda: _done(app, job_id), timeout=60, message="publish job done")
    shown = (await client.get(f"/api/v1/jobs/{job_id}", headers=admin.headers)).json()
    assert shown["progress_percent"] == 100.0 and shown["progress_message"] == "已发布版本 2"
    result = shown["result"]
    assert result["ok"] is True and result["version"]["number"] == 2
    assert result["version"]["note"] == "by job"
    assert [op["op"] for op in result["operations"]] == ["add_column"]
    versions = (await client.get(f"{desk.base}/versions", headers=admin.headers)).json()
    assert versions[0]["number"] == 2 and versions[0]["status"] == "published"

    stale = await client.post(
        f"{desk.base}/publish-jobs", json={"row_version": 1}, headers=admin.headers
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"


async def test_the_job_reports_each_stage_and_refusals(client, admin, sessions, settings):
    desk = await publish_app(client, admin, "desk", ["ticket"], _forms)
    form = (await desk.draft())["definition"]["forms"][0]
    await insert_row(sessions, form, {"f_1": "A" * 30})
    draft = await desk.draft()
    calls: list[tuple[float, str | None]] = []

    async def record(_ctx, percent, message):
        calls.append((percent, message))

    async def run(payload: dict) -> dict:
        async with sessions() as db:
            ctx = JobContext(1, publish_jobs.PUBLISH_JOB, payload, 1, "t", db, settings, record)
            result = await publish_jobs.publish_app(ctx)
            await db.commit()
        return result

    payload = {"app_id": int(desk.base.rsplit("/", 1)[1]), "user_id": admin.id, "locale": "en"}
    shrunk = {**form["fields"][0], "options": {"max_length": 10}}
    assert (await desk.save(draft, [{**form, "fields": [shrunk]}])).status_code == 200
    draft = await desk.draft()
    refused = await run({**payload, "row_version": draft["row_version"]})
    assert refused["ok"] is False and refused["problem"]["code"] == "publish_blocked"
    assert [m for _, m in calls] == [
        "Validating the app",
        "Planning the changes",
        "Not published",
    ]

    calls.clear()
    wide = {**form["fields"][0], "options": {"max_length": 40}}
    assert (await desk.save(draft, [{**form, "fields": [wide]}])).status_code == 200
    draft = await desk.draft()
    done = await run({**payload, "row_version": draft["row_version"]})
    assert done["ok"] is True and done["version"]["number"] == 2
    assert calls == [
        (5.0, "Validating the app"),
        (25.0, "Planning the changes"),
        (50.0, "Migrating tables"),
        (80.0, "Applying the new version"),
        (100.0, "Published version 2"),
    ]
    stale = await run({**payload, "row_version": draft["row_version"] - 1})
    assert stale["ok"] is False and stale["problem"]["code"] == "conflict"
