"""Handlers the platform itself runs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from builder.apps import publish_jobs  # noqa: F401  (registers apps.publish)
from runtime.auth import throttle
from runtime.auth.models import UserSession
from runtime.channels import kinds as channel_kinds  # noqa: F401  (email.poll, email.send)
from runtime.channels.email import notice  # noqa: F401  (email.notice)
from runtime.db import utcnow
from runtime.flows import jobs as flow_jobs  # noqa: F401  (registers flow.timer, flow.service)
from runtime.flows import triggers  # noqa: F401  (flows start on record events)
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.models import WorkerProcess
from runtime.jobs.registry import handlers
from runtime.jobs.worker import CLEANUP_JOB
from runtime.kb import deflection
from runtime.kb import index as kb_index  # noqa: F401  (articles are indexed as written)
from runtime.net.models import WebhookDelivery
from runtime.publicforms import jobs as public_form_jobs  # noqa: F401  (public_forms.mail_link)
from runtime.records import import_job  # noqa: F401  (registers records.import)
from runtime.rules import jobs as rule_jobs  # noqa: F401  (rule.action)
from runtime.rules import scan as rule_scan  # noqa: F401  (rules.scan)
from runtime.rules import service as rules  # noqa: F401  (rules fire on record events)
from runtime.subscriptions import delivery as subscriptions  # noqa: F401  (webhook.subscription)
from templates import jobs as template_jobs  # noqa: F401  (templates.install, templates.upgrade)

FINISHED_JOB_RETENTION = timedelta(days=30)
STALE_WORKER = timedelta(days=1)


@handlers.register(CLEANUP_JOB, max_attempts=3)
async def cleanup(ctx: JobContext) -> dict[str, Any]:
    """Delete expired sessions, old sign-in failures, old finished jobs, dead worker rows and
    webhook deliveries older than ``TANGRAM_WEBHOOK_LOG_DAYS``."""
    db = ctx.session
    now = utcnow()
    sessions = await db.execute(delete(UserSession).where(UserSession.expires_at < now))
    failures = await throttle.purge_old(db, ctx.settings)
    jobs = await queue.purge_finished(db, FINISHED_JOB_RETENTION)
    workers = await db.execute(
        delete(WorkerProcess).where(WorkerProcess.heartbeat_at < now - STALE_WORKER)
    )
    deliveries = await db.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.created_at < now - timedelta(days=ctx.settings.webhook_log_days)
        )
    )
    # Self-service sessions pending for a day are settled once an hour.
    await queue.enqueue(
        db,
        deflection.SETTLE_JOB,
        {},
        idempotency_key=f"{deflection.SETTLE_JOB}:{now.strftime('%Y%m%d%H')}",
        priority=-10,
    )
    return {
        "sessions": sessions.rowcount or 0,  # type: ignore[attr-defined]
        "auth_failures": failures,
        "jobs": jobs,
        "workers": workers.rowcount or 0,  # type: ignore[attr-defined]
        "webhook_deliveries": deliveries.rowcount or 0,  # type: ignore[attr-defined]
    }
