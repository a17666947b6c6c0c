"""The worker loop: claim due jobs, run their handlers, renew leases, stop gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import traceback
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import Executable, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from runtime.config import Settings
from runtime.db import utcnow
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.models import Job, WorkerProcess
from runtime.jobs.registry import HandlerRegistry, handlers
from runtime.observability.metrics import JOB_SECONDS, JOBS_RUN
from runtime.requestctx import request_id_var

log = logging.getLogger("tangram.worker")

#: Recurring maintenance, enqueued by every worker once per period (idempotent).
CLEANUP_JOB = "platform.cleanup"
#: The periodic scan for time-triggered automation rules (runtime.rules.scan).
RULES_SCAN_JOB = "rules.scan"
CLEANUP_PERIOD = timedelta(hours=1)


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs jobs with up to ``concurrency`` handlers at once until :meth:`stop` is called."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        kind: str = "worker",
        concurrency: int | None = None,
        registry: HandlerRegistry = handlers,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.kind = kind
        self.concurrency = max(1, concurrency or settings.worker_concurrency)
        self.registry = registry
        self.id = worker_id or new_worker_id()
        self._stopping = asyncio.Event()
        self._running: dict[int, tuple[str, asyncio.Task[None]]] = {}
        self._wake = asyncio.Event()
        self.jobs_done = 0
        self._last_cleanup_slot: str | None = None
        self._last_scan_slot: str | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Work until stopped, then wait for running jobs to finish (graceful shutdown)."""
        await self._register()
        heartbeat = asyncio.create_task(self._heartbeat_loop(), name=f"{self.id}-heartbeat")
        log.info("worker %s started (%s, concurrency %d)", self.id, self.kind, self.concurrency)
        try:
            while not self._stopping.is_set():
                claimed = 0
                try:
                    await self._schedule_maintenance()
                    claimed = await self._claim_and_start()
                except Exception:
                    log.exception("worker %s: claiming jobs failed", self.id)
                if claimed == 0 or len(self._running) >= self.concurrency:
                    await self._sleep(self.settings.job_poll_seconds)
        finally:
            await self._drain()
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await self._deregister()
            log.info("worker %s stopped after %d jobs", self.id, self.jobs_done)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def _sleep(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)

    async def _drain(self) -> None:
        tasks = [task for _, task in self._running.values()]
        if tasks:
            log.info("worker %s: waiting for %d running jobs", self.id, len(tasks))
            await asyncio.gather(*tasks, return_exceptions=True)

    # --- claiming -----------------------------------------------------------------------------

    async def _claim_and_start(self) -> int:
        free = self.concurrency - len(self._running)
        # Claim in batches: while most slots are busy, wait for more to free up (one claim
        # statement for several jobs instead of one per finished job).
        if free <= 0 or (self._running and free < (self.concurrency + 1) // 2):
            return 0
        async with self.sessions() as db:
            jobs = await queue.claim(
                db, self.id, limit=free, lease_seconds=self.settings.job_lease_seconds
            )
        for job in jobs:
            assert job.lock_token is not None
            task = asyncio.create_task(self._execute(job), name=f"job-{job.id}")
            self._running[job.id] = (job.lock_token, task)
            task.add_done_callback(lambda _t, job_id=job.id: self._finished(job_id))
        return len(jobs)

    def _finished(self, job_id: int) -> None:
        self._running.pop(job_id, None)
        self._wake.set()

    # --- running one job ----------------------------------------------------------------------

    async def _execute(self, job: Job) -> None:
        token = job.lock_token or ""
        spec = self.registry.get(job.name)
        request_id_var.set(f"job-{job.id}")
        started = time.perf_counter()
        kept: list[Executable] = []
        if spec is None:
            await self._record_failure(
                job, token, f"no handler registered for {job.name!r}", permanent=True
            )
            return
        try:
            async with self.sessions() as db:
                ctx = JobContext(
                    job.id,
                    job.name,
                    dict(job.payload or {}),
                    job.attempts,
                    token,
                    db,
                    self.settings,
                    self._write_progress,
                    kept,
                )
                call = spec.func(ctx)
                result = await (
                    asyncio.wait_for(call, spec.timeout_seconds) if spec.timeout_seconds else call
                )
                for statement in kept:
                    await db.execute(statement)
                await queue.complete(db, job.id, token, result)
                await db.commit()
        except queue.LeaseLost:
            log.warning("job %s (%s): lease lost, another worker has it", job.id, job.name)
            JOBS_RUN.labels(job.name, "lease_lost").inc()
            await self._write_kept(job, kept)
            return
        except Exception as exc:
            detail = "".join(traceback.format_exception(exc))
            log.warning("job %s (%s) attempt %d failed: %s", job.id, job.name, job.attempts, exc)
            await self._record_failure(job, token, detail)
            await self._write_kept(job, kept)
            return
        finally:
            JOB_SECONDS.labels(job.name).observe(time.perf_counter() - started)
        self.jobs_done += 1
        JOBS_RUN.labels(job.name, "done").inc()

    async def _record_failure(
        self, job: Job, token: str, error: str, *, permanent: bool = False
    ) -> None:
        try:
            async with self.sessions() as db:
                status = await queue.fail(
                    db,
                    job.id,
                    token,
                    error,
                    backoff_seconds=self.settings.job_backoff_seconds,
                    permanent=permanent,
                )
            JOBS_RUN.labels(job.name, status or "lease_lost").inc()
        except Exception:
            log.exception("job %s: could not record its failure", job.id)

    async def _write_kept(self, job: Job, kept: list[Executable]) -> None:
        """The rows an attempt that did not commit keeps anyway (``JobContext.keep``)."""
        if not kept:
            return
        try:
            async with self.sessions() as db:
                for statement in kept:
                    await db.execute(statement)
                await db.commit()
        except Exception:
            log.exception("job %s: could not write the rows its attempt keeps", job.id)

    async def _write_progress(self, ctx: JobContext, percent: float, message: str | None) -> None:
        session = ctx.session
        if session.bind.dialect.name == "sqlite" and session.in_transaction():
            # SQLite has one writer and the handler's transaction holds it: record progress there.
            await queue.set_progress(session, ctx.job_id, ctx.lock_token, percent, message)
            return
        async with self.sessions() as db:
            await queue.set_progress(db, ctx.job_id, ctx.lock_token, percent, message)
            await db.commit()

    # --- heartbeat and maintenance -------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        interval = max(0.2, self.settings.job_lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                async with self.sessions() as db:
                    tokens = [token for token, _ in self._running.values()]
                    await queue.renew_leases(db, self.id, tokens, self.settings.job_lease_seconds)
                    await db.execute(
                        update(WorkerProcess)
                        .where(WorkerProcess.id == self.id)
                        .values(heartbeat_at=utcnow(), jobs_done=self.jobs_done)
                    )
                    await db.commit()
            except Exception:
                log.exception("worker %s: heartbeat failed", self.id)

    async def _register(self) -> None:
        hostname, pid, _ = self.id.split(":", 2)
        async with self.sessions() as db:
            db.add(
                WorkerProcess(
                    id=self.id,
                    hostname=hostname,
                    pid=int(pid),
                    kind=self.kind,
                    concurrency=self.concurrency,
                )
            )
            await db.commit()

    async def _deregister(self) -> None:
        try:
            async with self.sessions() as db:
                await db.execute(delete(WorkerProcess).where(WorkerProcess.id == self.id))
                await db.commit()
        except Exception:
            log.exception("worker %s: could not deregister", self.id)

    async def _schedule_maintenance(self) -> None:
        """The hourly cleanup and the rules scan every ``rule_scan_seconds``: one job per slot
        whichever worker asks first (the idempotency key), so any number of workers queue
        each once."""
        now = utcnow()
        cleanup = now.strftime("%Y%m%d%H")
        scan = str(int(now.timestamp()) // self.settings.rule_scan_seconds)
        if cleanup == self._last_cleanup_slot and scan == self._last_scan_slot:
            return
        async with self.sessions() as db:
            if cleanup != self._last_cleanup_slot:
                await queue.enqueue(
                    db, CLEANUP_JOB, {}, idempotency_key=f"{CLEANUP_JOB}:{cleanup}", priority=-10
                )
            if scan != self._last_scan_slot:
                await queue.enqueue(
                    db,
                    RULES_SCAN_JOB,
                    {"at": now.isoformat()},
                    idempotency_key=f"{RULES_SCAN_JOB}:{scan}",
                    priority=-5,
                )
            await db.commit()
        self._last_cleanup_slot, self._last_scan_slot = cleanup, scan


async def live_workers(db: AsyncSession, stale_after: timedelta) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(WorkerProcess).where(WorkerProcess.heartbeat_at > utcnow() - stale_after)
    )
    return [
        {
            "id": w.id,
            "kind": w.kind,
            "concurrency": w.concurrency,
            "jobs_done": w.jobs_done,
            "heartbeat_at": w.heartbeat_at.isoformat(),
        }
        for w in rows.scalars()
    ]
