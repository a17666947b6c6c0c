"""The one scope of records: every path that reads or writes records (lists, records, search,
counts, exports, relations, lookups, history, comments, attachments, and later reports,
drill-down, flow tasks and channel views) asks here which rows the caller may touch.

The rights themselves are computed by :mod:`runtime.permissions.access` from the app's grants.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false

from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.permissions.access import Access, access
from runtime.records.forms import FormHandle


def read_scope(handle: FormHandle, principal: Principal | None) -> ColumnElement[bool]:
    """Which records the caller may read, as one SQL condition."""
    return row_scope(handle, principal, "read")


def row_scope(handle: FormHandle, principal: Principal | None, action: str) -> ColumnElement[bool]:
    """Which records the caller may ``action`` (read, update, delete, export …)."""
    if principal is None:
        return false()
    return access(handle, principal).rows(action)


def require(handle: FormHandle, principal: Principal, action: str) -> Access:
    """The caller's rights on the form; 403 unless they include ``action`` somewhere."""
    rights = access(handle, principal)
    if not rights.can(action):
        raise ProblemError("forbidden", extra={"action": action})
    return rights


def check_token(handle: FormHandle, principal: Principal, action: str | None) -> None:
    """403 ``token_scope`` when a narrowed API token is used outside its apps or actions."""
    if principal.token_apps is not None and handle.app_key not in principal.token_apps:
        raise ProblemError("token_scope", extra={"app": handle.app_key})
    actions = principal.token_actions
    if action is not None and actions is not None and action not in actions:
        raise ProblemError("token_scope", extra={"action": action})
