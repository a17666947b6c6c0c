"""The one read scope of records: every read path (lists, records, relations, exports,
reports, drill-down) asks here which rows the caller may see."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from runtime.auth.principal import Principal
from runtime.records.forms import FormHandle


def read_scope(handle: FormHandle, principal: Principal) -> ColumnElement[bool]:
    """Which records the caller may read. Every read path goes through here.

    Until permission sets exist (permissions issue), every signed-in user reads every live
    record of a published form; row scopes will narrow this one condition.
    """
    return true() if principal is not None else false()
