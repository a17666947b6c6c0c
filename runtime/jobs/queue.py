"""The job queue protocol: enqueue, claim, finish, fail, lease renewal.

Claiming is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING``
statement, so any number of workers on PostgreSQL take disjoint jobs. On SQLite the same
statement runs inside a ``BEGIN IMMEDIATE`` transaction (one writer at a time). Every claim sets a
fresh ``lock_token``; finishing and failing only count while the token still matches, so a worker
whose lease expired (it hung, or was presumed dead) can no longer commit its job's effects.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.config import get_settings
from runtime.db import utcnow
from runtime.jobs.models import CANCELLED, DEAD, DONE, QUEUED, RUNNING, Job
from runtime.jobs.registry import handlers

if TYPE_CHECKING:
    from runtime.jobs.context import JobContext

ProgressWriter = Callable[["JobContext", float, str | None], Awaitable[None]]
MAX_ERROR_CHARS = 4000
DEFAULT_MAX_ATTEMPTS = 5


class LeaseLost(Exception):
    """The job was taken over by another worker; this worker's results must not commit."""


async def enqueue(
    db: AsyncSession,
    name: str,
    payload: dict[str, Any] | None = None,
    *,
    run_at: datetime | None = None,
    priority: int = 0,
    idempotency_key: str | None = None,
    max_attempts: int | None = None,
    created_by: int | None = None,
) -> int:
    """Add a job in the caller's transaction; with an idempotency key, at most one such job.

    Returns the id of the new job, or of the existing job with the same key.
    """
    if max_attempts is None:
        spec = handlers.get(name)
        max_attempts = (spec.max_attempts if spec else None) or get_settings().job_max_attempts
    values = {
        "name": name,
        "payload": payload or {},
        "status": QUEUED,
        "priority": priority,
        "run_at": run_at or utcnow(),
        "attempts": 0,
        "max_attempts": max_attempts,
        "idempotency_key": idempotency_key,
        "created_by": created_by,
        "created_at": utcnow(),
    }
    if idempotency_key is None:
        result = await db.execute(insert(Job).values(**values).returning(Job.id))
        return int(result.scalar_one())
    dialect_insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        dialect_insert(Job)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(Job.id)
    )
    new_id = (await db.execute(statement)).scalar_one_or_none()
    if new_id is not None:
        return int(new_id)
    existing = await db.execute(select(Job.id).where(Job.idempotency_key == idempotency_key))
    return int(existing.scalar_one())


