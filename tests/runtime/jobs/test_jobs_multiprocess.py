"""Several ``tangram worker`` processes on one PostgreSQL database: exactly once, crashes, SIGTERM.

Each test gets its own fresh database; the workers load ``plugin_handlers`` as a plugin.
"""

from __future__ import annotations

import signal
import socket
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from runtime.jobs import queue
from runtime.jobs.models import DONE, QUEUED, RUNNING, Job, WorkerProcess
from tests.conftest import create_database
from tests.runtime.jobs.plugin_handlers import EFFECT, effects, effects_metadata
from tests.support.db import create_tables, rows, run_with_session, scalar
from tests.support.processes import poll, processes

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]


@pytest.fixture(params=["postgresql"])
def pg_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    """A fresh migrated PostgreSQL database with the effects table (skips without PostgreSQL)."""
    url, drop = create_database(request.param, tmp_path)
    try:
        create_tables(url, effects_metadata)
        yield url
    finally:
        drop()


def enqueue_many(url: str, count: int, payload: dict[str, Any] | None = None) -> list[int]:
    async def work(db: Any) -> list[int]:
        ids = [await queue.enqueue(db, EFFECT, dict(payload or {})) for _ in range(count)]
        await db.commit()
        return ids

    return run_with_session(url, work)


def worker_prefix(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:"


def registered(url: str, *pids: int) -> bool:
    ids = [r[0] for r in rows(url, select(WorkerProcess.id))]
    return all(any(i.startswith(worker_prefix(pid)) for i in ids) for pid in pids)


def job_row(url: str, job_id: int) -> Any:
    found = rows(url, select(Job.status, Job.attempts, Job.locked_by).where(Job.id == job_id))
    return found[0]


def test_two_worker_processes_run_2000_jobs_exactly_once(pg_url, tmp_path):
    total = 2000
    started = time.monotonic()
    with processes(pg_url, tmp_path) as group:
        a = group.worker("worker-a", concurrency=4)
        b = group.worker("worker-b", concurrency=4)
        poll(
            lambda: group.check_alive() or registered(pg_url, a.pid, b.pid),
            timeout=30,
            interval=0.1,
            message="both workers to register",
        )
        ids = enqueue_many(pg_url, total)

        def all_done() -> bool:
            group.check_alive()
            done = scalar(
                pg_url, select(func.count()).where(Job.name == EFFECT, Job.status == DONE)
            )
            return done == total

        poll(all_done, timeout=180, interval=0.25, message=f"{total} jobs to finish")
        elapsed = time.monotonic() - started
        a.signal(signal.SIGTERM)
        b.signal(signal.SIGTERM)
        assert a.wait(15) == 0
        assert b.wait(15) == 0

    effect_rows = rows(pg_url, select(effects.c.job_id, effects.c.pid, effects.c.attempt))
    assert len(effect_rows) == total
    assert {r.job_id for r in effect_rows} == set(ids)
    assert {r.attempt for r in effect_rows} == {1}
    per_pid = {pid: sum(1 for r in effect_rows if r.pid == pid) for pid in (a.pid, b.pid)}
    assert sum(per_pid.values()) == total, per_pid
    assert all(n > 0 for n in per_pid.values()), per_pid

    jobs = rows(pg_url, select(Job.status, Job.attempts, Job.locked_by).where(Job.name == EFFECT))
    assert len(jobs) == total
    assert {(j.status, j.attempts) for j in jobs} == {(DONE, 1)}
    by_worker = {
        pid: sum(1 for j in jobs if j.locked_by.startswith(worker_prefix(pid)))
        for pid in (a.pid, b.pid)
    }
    assert by_worker == per_pid
    # Both workers deregistered on SIGTERM.
    assert scalar(pg_url, select(func.count()).select_from(WorkerProcess)) == 0
    print(f"{total} jobs on two workers in {elapsed:.1f} s; split {per_pid}")


def test_job_of_a_killed_worker_is_reclaimed_after_its_lease_and_runs_once(pg_url, tmp_path):
    lease = {"job_lease_seconds": 2}
    with processes(pg_url, tmp_path) as group:
        a = group.worker("worker-a", concurrency=1, **lease)
        poll(
            lambda: group.check_alive() or registered(pg_url, a.pid),
            timeout=30,
            interval=0.1,
            message="worker A to register",
        )
        # Longer than the lease: B must keep renewing it while the job runs.
        [job_id] = enqueue_many(pg_url, 1, {"sleep": 3})

        def running_on_a() -> bool:
            status, _, locked_by = job_row(pg_url, job_id)
            return status == RUNNING and (locked_by or "").startswith(worker_prefix(a.pid))

        poll(running_on_a, timeout=20, message="worker A to run the job")
        a.signal(signal.SIGKILL)
        assert a.wait(10) == -signal.SIGKILL
        # A left the job behind; nobody may take it before A's last lease has run out.
        [(status, lease_at_kill)] = rows(
            pg_url, select(Job.status, Job.lease_expires_at).where(Job.id == job_id)
        )
        assert status == RUNNING

        b = group.worker("worker-b", concurrency=1, **lease)
        poll(
            lambda: b.ensure_alive() or job_row(pg_url, job_id)[0] == DONE,
            timeout=40,
            interval=0.1,
            message="worker B to finish the reclaimed job",
        )
        status, attempts, locked_by = job_row(pg_url, job_id)
        assert (status, attempts) == (DONE, 2)
        assert locked_by.startswith(worker_prefix(b.pid))
        reclaimed_at = scalar(pg_url, select(Job.started_at).where(Job.id == job_id))
        assert reclaimed_at >= lease_at_kill

    effect_rows = rows(pg_url, select(effects.c.pid, effects.c.attempt))
    assert [(r.pid, r.attempt) for r in effect_rows] == [(b.pid, 2)]


def test_sigterm_lets_the_running_job_finish_before_the_worker_exits(pg_url, tmp_path):
    with processes(pg_url, tmp_path) as group:
        w = group.worker("worker", concurrency=1)
        poll(
            lambda: group.check_alive() or registered(pg_url, w.pid),
            timeout=30,
            interval=0.1,
            message="the worker to register",
        )
        [job_id] = enqueue_many(pg_url, 1, {"sleep": 1.5})
        poll(
            lambda: w.ensure_alive() or job_row(pg_url, job_id)[0] == RUNNING,
            timeout=20,
            message="the job to start",
        )
        [waiting_id] = enqueue_many(pg_url, 1)  # not started: the only slot is busy
        w.signal(signal.SIGTERM)
        assert w.wait(20) == 0

    assert job_row(pg_url, job_id)[:2] == (DONE, 1)
    assert job_row(pg_url, waiting_id)[:2] == (QUEUED, 0)
    assert [r.job_id for r in rows(pg_url, select(effects.c.job_id))] == [job_id]
    assert scalar(pg_url, select(func.count()).select_from(WorkerProcess)) == 0
