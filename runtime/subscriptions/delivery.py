"""Record events to subscribers: enqueued with the write, delivered by a job, replayable.

An in-transaction hook (``runtime.records.writer.in_transaction``) enqueues one
``webhook.subscription`` job per matching active subscription and event, in the write's own
transaction: the record and its deliveries commit together (a rolled-back write sends
nothing). The job posts the event through :func:`runtime.net.webhooks.deliver` — the egress
policy, the ``X-Tangram-Signature`` HMAC-SHA256 signature with the subscription's secret, one
``webhook_deliveries`` row per attempt (``source_kind`` ``subscription``) — and is retried with
the jobs' exponential backoff after no answer, 5xx or 429; a 3xx/4xx answer or a refusal by
the egress policy ends it. Every attempt of one event carries the same ``Idempotency-Key``
(``sub-<subscription>-<event id>``), a replay too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Executable, select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.channels.secrets import SecretsUnreadable
from runtime.config import Settings
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.flows import definitions
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.models import Job
from runtime.jobs.registry import handlers
from runtime.net import webhooks
from runtime.net.models import WebhookDelivery
from runtime.records.writer import RecordEvent, in_transaction
from runtime.subscriptions.models import SOURCE_KIND, WebhookSubscription
from runtime.subscriptions.service import secret_of

JOB = "webhook.subscription"
MAX_ATTEMPTS = 6
#: The payload's ``schema_version`` (DESIGN §10.7).
PAYLOAD_VERSION = 1


def event_body(
    event: RecordEvent, app_key: str, form_key: str | None, subscription_id: int
) -> dict[str, Any]:
    """What a subscriber receives (see the package README)."""
    body = {
        "schema_version": PAYLOAD_VERSION,
        "id": uuid.uuid4().hex,
        "event": f"record.{event.kind}",
        "occurred_at": utcnow().isoformat(),
        "app": app_key,
        "form": form_key,
        "form_id": event.form_id,
        "record_id": event.record_id,
        "actor_id": event.actor_id,
        "subscription_id": subscription_id,
        "changes": event.changes,
    }
    return dict(json.loads(webhooks.encode_body(body)))


@in_transaction
async def enqueue_deliveries(db: AsyncSession, events: list[RecordEvent]) -> None:
    wanted = [e for e in events if e.kind in ("created", "updated", "deleted")]
    if not wanted:
        return
    app_ids = {e.app_id for e in wanted}
    rows = await db.execute(
        select(WebhookSubscription).where(
            WebhookSubscription.app_id.in_(app_ids), WebhookSubscription.active.is_(True)
        )
    )
    subscriptions = list(rows.scalars())
    if not subscriptions:
        return
    keys = dict((await db.execute(select(App.id, App.key).where(App.id.in_(app_ids)))).all())
    for event in wanted:
        form_key = None
        if event.version_id is not None:
            form = (await definitions.definition(db, event.version_id)).form_by_id(event.form_id)
            form_key = form.key if form is not None else None
        for subscription in subscriptions:
            if subscription.app_id != event.app_id or event.kind not in subscription.events:
                continue
            if subscription.form_id is not None and subscription.form_id != event.form_id:
                continue
            body = event_body(event, keys[event.app_id], form_key, subscription.id)
            await queue.enqueue(
                db,
                JOB,
                {
                    "subscription": subscription.id,
                    "key": f"sub-{subscription.id}-{body['id']}",
                    "body": body,
                },
                max_attempts=MAX_ATTEMPTS,
            )


def _call(subscription: WebhookSubscription, key: str, body: Any) -> webhooks.WebhookCall:
    try:
        secret = secret_of(subscription)
    except SecretsUnreadable as exc:
        raise webhooks.WebhookRefused("webhook_secret_unknown", str(exc)) from exc
    return webhooks.WebhookCall(
        url=subscription.url, method="POST", idempotency_key=key, body=body, secret=secret
    )


def _source(
    subscription: WebhookSubscription, body: Any, job_id: int | None, attempt: int
) -> webhooks.Source:
    event = body.get("event") if isinstance(body, dict) else None
    return webhooks.Source(
        SOURCE_KIND,
        f"{body.get('app') if isinstance(body, dict) else ''}/{subscription.id}",
        subscription.id,
        str(event or "")[:64] or None,
        job_id,
        attempt,
    )


@handlers.register(JOB, max_attempts=MAX_ATTEMPTS)
async def deliver_event(ctx: JobContext) -> dict[str, Any]:
    payload = ctx.payload
    subscription = await ctx.session.get(WebhookSubscription, int(payload["subscription"]))
    if subscription is None:
        return {"skipped": "the subscription was deleted"}
    if not subscription.active:
        return {"skipped": "the subscription is switched off"}
    call = _call(subscription, str(payload["key"]), payload["body"])
    source = _source(subscription, payload["body"], ctx.job_id, ctx.attempt)
    try:
        response = await webhooks.deliver(call, source, ctx.settings, ctx.keep)
    except webhooks.WebhookError as exc:
        if exc.retry:
            raise
        return {"ok": False, "error": str(exc)}  # retrying would only repeat the refusal
    return {"ok": True, "status": response.status_code}


async def replay(
    db: AsyncSession, settings: Settings, app_id: int, delivery_id: int
) -> WebhookDelivery:
    """Send a logged delivery again, now: a new attempt with the same idempotency key and
    body (read from its job), logged like every attempt. The new log row is returned."""
    delivery = await db.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.source_kind != SOURCE_KIND or delivery.source_id is None:
        raise ProblemError("delivery_not_found")
    subscription = await db.get(WebhookSubscription, delivery.source_id)
    if subscription is None or subscription.app_id != app_id:
        raise ProblemError("delivery_not_found")
    job = await db.get(Job, delivery.job_id) if delivery.job_id is not None else None
    if job is None or job.name != JOB:
        raise ProblemError("delivery_not_replayable")
    body = job.payload["body"]
    attempts = await db.execute(
        select(WebhookDelivery.attempt).where(
            WebhookDelivery.source_kind == SOURCE_KIND,
            WebhookDelivery.idempotency_key == delivery.idempotency_key,
        )
    )
    attempt = max([int(a) for a in attempts.scalars()] or [0]) + 1
    written: list[Executable] = []
    try:
        call = _call(subscription, str(job.payload["key"]), body)
        await webhooks.deliver(
            call, _source(subscription, body, job.id, attempt), settings, written.append
        )
    except webhooks.WebhookError:
        pass  # the outcome is in the log row
    if not written:  # refused before an attempt was made (the secret is unreadable)
        raise ProblemError("delivery_not_replayable")
    result = await db.execute(written[0].returning(WebhookDelivery.id))  # type: ignore[attr-defined]
    new_id = int(result.scalar_one())
    for statement in written[1:]:
        await db.execute(statement)
    await db.flush()
    row = await db.get(WebhookDelivery, new_id)
    assert row is not None
    return row
