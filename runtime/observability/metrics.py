"""Prometheus metrics: requests by route, job queue, database pool."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("tangram_http_requests_total", "HTTP requests", ["method", "route", "status"])
REQUEST_SECONDS = Histogram(
    "tangram_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RATE_LIMITED = Counter(
    "tangram_http_rate_limited_total",
    "Requests refused with 429 by the rate limiter",
    ["route_class", "scope"],
)
RATE_LIMIT_BACKEND_ERRORS = Counter(
    "tangram_rate_limit_backend_errors_total",
    "Rate-limit checks Redis did not answer (counted in-process instead)",
)
IN_FLIGHT = Gauge("tangram_http_requests_in_flight", "HTTP requests being served")
JOBS_QUEUED = Gauge("tangram_jobs_queue_depth", "Jobs by status", ["status"])
JOBS_RUN = Counter("tangram_jobs_run_total", "Jobs finished by this process", ["name", "outcome"])
JOB_SECONDS = Histogram("tangram_job_duration_seconds", "Job run time", ["name"])
DB_POOL = Gauge("tangram_db_pool_connections", "Database pool connections", ["state"])
