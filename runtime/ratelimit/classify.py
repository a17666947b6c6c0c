"""Which route class a request belongs to, and which requests are not limited at all."""

from __future__ import annotations

from runtime.ratelimit.rates import RouteClass

#: Auth endpoints that answer without being signed in (sign-in now; any future one such as a
#: password-reset request belongs here too): limited per address like a guessing attack.
LOGIN_PATHS = frozenset({"/api/v1/auth/login"})
#: Operations endpoints, scraped by probes and monitoring: never limited.
UNLIMITED_PATHS = frozenset({"/api/health", "/metrics"})
#: POST endpoints that only read (a list with its filter in the body): counted as reads.
READ_ONLY_POST_SUFFIXES = ("/query",)
#: Dashboard runs and drill-downs (runtime filters in the body) only read too.
REPORT_PREFIX = "/api/v1/apps/"
REPORT_READ_SUFFIXES = ("/run", "/drill")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def classify(method: str, path: str) -> RouteClass | None:
    """The route class of ``method path``, or None when the request is not limited.

    ``exports``: any ``…/export`` (a streamed file of a whole form's records) — the costly
    reads. ``login``: :data:`LOGIN_PATHS`. ``reads``: GET, HEAD and OPTIONS, plus read-only
    POSTs (``…/query``, dashboard ``…/run`` and ``…/drill``). ``writes``: every other method.
    File downloads (``/files/{id}/content``) are reads: a record page loads its attachments
    that way.
    """
    if len(path) > 1:
        path = path.rstrip("/")
    if path in UNLIMITED_PATHS:
        return None
    method = method.upper()
    if path.endswith("/export"):
        return "exports"
    if path in LOGIN_PATHS and method == "POST":
        return "login"
    if method in READ_METHODS:
        return "reads"
    if method == "POST" and path.startswith("/api/") and path.endswith(READ_ONLY_POST_SUFFIXES):
        return "reads"
    if (
        method == "POST"
        and path.startswith(REPORT_PREFIX)
        and "/dashboards/" in path
        and path.endswith(REPORT_READ_SUFFIXES)
    ):
        return "reads"
    return "writes"
