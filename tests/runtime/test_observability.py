"""Prometheus metrics, the health check and JSON logs that carry the request id."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runtime.app import create_app
from runtime.db import utcnow
from runtime.jobs import queue
from runtime.observability.logs import configure_logging
from tests.conftest import _empty_tables, make_settings


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus exposition, keyed by name and labels."""
    result = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            result[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return result


def value(all_samples: dict[Any, float], name: str, **labels: str) -> float:
    return all_samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> dict[Any, float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


# --- metrics -------------------------------------------------------------------------------


async def test_requests_are_counted_by_route_template(
    client: httpx.AsyncClient, admin: Any
) -> None:
    route = "/api/v1/users/{user_id}"
    before = await scrape(client)
    for _ in range(2):
        response = await client.get(f"/api/v1/users/{admin.id}", headers=admin.headers)
        assert response.status_code == 200
    missing = await client.get("/api/v1/users/999999", headers=admin.headers)
    assert missing.status_code == 404
    after = await scrape(client)

    ok = {"method": "GET", "route": route, "status": "200"}
    not_found = {"method": "GET", "route": route, "status": "404"}
    total = "tangram_http_requests_total"
    assert value(after, total, **ok) - value(before, total, **ok) == 2
    assert value(after, total, **not_found) - value(before, total, **not_found) == 1
    # The concrete id never becomes a label (that would explode the number of series).
    assert not any(dict(labels).get("route", "").endswith(f"/{admin.id}") for _, labels in after)

    latency = "tangram_http_request_duration_seconds"
    labels = {"method": "GET", "route": route}
    assert value(after, f"{latency}_count", **labels) - value(
        before, f"{latency}_count", **labels
    ) == pytest.approx(3)
    assert value(after, f"{latency}_sum", **labels) > value(before, f"{latency}_sum", **labels)
    buckets = {
        dict(lbl)["le"]: v
        for (name, lbl), v in after.items()
        if name == f"{latency}_bucket"
        and dict(lbl).get("route") == route
        and dict(lbl).get("method") == "GET"
    }
    assert "+Inf" in buckets and "0.005" in buckets
    assert buckets["+Inf"] == value(after, f"{latency}_count", **labels)


async def test_unmatched_routes_share_one_label(client: httpx.AsyncClient) -> None:
    before = await scrape(client)
    for path in ("/api/v1/a", "/api/v1/b", "/api/v1/c"):
        assert (await client.get(path)).status_code == 404
    after = await scrape(client)
    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    total = "tangram_http_requests_total"
    assert value(after, total, **labels) - value(before, total, **labels) == 3


async def test_job_queue_depth_and_pool_gauges(
    client: httpx.AsyncClient, sessions: Any, backend: str
) -> None:
    async with sessions() as db:
        for n in range(3):
            await queue.enqueue(db, "test.noop", {"n": n}, run_at=utcnow() + timedelta(hours=1))
        await db.commit()
    after = await scrape(client)
    assert value(after, "tangram_jobs_queue_depth", status="queued") == 3
    assert value(after, "tangram_jobs_queue_depth", status="running") == 0
    assert value(after, "tangram_jobs_queue_depth", status="dead") == 0

    pool = {
        dict(labels)["state"]: v
        for (name, labels), v in after.items()
        if name == "tangram_db_pool_connections"
    }
    assert {"size", "checkedout", "checkedin", "overflow"} <= set(pool), pool
    assert pool["checkedout"] >= 0
    assert pool["size"] >= 1


async def test_metrics_text_names(client: httpx.AsyncClient) -> None:
    await client.get("/api/health")
    text = (await client.get("/metrics")).text
    for name in (
        "tangram_http_requests_total",
        "tangram_http_request_duration_seconds_bucket",
        "tangram_http_requests_in_flight",
        "tangram_jobs_queue_depth",
        "tangram_db_pool_connections",
    ):
        assert f"\n{name}" in text, name


# --- health --------------------------------------------------------------------------------


async def test_health_reports_database_and_jobs(
    client: httpx.AsyncClient, sessions: Any, backend: str
) -> None:
    response = await client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["dialect"] == backend
    assert body["database"]["latency_ms"] >= 0
    assert body["jobs"] == {"queued": 0, "running": 0, "dead": 0}
    assert body["workers"] == {"live": 0, "items": []}
    assert body["instance"] and body["version"]

    async with sessions() as db:
        await queue.enqueue(db, "test.noop", run_at=utcnow() + timedelta(hours=1))
        await db.commit()
    body = (await client.get("/api/health")).json()
    assert body["jobs"]["queued"] == 1
    assert body["status"] == "degraded"  # work is queued but nobody would run it


@pytest.fixture
async def worker_client(db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that runs the in-process worker."""
    settings = make_settings(db_url, tmp_path, run_worker=True)
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c
    finally:
        await _empty_tables(db_url)


async def test_health_sees_in_process_worker(
    worker_client: httpx.AsyncClient, backend: str
) -> None:
    body: dict[str, Any] = {}
    for _ in range(100):
        body = (await worker_client.get("/api/health")).json()
        if body["workers"]["live"]:
            break
        await asyncio.sleep(0.05)
    assert body["workers"]["live"] == 1, body
    worker = body["workers"]["items"][0]
    assert worker["kind"] == "inprocess"
    assert worker["heartbeat_at"]
    assert body["status"] == "ok"
    assert body["database"] == {**body["database"], "ok": True, "dialect": backend}


# --- logs ----------------------------------------------------------------------------------


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """configure_logging(json_lines=True), its stderr handler redirected into a buffer.

    The previous logging set-up is restored afterwards.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure_logging(json_lines=True, level="INFO")
    (handler,) = [h for h in root.handlers if getattr(h, "_tangram", False)]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        for extra in list(root.handlers):
            if extra not in handlers:
                root.removeHandler(extra)
        root.setLevel(level)


def log_lines(err: str) -> list[dict[str, Any]]:
    lines = []
    for line in err.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_json_log_lines_carry_request_id(
    app: Any, client: httpx.AsyncClient, json_logs: io.StringIO
) -> None:
    async def explode() -> None:
        logging.getLogger("tangram.test").warning("about to fail", extra={"step": 3})
        raise RuntimeError("kaboom")

    app.add_api_route("/api/v1/_test/log", explode, methods=["GET"])
    response = await client.get("/api/v1/_test/log", headers={"X-Request-ID": "log-trace-1"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "log-trace-1"
    await client.get("/api/health", headers={"X-Request-ID": "log-trace-2"})

    lines = log_lines(json_logs.getvalue())
    assert lines, "no JSON log lines were written"
    for line in lines:
        assert {"ts", "level", "logger", "message", "request_id"} <= set(line)

    mine = [line for line in lines if line["request_id"] == "log-trace-1"]
    by_logger = {line["logger"]: line for line in mine}
    assert by_logger["tangram.test"]["message"] == "about to fail"
    assert by_logger["tangram.test"]["step"] == 3
    assert by_logger["tangram.test"]["level"] == "warning"
    error = by_logger["tangram.errors"]
    assert error["level"] == "error"
    assert "kaboom" in error["exception"]
    access = by_logger["tangram.access"]
    assert access["route"] == "/api/v1/_test/log"
    assert access["status"] == 500
    assert access["duration_ms"] >= 0

    health = [
        line
        for line in lines
        if line["request_id"] == "log-trace-2" and line["logger"] == "tangram.access"
    ]
    assert health and health[0]["route"] == "/api/health" and health[0]["status"] == 200


async def test_log_lines_outside_requests_have_no_request_id(json_logs: io.StringIO) -> None:
    logging.getLogger("tangram.test").warning("no request here")
    (line,) = [
        entry for entry in log_lines(json_logs.getvalue()) if entry["message"] == "no request here"
    ]
    assert line["request_id"] == "-"
