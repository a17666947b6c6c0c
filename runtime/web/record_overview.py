"""The overview on a record's page (a form's ``overview``: its 360° view): key figures as a
strip and the merged timeline of the records of other forms pointing at it, formatted like
the record's own values (:class:`runtime.web.record_view.Display`), a page at a time."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.records import overview
from runtime.records.forms import FormHandle, resolve_app
from runtime.web import formatting
from runtime.web.record_view import Display, Shown
from runtime.web.templating import label_text

#: Entries per page on the record page.
PAGE_SIZE = 10
#: The longest title shown (a communication's body is shown as an excerpt).
TITLE_LENGTH = 80


def record_href(handle: FormHandle, record_id: int) -> str:
    return f"/apps/{handle.app_key}/forms/{handle.form.key}/records/{record_id}"


def _excerpt(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def _title(display: Display, source: overview.Source, value: Any) -> str:
    if source.title is None or value in (None, "", []):
        return ""
    shown = display.show(source.handle.spec(source.title), value)
    if shown.text:
        return _excerpt(shown.text)
    return _excerpt(", ".join(str(item.get("label") or item.get("text")) for item in shown.items))


def _figure_text(figure: overview.Figure, displays: dict[str, Display]) -> str:
    if figure.value is None:
        return "—"
    if figure.agg == "count":
        return formatting.format_number(figure.value)
    if figure.agg == "avg":
        return formatting.format_number(figure.value, 1)
    display = displays[figure.form]
    spec = display.handle.spec(figure.field or "")
    shown: Shown = display.show(spec, figure.value)
    return shown.text or str(figure.value)


def _display(base: Display, handle: FormHandle) -> Display:
    return Display(base.db, handle, base.principal, base.time_zone, base.currency)


async def entries(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    record_id: int,
    base: Display,
    before: str | None = None,
) -> dict[str, Any]:
    """A page of the timeline as the page shows it, and the cursor of the next one."""
    page = await overview.timeline(db, handle, principal, record_id, before=before, limit=PAGE_SIZE)
    by_index = {s.index: s for s in page.sources}
    displays = {s.index: _display(base, s.handle) for s in page.sources}
    for source in page.sources:
        mine = [e for e in page.entries if e.source == source.index]
        pairs = [(source.handle.spec(k), e.values.get(k)) for e in mine for k in source.shown]
        await displays[source.index].prepare(pairs)
    shown = []
    for entry in page.entries:
        source = by_index[entry.source]
        display = displays[entry.source]
        fields = [
            {"label": source.handle.spec(k).label, "shown": display.show(source.handle.spec(k), v)}
            for k in source.shown
            if k != source.title
            for v in [entry.values.get(k)]
        ]
        shown.append(
            {
                "source": entry.source,
                "form": entry.form,
                "label": label_text(source.label),
                "href": record_href(source.handle, entry.record_id),
                "id": entry.record_id,
                "title": _title(display, source, entry.title),
                "at": entry.at,
                "fields": fields,
            }
        )
    return {"entries": shown, "next_cursor": page.next_cursor}


async def overview_view(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    record_id: int,
    base: Display,
    before: str | None = None,
) -> dict[str, Any] | None:
    """Figures and a page of the timeline for the record page; None when the form has no
    overview."""
    spec = handle.form.overview
    if spec is None or not (spec.sources or spec.figures):
        return None
    found = await overview.figures(db, handle, principal, record_id)
    handles = (await resolve_app(db, handle.app_key)).handles
    displays = {f.form: _display(base, handles[f.form]) for f in found}
    figures = [
        {"key": f.key, "label": label_text(f.label), "text": _figure_text(f, displays)}
        for f in found
    ]
    page = await entries(db, handle, principal, record_id, base, before)
    return {
        "figures": figures,
        "has_sources": bool(spec.sources),
        "before": before,
        **page,
    }
