"""Scale-out acceptance: two stateless web processes and two workers on one PostgreSQL database.

Two ``tangram run --no-worker`` processes (different ports) and two ``tangram worker`` processes
share a fresh migrated database. Sessions and API tokens made through one web process work on the
other, both report the two live workers, and jobs run exactly once, split across the workers.
"""

from __future__ import annotations

import signal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from runtime.jobs import queue
from runtime.jobs.models import DONE, Job
from runtime.users import service as users
from tests.conftest import create_database
from tests.runtime.jobs.plugin_handlers import EFFECT, effects, effects_metadata
from tests.support.db import create_tables, rows, run_with_session, scalar
from tests.support.processes import poll, processes

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

USERNAME, PASSWORD = "scaler", "Scale-out-pass-2026"


@pytest.fixture(params=["postgresql"])
def pg_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    url, drop = create_database(request.param, tmp_path)
    try:
        create_tables(url, effects_metadata)
        yield url
    finally:
        drop()


def create_admin(url: str) -> None:
    async def work(db: Any) -> None:
        await users.create_user(db, None, username=USERNAME, password=PASSWORD, is_admin=True)
        await db.commit()

    run_with_session(url, work)


def test_two_web_processes_and_two_workers_share_one_database(pg_url, tmp_path):
    create_admin(pg_url)
    with processes(pg_url, tmp_path) as group:
        workers = [group.worker(f"worker-{i}", concurrency=4) for i in range(2)]
        webs, bases = zip(*group.webs(2), strict=True)

        # Both web processes answer, each as itself.
        instances = set()
        for base in bases * 2:
            response = httpx.get(f"{base}/api/health", timeout=5)
            assert response.status_code == 200
            instances.add(response.headers["x-tangram-instance"])
        assert len(instances) == 2
        assert {i.rsplit(":", 1)[1] for i in instances} == {str(web.pid) for web in webs}

        # Stateless web tier: a session made through one process works on the other.
        login = httpx.post(
            f"{bases[0]}/api/v1/auth/login",
            json={"username": USERNAME, "password": PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        cookie = f"tangram_session={login.cookies['tangram_session']}"
        csrf = login.json()["csrf_token"]
        me = httpx.get(f"{bases[1]}/api/v1/auth/me", headers={"Cookie": cookie}, timeout=5)
        assert me.status_code == 200, me.text
        assert me.json()["username"] == USERNAME
        assert me.headers["x-tangram-instance"] != login.headers["x-tangram-instance"]

        # … and so does an API token created through the other one (CSRF token included).
        created = httpx.post(
            f"{bases[1]}/api/v1/auth/tokens",
            json={"name": "scale-out"},
            headers={"Cookie": cookie, "X-CSRF-Token": csrf},
            timeout=5,
        )
        assert created.status_code == 201, created.text
        bearer = {"Authorization": f"Bearer {created.json()['token']}"}
        assert httpx.get(f"{bases[0]}/api/v1/auth/me", headers=bearer, timeout=5).is_success

        # Signing out on one process ends the session on both.
        out = httpx.post(
            f"{bases[1]}/api/v1/auth/logout",
            headers={"Cookie": cookie, "X-CSRF-Token": csrf},
            timeout=5,
        )
        assert out.status_code == 204
        gone = httpx.get(f"{bases[0]}/api/v1/auth/me", headers={"Cookie": cookie}, timeout=5)
        assert gone.status_code == 401

        # Both web processes see both workers.
        def two_live_workers() -> bool:
            group.check_alive()
            bodies = [httpx.get(f"{b}/api/health", timeout=5).json() for b in bases]
            return all(body["workers"]["live"] == 2 for body in bodies)

        poll(two_live_workers, timeout=30, interval=0.1, message="two live workers on both")

        # 200 jobs enqueued through the database run exactly once, on both workers.
        async def enqueue(db: Any) -> list[int]:
            ids = [await queue.enqueue(db, EFFECT, {"sleep": 0.02}) for _ in range(200)]
            await db.commit()
            return ids

        ids = run_with_session(pg_url, enqueue)

        def all_done() -> bool:
            group.check_alive()
            count = select(func.count()).where(Job.name == EFFECT, Job.status == DONE)
            return scalar(pg_url, count) == len(ids)

        poll(all_done, timeout=60, interval=0.2, message="200 jobs to finish")

        # The job is visible through either web process.
        for base in bases:
            job = httpx.get(f"{base}/api/v1/jobs/{ids[0]}", headers=bearer, timeout=5)
            assert job.status_code == 200 and job.json()["status"] == DONE

        for worker in workers:
            worker.signal(signal.SIGTERM)
        assert [worker.wait(15) for worker in workers] == [0, 0]

    effect_rows = rows(pg_url, select(effects.c.job_id, effects.c.pid))
    assert sorted(r.job_id for r in effect_rows) == sorted(ids)
    per_worker = {w.pid: sum(1 for r in effect_rows if r.pid == w.pid) for w in workers}
    assert all(n > 0 for n in per_worker.values()), per_worker
    attempts = rows(pg_url, select(Job.attempts).where(Job.name == EFFECT).distinct())
    assert [a for (a,) in attempts] == [1]
