"""Ticket deflection: what customers looked for before (not) opening a ticket.

While a customer types a ticket's subject in the portal or a public form, the page shows the
public articles matching it (``runtime.kb.public_routes``). The first time it shows some, a
**session** is recorded in the app's deflection form (``IntakeSpec.deflection``): the query,
where it happened, outcome *pending*. The page carries the session's signed token: opening an
article records it; "this answered my question" settles the session as *deflected*; submitting
the ticket anyway settles it as *submitted* with the ticket. Sessions still pending a day
later in which an article was read count as deflected (the customer found their answer and
left); those in which nothing was read stay pending and are not counted.

The share of deflected sessions among settled ones is the deflection rate the operations
dashboard shows. Writes go through the records writer (no user: the public).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition
from builder.apps.selfservice import DeflectionMap
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.records.forms import FormHandle, PublishedApp, resolve_app
from runtime.records.writer import RecordWriter, commit_and_dispatch

Source = Literal["portal", "web_form"]
SETTLE_AFTER = timedelta(hours=24)
SETTLE_JOB = "kb.deflections.settle"
SOURCE = "deflection"
_CONTEXT = b"tangram/deflection/v1\x00"


def deflection_of(definition: AppDefinition) -> DeflectionMap | None:
    return next((s.deflection for s in definition.intake if s.deflection is not None), None)


def _key(secret: str) -> bytes:
    return hashlib.sha256(_CONTEXT + secret.encode()).digest()


def token_for(secret: str, app_id: int, record_id: int) -> str:
    """The session's token: its id and an HMAC over app and id."""
    mac = hmac.new(_key(secret), f"{app_id}:{record_id}".encode(), hashlib.sha256).hexdigest()
    return f"{record_id}.{mac[:32]}"


def record_of(secret: str, app_id: int, token: str) -> int | None:
    """The session id a token names (None when it is malformed or not signed by us)."""
    number, _, mac = token.partition(".")
    if not number.isdigit() or len(number) > 18:
        return None
    expected = token_for(secret, app_id, int(number)).partition(".")[2]
    return int(number) if hmac.compare_digest(mac, expected) else None


@dataclass(frozen=True)
class Sessions:
    """An app's deflection form, as the public pages use it."""

    app: PublishedApp
    mapping: DeflectionMap
    handle: FormHandle

    def source_value(self, source: Source) -> str | None:
        if self.mapping.source is None:
            return None
        return self.mapping.sources.get(source, source)

    async def _row(self, db: AsyncSession, record_id: int) -> Any:
        table = self.handle.table
        outcome = self.handle.column(self.mapping.outcome)
        return (
            await db.execute(
                select(table.c.id, table.c.row_version, outcome.label("outcome")).where(
                    table.c.id == record_id, table.c.deleted_at.is_(None)
                )
            )
        ).one_or_none()

    async def start(
        self, db: AsyncSession, query: str, source: Source, article_id: int | None = None
    ) -> int:
        m = self.mapping
        values: dict[str, Any] = {m.query: query[:200], m.outcome: PENDING}
        if m.source and (value := self.source_value(source)) is not None:
            values[m.source] = value
        if m.article and article_id is not None:
            values[m.article] = article_id
        created = await RecordWriter(db, self.handle, None, source=SOURCE).create(values)
        return int(created["id"])

    async def note(
        self,
        db: AsyncSession,
        record_id: int,
        *,
        query: str | None = None,
        article_id: int | None = None,
        outcome: Literal["deflected"] | None = None,
        ticket_id: int | None = None,
        customer_id: int | None = None,
    ) -> bool:
        """Record what happened in a pending session; False if it is settled or gone."""
        row = await self._row(db, record_id)
        if row is None or row.outcome != PENDING:
            return False
        m = self.mapping
        values: dict[str, Any] = {}
        if query:
            values[m.query] = query[:200]
        if article_id is not None and m.article:
            values[m.article] = article_id
        if outcome == "deflected":
            values[m.outcome] = m.deflected
        if ticket_id is not None:
            values[m.outcome] = m.submitted
            if m.ticket:
                values[m.ticket] = ticket_id
        if customer_id is not None and m.customer:
            values[m.customer] = customer_id
        if values:
            writer = RecordWriter(db, self.handle, None, source=SOURCE)
            await writer.update(record_id, row.row_version, values)
        return True


#: The outcome of a session not settled yet (the form's default).
PENDING = "pending"


async def sessions_of(db: AsyncSession, app_key: str) -> Sessions:
    """The app's deflection sessions (404 ``not_found`` for an app without them)."""
    app = await resolve_app(db, app_key)
    mapping = deflection_of(app.definition)
    if mapping is None or mapping.form not in app.handles:
        raise ProblemError("not_found")
    return Sessions(app, mapping, app.handles[mapping.form])


async def submitted(
    db: AsyncSession,
    app_key: str,
    secret: str,
    token: str | None,
    ticket_id: int,
    customer_id: int | None = None,
) -> bool:
    """Settle the session of ``token`` as submitted with ``ticket_id`` (a ticket came anyway);
    False when there is no such pending session. Written in the caller's transaction."""
    if not token:
        return False
    try:
        sessions = await sessions_of(db, app_key)
    except ProblemError:
        return False
    record_id = record_of(secret, sessions.app.app_id, token)
    if record_id is None:
        return False
    return await sessions.note(db, record_id, ticket_id=ticket_id, customer_id=customer_id)


async def settle(db: AsyncSession, app_key: str, now: Any = None) -> int:
    """Settle the sessions pending for a day in which an article was read as deflected."""
    sessions = await sessions_of(db, app_key)
    m, handle = sessions.mapping, sessions.handle
    if m.article is None:
        return 0
    table = handle.table
    cutoff = (now or utcnow()) - SETTLE_AFTER
    rows = (
        await db.execute(
            select(table.c.id, table.c.row_version)
            .where(
                handle.column(m.outcome) == PENDING,
                handle.column(m.article).is_not(None),
                table.c.created_at < cutoff,
                table.c.deleted_at.is_(None),
            )
            .order_by(table.c.id)
            .limit(1000)
        )
    ).all()
    if rows:
        writer = RecordWriter(db, handle, None, source=SOURCE)
        await writer.update_many([(r.id, r.row_version, {m.outcome: m.deflected}) for r in rows])
    return len(rows)


@handlers.register(SETTLE_JOB, max_attempts=3)
async def settle_job(ctx: JobContext) -> dict[str, Any]:
    """Settle the pending deflection sessions of every app that records them."""
    from builder.apps.models import App

    db = ctx.session
    keys = (
        await db.execute(
            select(App.key).where(App.deleted_at.is_(None), App.published_version_id.is_not(None))
        )
    ).scalars()
    settled: dict[str, int] = {}
    for key in list(keys):
        try:
            count = await settle(db, key)
        except ProblemError:
            continue
        if count:
            settled[key] = count
    await commit_and_dispatch(db)
    return {"settled": settled}
