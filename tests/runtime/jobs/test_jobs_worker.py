"""The worker loop in-process, on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from runtime.auth.models import AuthFailure, UserSession
from runtime.db import utcnow
from runtime.jobs import queue
from runtime.jobs.builtin import FINISHED_JOB_RETENTION
from runtime.jobs.models import DEAD, DONE, QUEUED, RUNNING, Job, WorkerProcess
from runtime.jobs.registry import HandlerRegistry
from runtime.jobs.worker import CLEANUP_JOB, Worker
from runtime.net.models import WebhookDelivery
from runtime.users import service as users
from tests.runtime.jobs.plugin_handlers import EFFECT, FAIL, effects
from tests.support.jobs import eventually, job, running


async def enqueue_many(sessions, count, name=EFFECT, **kw) -> list[int]:
    async with sessions() as db:
        ids = [await queue.enqueue(db, name, {"n": i}, **kw) for i in range(count)]
        await db.commit()
    return ids


async def statuses(sessions, ids) -> dict[int, str]:
    async with sessions() as db:
        rows = await db.execute(select(Job.id, Job.status).where(Job.id.in_(ids)))
        return dict(rows.all())


async def all_in(sessions, ids, status) -> bool:
    return set((await statuses(sessions, ids)).values()) == {status}


async def effect_rows(sessions):
    async with sessions() as db:
        return (await db.execute(select(effects).order_by(effects.c.id))).all()


async def test_worker_runs_each_job_exactly_once(sessions, settings, effects_table):
    ids = await enqueue_many(sessions, 40)
    worker = Worker(sessions, settings, concurrency=4)
    async with running(worker):
        await eventually(lambda: all_in(sessions, ids, DONE), message="40 jobs done")
    rows = await effect_rows(sessions)
    assert sorted(r.job_id for r in rows) == ids
    async with sessions() as db:
        attempts = (await db.execute(select(Job.attempts).where(Job.id.in_(ids)))).scalars()
        assert set(attempts) == {1}
    assert worker.jobs_done >= 40


async def test_two_workers_share_the_queue_without_running_a_job_twice(
    sessions, settings, effects_table
):
    ids = await enqueue_many(sessions, 60)
    a = Worker(sessions, settings, concurrency=3, worker_id="host:1:a")
    b = Worker(sessions, settings, concurrency=3, worker_id="host:2:b")
    async with running(a, b):
        await eventually(lambda: all_in(sessions, ids, DONE), message="60 jobs done")
    rows = await effect_rows(sessions)
    assert len(rows) == 60 and {r.job_id for r in rows} == set(ids)
    async with sessions() as db:
        holders = await db.execute(
            select(Job.locked_by, func.count()).where(Job.id.in_(ids)).group_by(Job.locked_by)
        )
        assert sum(dict(holders.all()).values()) == 60


async def test_failing_handler_retries_then_dies_with_its_error(sessions, settings, effects_table):
    [job_id] = await enqueue_many(sessions, 1, FAIL, max_attempts=3)
    async with running(Worker(sessions, settings)):
        await eventually(lambda: all_in(sessions, [job_id], DEAD), message="job dead")
    stored = await job(sessions, job_id)
    assert stored.attempts == 3
    assert "RuntimeError: boom" in stored.last_error and "Traceback" in stored.last_error
    assert await effect_rows(sessions) == []  # every attempt's writes rolled back


async def test_unknown_handler_makes_the_job_dead_with_a_clear_error(sessions, settings):
    [job_id] = await enqueue_many(sessions, 1, "no.such.job")
    async with running(Worker(sessions, settings)):
        await eventually(lambda: all_in(sessions, [job_id], DEAD), message="job dead")
    stored = await job(sessions, job_id)
    assert stored.attempts == 1
    assert stored.last_error == "no handler registered for 'no.such.job'"


async def test_handler_timeout_counts_as_a_failure(sessions, settings):
    registry = HandlerRegistry()

    @registry.register("test.hang", timeout_seconds=0.1)
    async def hang(ctx):
        await asyncio.sleep(30)

    [job_id] = await enqueue_many(sessions, 1, "test.hang", max_attempts=1)
    async with running(Worker(sessions, settings, registry=registry)):
        await eventually(lambda: all_in(sessions, [job_id], DEAD), message="job dead")
    assert "TimeoutError" in (await job(sessions, job_id)).last_error


async def test_graceful_stop_waits_for_the_running_job(sessions, settings, effects_table):
    started, release = asyncio.Event(), asyncio.Event()
    registry = HandlerRegistry()

    @registry.register("test.wait")
    async def wait(ctx):
        started.set()
        await release.wait()
        await ctx.session.execute(insert(effects).values(job_id=ctx.job_id, attempt=1, pid=0))
        return {"waited": True}

    first, second = await enqueue_many(sessions, 2, "test.wait")
    worker = Worker(sessions, settings, concurrency=1, registry=registry)
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.wait_for(started.wait(), 10)
        async with sessions() as db:
            assert await db.get(WorkerProcess, worker.id) is not None
        worker.stop()
        await asyncio.sleep(0.3)  # the worker must keep waiting for the job
        assert not task.done()
        release.set()
        await asyncio.wait_for(task, 10)
    finally:
        worker.stop()
        release.set()
        await asyncio.wait_for(task, 10)
    assert (await job(sessions, first)).status == DONE
    assert (await job(sessions, first)).result == {"waited": True}
    assert (await job(sessions, second)).status == QUEUED  # nothing new after stop()
    assert len(await effect_rows(sessions)) == 1
    async with sessions() as db:
        assert await db.get(WorkerProcess, worker.id) is None  # deregistered


async def test_a_worker_that_lost_its_lease_cannot_commit(sessions, settings, effects_table):
    started, release = asyncio.Event(), asyncio.Event()
    registry = HandlerRegistry()

    @registry.register("test.slow")
    async def slow(ctx):
        started.set()
        await release.wait()
        await ctx.session.execute(insert(effects).values(job_id=ctx.job_id, attempt=1, pid=1))

    [job_id] = await enqueue_many(sessions, 1, "test.slow")
    worker = Worker(sessions, settings, concurrency=1, registry=registry)
    async with running(worker):
        await asyncio.wait_for(started.wait(), 10)
        # The worker looks dead to the others: its lease ran out and another worker took over.
        async with sessions() as db:
            await db.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(lease_expires_at=utcnow() - timedelta(seconds=1))
            )
            await db.commit()
        async with sessions() as db:
            [taken] = await queue.claim(db, "other", limit=1, lease_seconds=60)
        release.set()
        await eventually(lambda: _idle(worker), message="the handler to end")
    stored = await job(sessions, job_id)
    assert (stored.status, stored.locked_by, stored.attempts) == (RUNNING, "other", 2)
    assert await effect_rows(sessions) == []  # the first worker's writes rolled back
    async with sessions() as db:
        await queue.complete(db, job_id, taken.lock_token, None)
        await db.commit()
    assert (await job(sessions, job_id)).status == DONE


async def _idle(worker: Worker) -> bool:
    return not worker._running


async def test_heartbeat_renews_the_lease_of_a_long_job(sessions, settings, effects_table):
    settings = settings.model_copy(update={"job_lease_seconds": 1.2})
    release = asyncio.Event()
    registry = HandlerRegistry()

    @registry.register("test.long")
    async def long(ctx):
        await release.wait()
        await ctx.session.execute(insert(effects).values(job_id=ctx.job_id, attempt=1, pid=2))

    [job_id] = await enqueue_many(sessions, 1, "test.long")
    worker = Worker(sessions, settings, concurrency=1, registry=registry)
    async with running(worker):
        try:
            await eventually(lambda: all_in(sessions, [job_id], RUNNING), message="job running")
            for _ in range(10):  # 2.5 s: more than two leases (renewed every 0.4 s)
                await asyncio.sleep(0.25)
                async with sessions() as db:
                    stolen = await queue.claim(db, "thief", limit=5, lease_seconds=60)
                assert job_id not in [j.id for j in stolen]  # (it may take the cleanup job)
        finally:
            release.set()
        await eventually(lambda: all_in(sessions, [job_id], DONE), message="job done")
    assert (await job(sessions, job_id)).attempts == 1
    assert len(await effect_rows(sessions)) == 1


async def test_worker_registers_and_schedules_cleanup_once_per_hour(sessions, settings):
    a = Worker(sessions, settings, kind="inprocess", concurrency=2)
    b = Worker(sessions, settings)
    async with running(a, b):

        async def registered():
            async with sessions() as db:
                return len((await db.execute(select(WorkerProcess))).scalars().all()) == 2

        await eventually(registered, message="both workers registered")

        async def cleanup_done():
            async with sessions() as db:
                rows = await db.execute(select(Job.status).where(Job.name == CLEANUP_JOB))
                return rows.scalars().all() == [DONE]

        await eventually(cleanup_done, message="one cleanup job, done")
        async with sessions() as db:
            row = await db.get(WorkerProcess, a.id)
            assert (row.kind, row.concurrency) == ("inprocess", 2)
    async with sessions() as db:
        assert (await db.execute(select(func.count()).select_from(WorkerProcess))).scalar() == 0


async def test_cleanup_deletes_expired_sessions_and_old_auth_failures(sessions, settings):
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    async with sessions() as db:
        user, _ = await users.create_user(db, None, username="carol", password="Carol-pass-2026")
        await db.flush()
        for token, expires in (("a" * 64, now - timedelta(hours=1)), ("b" * 64, now + window)):
            db.add(
                UserSession(token_hash=token, csrf_token="c", user_id=user.id, expires_at=expires)
            )
        db.add(AuthFailure(key="user:carol", at=now - window * 5, detail="old"))
        db.add(AuthFailure(key="user:carol", at=now - timedelta(seconds=5), detail="new"))
        old_done = await queue.enqueue(db, "test.any")
        await db.execute(
            update(Job)
            .where(Job.id == old_done)
            .values(status=DONE, finished_at=now - FINISHED_JOB_RETENTION - timedelta(days=1))
        )
        db.add(
            WorkerProcess(
                id="gone:1:x",
                hostname="gone",
                pid=1,
                kind="worker",
                concurrency=1,
                heartbeat_at=now - timedelta(days=2),
            )
        )
        for age in (timedelta(days=settings.webhook_log_days + 1), timedelta(days=1)):
            db.add(
                WebhookDelivery(
                    source_kind="flow",
                    source_key="desk/hook",
                    attempt=1,
                    method="POST",
                    url="http://127.0.0.1/hook",
                    request_bytes=0,
                    outcome="delivered",
                    duration_ms=1,
                    created_at=now - age,
                )
            )
        await db.commit()

    async with running(Worker(sessions, settings)):

        async def cleanup_result():
            async with sessions() as db:
                found = await db.execute(
                    select(Job).where(Job.name == CLEANUP_JOB, Job.status == DONE)
                )
                done = found.scalars().first()
                return done and done.result

        result = await eventually(cleanup_result, message="cleanup done")
    assert result == {
        "sessions": 1,
        "auth_failures": 1,
        "jobs": 1,
        "workers": 1,
        "webhook_deliveries": 1,
    }
    async with sessions() as db:
        hashes = (await db.execute(select(UserSession.token_hash))).scalars().all()
        details = (await db.execute(select(AuthFailure.detail))).scalars().all()
        assert hashes == ["b" * 64] and details == ["new"]
        assert await db.get(Job, old_done) is None
        assert await db.get(WorkerProcess, "gone:1:x") is None


async def test_the_web_app_runs_one_in_process_worker(sessions, settings, effects_table):
    from runtime.app import create_app

    application = create_app(settings.model_copy(update={"run_worker": True}))
    async with application.router.lifespan_context(application):
        worker = application.state.worker
        assert worker is not None and worker.kind == "inprocess"
        [job_id] = await enqueue_many(sessions, 1)
        await eventually(lambda: all_in(sessions, [job_id], DONE), message="job done")
    assert worker.stopping
    async with sessions() as db:
        assert await db.get(WorkerProcess, worker.id) is None
    assert [r.job_id for r in await effect_rows(sessions)] == [job_id]
