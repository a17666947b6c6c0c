"""``rule.action``: a rule's mail or webhook, run once after the triggering write committed.

The job carries the firing's data as it was (record, changes, event), so a retry sends the
same mail or call. Its key (``rule:<run>:<action>``) makes the ``Message-ID`` and the
webhook's ``Idempotency-Key``: a receiver can drop a repeat after a crash between sending
and marking the job done. A refusal that a retry would only repeat (no mail server, no
recipient, a 3xx/4xx answer) ends the job at once; network trouble, 5xx and 429 are retried
with the jobs' backoff. Either way the outcome is written into the rule's run log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engines.logic import evaluate
from engines.rules.spec import CallWebhook, SendMail
from runtime import mailer
from runtime.flows import definitions
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.net import webhooks
from runtime.rules.actions import ACTION_JOB, ActionError, render
from runtime.rules.models import RuleRun

MAX_ATTEMPTS = 6


class Refused(Exception):
    """The receiver or the configuration refuses: retrying would not help."""


@handlers.register(ACTION_JOB, max_attempts=MAX_ATTEMPTS)
async def run_external(ctx: JobContext) -> dict[str, Any]:
    payload = ctx.payload
    definition = await definitions.definition(ctx.session, int(payload["version"]))
    rule = definition.rule(str(payload["rule"]))
    index = int(payload["action"])
    key = ctx.idempotency_key or f"rule-{payload['run']}-{index}"
    if rule is None or index >= len(rule.actions):
        return await _outcome(ctx, False, "the rule is no longer in its version")
    action = rule.actions[index]
    data: dict[str, Any] = payload["data"]
    try:
        if isinstance(action, SendMail):
            detail = await _send_mail(ctx, action, data, key)
        elif isinstance(action, CallWebhook):
            detail = await _webhook(ctx, action, data, key)
        else:
            return await _outcome(ctx, False, f"{action.type} is not an external action")
    except (Refused, ActionError, mailer.MailNotConfigured) as exc:
        return await _outcome(ctx, False, str(exc))
    except Exception as exc:
        if ctx.attempt >= MAX_ATTEMPTS:
            await _outcome(ctx, False, f"gave up after {ctx.attempt} attempts: {exc}")
        raise
    return await _outcome(ctx, True, detail)


async def _send_mail(
    ctx: JobContext, action: SendMail, data: dict[str, Any], key: str
) -> dict[str, Any]:
    value = evaluate(action.to, data)
    items = value if isinstance(value, list) else [value]
    to = [str(v).strip() for v in items if isinstance(v, str) and "@" in v]
    if not to:
        raise Refused("the mail has no recipient")
    subject, body = render(action.subject, data), render(action.body, data)
    await mailer.send(mailer.message(ctx.settings, to, subject, body, key), ctx.settings)
    return {"sent": to}


async def _webhook(
    ctx: JobContext, action: CallWebhook, data: dict[str, Any], key: str
) -> dict[str, Any]:
    """Through :func:`runtime.net.webhooks.deliver`: the egress policy, the signature, the
    delivery log (source ``rule``, ``<app id>/<rule>``)."""
    body = evaluate(action.body, data) if action.body is not None else data
    call = webhooks.WebhookCall(
        url=action.url,
        method=action.method,
        idempotency_key=key,
        secret_name=action.secret,
        body=body,
        headers=action.headers,
    )
    run = int(ctx.payload["run"])
    source = webhooks.Source(
        "rule",
        str(ctx.payload["rule"]),
        run,
        f"actions[{ctx.payload['action']}]",
        ctx.job_id,
        ctx.attempt,
    )
    try:
        response = await webhooks.deliver(call, source, ctx.settings, ctx.keep)
    except webhooks.WebhookError as exc:
        if exc.retry:
            raise
        raise Refused(str(exc)) from exc
    return {"status": response.status_code}


async def _outcome(ctx: JobContext, ok: bool, detail: Any) -> dict[str, Any]:
    """Write the action's outcome into the run log (in the job's transaction)."""
    db = ctx.session
    run = (
        await db.execute(select(RuleRun).where(RuleRun.id == int(ctx.payload["run"])))
    ).scalar_one_or_none()
    index = int(ctx.payload["action"])
    if run is not None:
        actions = [dict(a) for a in run.actions]
        if index < len(actions):
            actions[index] = {**actions[index], "ok": ok, "detail": detail, "job": ctx.job_id}
            run.actions = actions
        if not ok:
            run.status = "failed"
            run.error = f"actions[{index}]: {detail}"
    return {"ok": ok, "detail": detail}