async def claim(db: AsyncSession, worker_id: str, *, limit: int, lease_seconds: float) -> list[Job]:
    """Claim up to ``limit`` due jobs (and jobs whose lease expired) for ``worker_id``."""
    now = utcnow()
    await _bury_expired(db, now)
    due = or_(
        and_(Job.status == QUEUED, Job.run_at <= now),
        and_(Job.status == RUNNING, Job.lease_expires_at < now),
    )
    candidates = (
        select(Job.id)
        .where(due)
        .order_by(Job.priority.desc(), Job.run_at, Job.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    token = uuid.uuid4().hex
    statement = (
        update(Job)
        .where(Job.id.in_(candidates.scalar_subquery()))
        .values(
            status=RUNNING,
            lock_token=token,
            locked_by=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Job.attempts + 1,
            started_at=now,
        )
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    jobs = list((await db.execute(statement)).scalars())
    await db.commit()
    jobs.sort(key=lambda j: (-j.priority, j.run_at, j.id))
    return jobs


async def _bury_expired(db: AsyncSession, now: datetime) -> None:
    """Jobs whose worker vanished on their last allowed attempt are dead, not retried."""
    await db.execute(
        update(Job)
        .where(Job.status == RUNNING, Job.lease_expires_at < now, Job.attempts >= Job.max_attempts)
        .values(
            status=DEAD,
            finished_at=now,
            lock_token=None,
            last_error="the worker running this job stopped (lease expired) on the last attempt",
        )
        .execution_options(synchronize_session=False)
    )


async def complete(
    db: AsyncSession, job_id: int, token: str, result: dict[str, Any] | None
) -> None:
    """Mark done in the handler's own transaction; raises LeaseLost if the claim is stale."""
    outcome = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.lock_token == token, Job.status == RUNNING)
        .values(
            status=DONE,
            finished_at=utcnow(),
            result=result,
            progress_percent=100.0,
            lock_token=None,
            lease_expires_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if outcome.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(job_id)


def backoff_delay(attempt: int, base_seconds: float, *, cap_seconds: float = 3600.0) -> float:
    """Exponential backoff with ±10 % jitter: base, 2·base, 4·base … capped."""
    delay = min(cap_seconds, base_seconds * (2 ** max(0, attempt - 1)))
    return delay * random.uniform(0.9, 1.1)


async def fail(
    db: AsyncSession,
    job_id: int,
    token: str,
    error: str,
    *,
    backoff_seconds: float,
    permanent: bool = False,
) -> str | None:
    """Record a failed attempt: retry later, or ``dead`` once attempts are used up.

    Returns the new status, or None when the claim was stale (another worker has the job).
    """
    # Row lock: on PostgreSQL another worker could otherwise reclaim the job between this read
    # and the update below, and the caller would be told a status that was never written.
    job = (
        await db.execute(
            select(Job).where(Job.id == job_id, Job.lock_token == token).with_for_update()
        )
    ).scalar_one_or_none()
    if job is None or job.status != RUNNING:
        return None
    now = utcnow()
    if permanent or job.attempts >= job.max_attempts:
        values: dict[str, Any] = {"status": DEAD, "finished_at": now}
    else:
        delay = backoff_delay(job.attempts, backoff_seconds)
        values = {"status": QUEUED, "run_at": now + timedelta(seconds=delay)}
    values.update(last_error=error[-MAX_ERROR_CHARS:], lock_token=None, lease_expires_at=None)
    await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.lock_token == token)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await db.commit()
    return str(values["status"])


async def set_progress(
    db: AsyncSession, job_id: int, token: str, percent: float, message: str | None
) -> None:
    await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.lock_token == token)
        .values(progress_percent=percent, progress_message=(message or "")[:500] or None)
        .execution_options(synchronize_session=False)
    )


async def renew_leases(
    db: AsyncSession, worker_id: str, tokens: list[str], lease_seconds: float
) -> None:
    if not tokens:
        return
    await db.execute(
        update(Job)
        .where(Job.status == RUNNING, Job.locked_by == worker_id, Job.lock_token.in_(tokens))
        .values(lease_expires_at=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    await db.commit()


async def retry(db: AsyncSession, job_id: int) -> bool:
    """Send a dead or cancelled job back to the queue with a fresh set of attempts."""
    outcome = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_([DEAD, CANCELLED]))
        .values(
            status=QUEUED,
            attempts=0,
            run_at=utcnow(),
            finished_at=None,
            progress_percent=None,
            progress_message=None,
        )
        .execution_options(synchronize_session=False)
    )
    return outcome.rowcount == 1  # type: ignore[attr-defined]


async def cancel(db: AsyncSession, job_id: int) -> bool:
    outcome = await db.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == QUEUED)
        .values(status=CANCELLED, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return outcome.rowcount == 1  # type: ignore[attr-defined]


async def depth(db: AsyncSession) -> dict[str, int]:
    """Number of unfinished jobs by status (queued, running) plus dead ones."""
    rows = await db.execute(
        select(Job.status, func.count())
        .where(Job.status.in_([QUEUED, RUNNING, DEAD]))
        .group_by(Job.status)
    )
    counts = dict.fromkeys((QUEUED, RUNNING, DEAD), 0)
    counts.update({status: int(n) for status, n in rows.all()})
    return counts


async def purge_finished(db: AsyncSession, older_than: timedelta) -> int:
    outcome = await db.execute(
        delete(Job).where(
            Job.status.in_([DONE, CANCELLED]), Job.finished_at < utcnow() - older_than
        )
    )
    return outcome.rowcount or 0  # type: ignore[attr-defined]
