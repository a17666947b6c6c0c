"""The queue protocol on both databases: enqueue, claim, leases, finish, fail, backoff."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, update

from runtime.config import get_settings
from runtime.db import utcnow
from runtime.jobs import queue
from runtime.jobs.models import CANCELLED, DEAD, DONE, QUEUED, RUNNING, Job
from tests.runtime.jobs.plugin_handlers import EFFECT, effects
from tests.support.jobs import job


async def enqueue(sessions, name="test.any", **kw) -> int:
    async with sessions() as db:
        job_id = await queue.enqueue(db, name, kw.pop("payload", None), **kw)
        await db.commit()
        return job_id


async def claim(sessions, worker="w1", *, limit=10, lease=60.0) -> list[Job]:
    async with sessions() as db:
        return await queue.claim(db, worker, limit=limit, lease_seconds=lease)


async def set_job(sessions, job_id: int, **values) -> None:
    async with sessions() as db:
        await db.execute(update(Job).where(Job.id == job_id).values(**values))
        await db.commit()


async def expire_lease(sessions, job_id: int) -> None:
    await set_job(sessions, job_id, lease_expires_at=utcnow() - timedelta(seconds=1))


async def make_due(sessions, job_id: int) -> None:
    await set_job(sessions, job_id, run_at=utcnow() - timedelta(seconds=1))


async def test_enqueue_stores_a_queued_job(sessions):
    job_id = await enqueue(sessions, payload={"a": 1}, priority=3, max_attempts=7)
    stored = await job(sessions, job_id)
    assert (stored.status, stored.attempts, stored.max_attempts) == (QUEUED, 0, 7)
    assert stored.payload == {"a": 1} and stored.priority == 3
    assert stored.lock_token is None and stored.locked_by is None


async def test_max_attempts_defaults_to_the_handlers_then_tangram_job_max_attempts(
    sessions, monkeypatch
):
    monkeypatch.setenv("TANGRAM_JOB_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    try:
        # platform.cleanup is registered with max_attempts=3; others get the setting.
        assert (await job(sessions, await enqueue(sessions, "platform.cleanup"))).max_attempts == 3
        unknown = await job(sessions, await enqueue(sessions, "test.unregistered"))
        assert unknown.max_attempts == 2
    finally:
        get_settings.cache_clear()


async def test_a_job_is_not_claimed_before_its_run_at(sessions):
    later = await enqueue(sessions, run_at=utcnow() + timedelta(hours=1))
    due = await enqueue(sessions, run_at=utcnow() - timedelta(seconds=5))
    assert [j.id for j in await claim(sessions)] == [due]
    assert await claim(sessions) == []
    assert (await job(sessions, later)).status == QUEUED
    await make_due(sessions, later)
    assert [j.id for j in await claim(sessions)] == [later]


async def test_claim_order_is_priority_then_run_at(sessions):
    base = utcnow() - timedelta(minutes=1)
    low = await enqueue(sessions, priority=-1, run_at=base)
    normal = await enqueue(sessions, priority=0, run_at=base)
    urgent_late = await enqueue(sessions, priority=5, run_at=base + timedelta(seconds=2))
    urgent_early = await enqueue(sessions, priority=5, run_at=base + timedelta(seconds=1))
    one_by_one = [j.id for _ in range(4) for j in await claim(sessions, limit=1)]
    assert one_by_one == [urgent_early, urgent_late, normal, low]

    ids = [await enqueue(sessions, priority=p, run_at=base) for p in (1, 9, 5)]
    assert [j.id for j in await claim(sessions, limit=10)] == [ids[1], ids[2], ids[0]]


async def test_idempotency_key_gives_one_job(sessions):
    first = await enqueue(sessions, payload={"n": 1}, idempotency_key="mail:42")
    second = await enqueue(sessions, payload={"n": 2}, idempotency_key="mail:42")
    assert first == second
    async with sessions() as db:  # also within one transaction
        third = await queue.enqueue(db, "test.any", idempotency_key="mail:42")
        fourth = await queue.enqueue(db, "test.any", idempotency_key="mail:43")
        fifth = await queue.enqueue(db, "test.any", idempotency_key="mail:43")
        await db.commit()
    assert third == first and fourth == fifth != first
    async with sessions() as db:
        rows = (await db.execute(select(Job.idempotency_key, Job.payload))).all()
    assert sorted(rows) == [("mail:42", {"n": 1}), ("mail:43", {})]
    # The key stays taken after the job has finished: a repeat never runs again.
    [claimed] = await claim(sessions, limit=1)
    async with sessions() as db:
        await queue.complete(db, claimed.id, claimed.lock_token, None)
        await db.commit()
    assert await enqueue(sessions, idempotency_key=claimed.idempotency_key) == claimed.id


async def test_claim_sets_running_lease_and_attempts(sessions):
    job_id = await enqueue(sessions)
    before = utcnow()
    [claimed] = await claim(sessions, "worker-1", lease=60)
    stored = await job(sessions, job_id)
    assert stored.status == RUNNING and stored.attempts == 1
    assert stored.locked_by == "worker-1"
    assert stored.lock_token == claimed.lock_token and len(stored.lock_token) >= 32
    assert before + timedelta(seconds=59) <= stored.lease_expires_at
    assert stored.lease_expires_at <= utcnow() + timedelta(seconds=60)
    assert stored.started_at >= before - timedelta(seconds=1)
    assert await claim(sessions, "worker-2") == []  # held by worker-1


async def test_claim_respects_its_limit(sessions):
    for _ in range(5):
        await enqueue(sessions)
    assert len(await claim(sessions, "a", limit=2)) == 2
    assert len(await claim(sessions, "b", limit=2)) == 2
    assert len(await claim(sessions, "c", limit=2)) == 1
    async with sessions() as db:
        holders = await db.execute(select(Job.locked_by, func.count()).group_by("locked_by"))
        assert dict(holders.all()) == {"a": 2, "b": 2, "c": 1}


async def test_complete_with_the_current_token_marks_done(sessions):
    job_id = await enqueue(sessions)
    [claimed] = await claim(sessions)
    async with sessions() as db:
        await queue.complete(db, job_id, claimed.lock_token, {"ok": True})
        await db.commit()
    stored = await job(sessions, job_id)
    assert (stored.status, stored.result, stored.progress_percent) == (DONE, {"ok": True}, 100.0)
    assert stored.finished_at is not None and stored.lock_token is None
    async with sessions() as db:  # finishing twice is refused
        with pytest.raises(queue.LeaseLost):
            await queue.complete(db, job_id, claimed.lock_token, None)


async def test_complete_with_a_stale_token_raises_and_rolls_back(sessions, effects_table):
    job_id = await enqueue(sessions)
    await claim(sessions)
    async with sessions() as db:
        await db.execute(insert(effects).values(job_id=job_id, attempt=1, pid=0))
        with pytest.raises(queue.LeaseLost):
            await queue.complete(db, job_id, "not-the-token", None)
        # The worker closes the session without committing: the effect is gone.
    async with sessions() as db:
        assert (await db.execute(select(func.count()).select_from(effects))).scalar_one() == 0
    assert (await job(sessions, job_id)).status == RUNNING


async def test_failure_retries_with_exponential_backoff_then_dies(sessions):
    job_id = await enqueue(sessions, max_attempts=3)
    run_ats = []
    for attempt, expected in ((1, 10.0), (2, 20.0)):
        [claimed] = await claim(sessions)
        assert claimed.attempts == attempt
        failed_at = utcnow()
        async with sessions() as db:
            status = await queue.fail(
                db, job_id, claimed.lock_token, f"error {attempt}", backoff_seconds=10
            )
        assert status == QUEUED
        stored = await job(sessions, job_id)
        assert stored.status == QUEUED and stored.attempts == attempt
        assert stored.last_error == f"error {attempt}" and stored.lock_token is None
        delay = (stored.run_at - failed_at).total_seconds()
        assert expected * 0.89 <= delay <= expected * 1.11 + 1, delay
        run_ats.append(stored.run_at)
        assert await claim(sessions) == []  # not before its new run_at
        await make_due(sessions, job_id)
    [claimed] = await claim(sessions)
    assert claimed.attempts == 3
    async with sessions() as db:
        status = await queue.fail(db, job_id, claimed.lock_token, "error 3", backoff_seconds=10)
    assert status == DEAD
    stored = await job(sessions, job_id)
    assert (stored.status, stored.attempts, stored.last_error) == (DEAD, 3, "error 3")
    assert stored.finished_at is not None
    assert run_ats[1] > run_ats[0]
    assert await claim(sessions) == []


def test_backoff_delay_doubles_with_jitter_and_is_capped():
    for attempt in range(1, 8):
        delay = queue.backoff_delay(attempt, 2.0)
        assert 0.9 * 2 * 2 ** (attempt - 1) <= delay <= 1.1 * 2 * 2 ** (attempt - 1)
    assert queue.backoff_delay(40, 2.0, cap_seconds=100) <= 110


async def test_permanent_failure_and_long_errors(sessions):
    job_id = await enqueue(sessions, max_attempts=5)
    [claimed] = await claim(sessions)
    error = "x" * (queue.MAX_ERROR_CHARS + 100) + "the end"
    async with sessions() as db:
        status = await queue.fail(
            db, job_id, claimed.lock_token, error, backoff_seconds=1, permanent=True
        )
    assert status == DEAD
    stored = await job(sessions, job_id)
    assert stored.attempts == 1 and len(stored.last_error) == queue.MAX_ERROR_CHARS
    assert stored.last_error.endswith("the end")  # the end of a traceback is what matters


async def test_expired_lease_is_reclaimed_by_another_worker(sessions):
    job_id = await enqueue(sessions)
    [first] = await claim(sessions, "w1")
    assert await claim(sessions, "w2") == []
    await expire_lease(sessions, job_id)
    [second] = await claim(sessions, "w2")
    assert second.id == job_id and second.attempts == 2 and second.locked_by == "w2"
    assert second.lock_token != first.lock_token
    async with sessions() as db:  # w1 woke up: it can neither finish nor fail the job
        with pytest.raises(queue.LeaseLost):
            await queue.complete(db, job_id, first.lock_token, None)
        await db.rollback()
        assert await queue.fail(db, job_id, first.lock_token, "late", backoff_seconds=1) is None
        await queue.renew_leases(db, "w1", [first.lock_token], 60)
        await queue.set_progress(db, job_id, first.lock_token, 50, "stale")
        await db.commit()
    stored = await job(sessions, job_id)
    assert (stored.status, stored.locked_by, stored.last_error) == (RUNNING, "w2", None)
    assert stored.progress_percent is None
    async with sessions() as db:
        await queue.complete(db, job_id, second.lock_token, None)
        await db.commit()
    assert (await job(sessions, job_id)).status == DONE


async def test_a_short_lease_runs_out_in_real_time(sessions):
    job_id = await enqueue(sessions)
    await claim(sessions, "w1", lease=0.2)
    deadline = time.monotonic() + 10
    reclaimed: list[Job] = []
    while not reclaimed and time.monotonic() < deadline:
        reclaimed = await claim(sessions, "w2")
        await asyncio.sleep(0.05)
    assert [j.id for j in reclaimed] == [job_id]
    assert reclaimed[0].attempts == 2


async def test_job_is_dead_when_its_lease_expires_on_the_last_attempt(sessions):
    job_id = await enqueue(sessions, max_attempts=2)
    await claim(sessions, "w1")
    await expire_lease(sessions, job_id)
    [second] = await claim(sessions, "w2")
    assert second.attempts == 2
    await expire_lease(sessions, job_id)
    assert await claim(sessions, "w3") == []
    stored = await job(sessions, job_id)
    assert (stored.status, stored.attempts, stored.lock_token) == (DEAD, 2, None)
    assert "lease expired" in stored.last_error and stored.finished_at is not None
    async with sessions() as db:
        with pytest.raises(queue.LeaseLost):
            await queue.complete(db, job_id, second.lock_token, None)


async def test_renew_leases_extends_only_the_workers_own_claims(sessions):
    mine, theirs = await enqueue(sessions), await enqueue(sessions)
    [claimed_mine] = await claim(sessions, "w1", limit=1, lease=5)
    [claimed_theirs] = await claim(sessions, "w2", limit=1, lease=5)
    async with sessions() as db:
        await queue.renew_leases(
            db, "w1", [claimed_mine.lock_token, claimed_theirs.lock_token], 3600
        )
    assert (await job(sessions, mine)).lease_expires_at > utcnow() + timedelta(minutes=59)
    assert (await job(sessions, theirs)).lease_expires_at < utcnow() + timedelta(seconds=6)


async def test_progress_is_clamped_and_cut(sessions):
    job_id = await enqueue(sessions)
    [claimed] = await claim(sessions)
    async with sessions() as db:
        await queue.set_progress(db, job_id, claimed.lock_token, 42.5, "m" * 600)
        await db.commit()
    stored = await job(sessions, job_id)
    assert stored.progress_percent == 42.5 and len(stored.progress_message) == 500


async def test_cancel_and_retry_by_state(sessions):
    queued, running, dead = [await enqueue(sessions, priority=p) for p in (0, 2, 1)]
    [claimed_running] = await claim(sessions, limit=1)
    [claimed_dead] = await claim(sessions, limit=1)
    assert (claimed_running.id, claimed_dead.id) == (running, dead)
    async with sessions() as db:
        await queue.fail(db, dead, claimed_dead.lock_token, "no", backoff_seconds=1, permanent=True)
    async with sessions() as db:
        assert not await queue.cancel(db, running)
        assert not await queue.cancel(db, dead)
        assert await queue.cancel(db, queued)
        assert not await queue.retry(db, running)
        assert await queue.retry(db, dead)
        assert await queue.retry(db, queued)  # cancelled → queued again
        await db.commit()
    for job_id in (queued, dead):
        stored = await job(sessions, job_id)
        assert (stored.status, stored.attempts, stored.finished_at) == (QUEUED, 0, None)
    assert {j.id for j in await claim(sessions)} == {queued, dead}


async def test_depth_and_purge(sessions):
    ids = [await enqueue(sessions) for _ in range(4)]
    claimed = await claim(sessions, limit=3)
    async with sessions() as db:
        await queue.complete(db, claimed[0].id, claimed[0].lock_token, None)
        await db.commit()
    async with sessions() as db:
        await queue.fail(
            db, claimed[1].id, claimed[1].lock_token, "x", backoff_seconds=1, permanent=True
        )
    async with sessions() as db:
        assert await queue.cancel(db, ids[3])
        await db.commit()
        assert await queue.depth(db) == {QUEUED: 0, RUNNING: 1, DEAD: 1}
    old = utcnow() - timedelta(days=40)
    await set_job(sessions, claimed[0].id, finished_at=old)
    async with sessions() as db:
        assert await queue.purge_finished(db, timedelta(days=30)) == 1
        await db.commit()
        remaining = (await db.execute(select(Job.status).order_by(Job.id))).scalars().all()
    assert sorted(remaining) == sorted([DEAD, RUNNING, CANCELLED])


async def test_effect_handler_name_is_registered():
    from runtime.jobs.registry import handlers

    assert handlers.get(EFFECT) is not None
