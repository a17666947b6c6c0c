"""Pass 7, limits: a default row limit, and absurd limits (or top-N) refused."""

from __future__ import annotations

from engines.report.errors import ReportError
from engines.report.plan import Plan

STAGE = "limits"
MAX_LIMIT = 10_000
MAX_TOP_N = 100
DEFAULT_LIMIT = 1000
DEFAULT_RECORDS = 100


def apply_limits(plan: Plan) -> Plan:
    """The plan with ``limit`` set: the widget's, else 100 records (record tables) or 1000
    groups; a limit outside 1..10000 or a top-N outside 1..100 is refused."""
    widget = plan.widget

    def refuse(where: str, limit: int, maximum: int) -> ReportError:
        return ReportError(
            "report.absurd_limit",
            widget=widget.key,
            stage=STAGE,
            path=f"widgets[{widget.key}].{where}",
            limit=limit,
            max=maximum,
        )

    if widget.limit is not None and not 1 <= widget.limit <= MAX_LIMIT:
        raise refuse("limit", widget.limit, MAX_LIMIT)
    if widget.top_n is not None and not 1 <= widget.top_n.n <= MAX_TOP_N:
        raise refuse("top_n.n", widget.top_n.n, MAX_TOP_N)
    default = DEFAULT_RECORDS if not widget.measures else DEFAULT_LIMIT
    return plan.but(limit=widget.limit or default)
