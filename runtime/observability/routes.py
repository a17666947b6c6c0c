"""Health and Prometheus metrics."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from runtime.jobs import queue
from runtime.jobs.worker import live_workers
from runtime.observability.metrics import DB_POOL, JOBS_QUEUED

router = APIRouter(tags=["operations"])


def _stale_after(request: Request) -> timedelta:
    return timedelta(seconds=max(10.0, request.app.state.settings.job_lease_seconds))


@router.get("/api/health")
async def health(request: Request) -> JSONResponse:
    """Database reachability, live workers and job queue depth; 503 when the database is down."""
    state = request.app.state
    body: dict[str, Any] = {"instance": state.instance, "version": state.version}
    try:
        started = time.perf_counter()
        async with state.read_sessions() as db:
            await db.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000
            workers = await live_workers(db, _stale_after(request))
            depth = await queue.depth(db)
    except Exception as exc:
        body.update(status="error", database={"ok": False, "error": type(exc).__name__})
        return JSONResponse(body, status_code=503)
    body.update(
        status="ok" if workers or depth["queued"] == 0 else "degraded",
        database={
            "ok": True,
            "dialect": state.engine.dialect.name,
            "latency_ms": round(latency, 2),
        },
        workers={"live": len(workers), "items": workers},
        jobs=depth,
    )
    return JSONResponse(body)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    try:
        async with state.read_sessions() as db:
            for status, count in (await queue.depth(db)).items():
                JOBS_QUEUED.labels(status).set(count)
    except Exception:  # metrics must render even when the database is away
        JOBS_QUEUED.labels("unknown").set(-1)
    pool = state.engine.pool
    for name in ("size", "checkedout", "overflow", "checkedin"):
        reader = getattr(pool, name, None)
        if callable(reader):
            DB_POOL.labels(name).set(reader())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
