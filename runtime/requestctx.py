"""Per-request context shared by logging, errors and the audit log."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("tangram_request_id", default=None)
client_ip_var: ContextVar[str | None] = ContextVar("tangram_client_ip", default=None)
