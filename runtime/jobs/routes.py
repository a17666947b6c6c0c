"""/api/v1/jobs: progress of your jobs; administrators see, retry and cancel all."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import select

from runtime.audit import service as audit
from runtime.deps import AdminUser, CurrentUser, IdPath, IdQuery, SessionDep
from runtime.errors import ProblemError, Text
from runtime.jobs import queue
from runtime.jobs.models import Job
from runtime.jobs.schemas import JobOut, JobPage

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
JobStatus = Literal["queued", "running", "done", "dead", "cancelled"]


@router.get("", response_model=JobPage)
async def list_jobs(
    principal: CurrentUser,
    db: SessionDep,
    status: JobStatus | None = None,
    name: Annotated[Text | None, Query(max_length=100)] = None,
    before_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> JobPage:
    """Newest first. Non-administrators see only the jobs they started."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if not principal.is_admin:
        query = query.where(Job.created_by == principal.user.id)
    if status:
        query = query.where(Job.status == status)
    if name:
        query = query.where(Job.name == name)
    if before_id:
        query = query.where(Job.id < before_id)
    jobs = list((await db.execute(query)).scalars())
    next_before = jobs[-1].id if len(jobs) == limit else None
    return JobPage(items=[JobOut.model_validate(j) for j in jobs], next_before_id=next_before)


async def _visible_job(db: SessionDep, principal: CurrentUser, job_id: int) -> Job:
    job = await db.get(Job, job_id)
    if job is None or (not principal.is_admin and job.created_by != principal.user.id):
        raise ProblemError("not_found")
    return job


@router.get("/{job_id}", response_model=JobOut)
async def get_job(job_id: IdPath, principal: CurrentUser, db: SessionDep) -> JobOut:
    """A job's status and progress (percent and message)."""
    return JobOut.model_validate(await _visible_job(db, principal, job_id))


@router.post("/{job_id}/retry", response_model=JobOut)
async def retry_job(job_id: IdPath, admin: AdminUser, db: SessionDep) -> JobOut:
    job = await _visible_job(db, admin, job_id)
    if not await queue.retry(db, job_id):
        raise ProblemError("job_not_retryable")
    audit.record(db, admin, "job.retry", "job", job_id)
    await db.commit()
    await db.refresh(job)
    return JobOut.model_validate(job)


@router.post("/{job_id}/cancel", response_model=JobOut)
async def cancel_job(job_id: IdPath, admin: AdminUser, db: SessionDep) -> JobOut:
    job = await _visible_job(db, admin, job_id)
    if not await queue.cancel(db, job_id):
        raise ProblemError("job_not_cancellable")
    audit.record(db, admin, "job.cancel", "job", job_id)
    await db.commit()
    await db.refresh(job)
    return JobOut.model_validate(job)
