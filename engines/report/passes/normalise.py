"""Pass 1, normalise: fill the defaults a widget leaves out (sort order, top-N measure)."""

from __future__ import annotations

from engines.report.spec import Sort, TopN, Widget

_RANKED = frozenset({"bar", "pie", "funnel"})


def normalise(widget: Widget) -> Widget:
    """The widget with its defaults made explicit.

    Sort: time-bucketed dimensions in time order; bar, pie and funnel charts by their first
    measure, largest first; otherwise by the dimensions. Top-N ranks by the first measure.
    """
    changes: dict[str, object] = {}
    if not widget.sort:
        sort: list[Sort] = []
        time = [d for d in widget.dimensions if d.bucket is not None]
        if widget.measures and widget.chart in _RANKED and not time:
            sort.append(Sort(key=widget.measures[0].key, desc=True))
        sort.extend(Sort(key=d.key) for d in widget.dimensions)
        changes["sort"] = sort
    if widget.top_n is not None and widget.top_n.by is None and widget.measures:
        changes["top_n"] = TopN(
            n=widget.top_n.n, by=widget.measures[0].key, others=widget.top_n.others
        )
    return widget.model_copy(update=changes) if changes else widget
