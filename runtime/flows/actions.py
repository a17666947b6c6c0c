"""What a service task does: set the record's fields, create a record, send mail, call a
webhook. Each runs inside its job's transaction, so database effects commit together with
the token moving on and the job being marked done (a retry after a crash finds nothing
half-done). Mail and webhooks leave the database: they carry a key stable across retries
(``Message-ID`` / ``Idempotency-Key``) so that a receiver can drop a repeat.

Failures that a retry would only repeat (the form refuses the values, a template fails, the
egress policy forbids the webhook's address, the receiver answers 3xx/4xx) raise
:class:`ActionFailed`: the instance fails at once. Anything else (a conflict, the network, a
5xx) is raised as it is, and the job retries. Webhooks go through ``runtime.net.webhooks``:
signed, checked against the egress policy, and every attempt written to the delivery log.
"""

from __future__ import annotations

from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from engines.flow.model import CreateRecord, SendMail, ServiceTask, SetFields, Webhook
from engines.logic import evaluate
from runtime import mailer
from runtime.config import Settings
from runtime.errors import ProblemError
from runtime.flows.records import form_handle
from runtime.flows.store import Run
from runtime.jobs.context import JobContext
from runtime.net import webhooks
from runtime.records.forms import resolve as resolve_form
from runtime.records.writer import RecordWriter

_TEMPLATES = SandboxedEnvironment(autoescape=False)


class ActionFailed(Exception):
    """The action cannot succeed as configured (retrying would not help)."""


async def run_action(
    db: AsyncSession,
    run: Run,
    node: ServiceTask,
    context: dict[str, Any],
    key: str,
    job: JobContext,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Run the node's action; returns (new variables, record changes)."""
    try:
        return await _run(db, run, node, context, key, job)
    except ProblemError as exc:
        if exc.status == 409 or exc.status >= 500:
            raise  # the record changed meanwhile (or the database is unwell): retry
        raise ActionFailed(_refusal(exc)) from exc
    except TemplateError as exc:
        raise ActionFailed(f"the template failed: {exc}") from exc


def _refusal(exc: ProblemError) -> str:
    details = [f"{e.field}: {e.code}" for e in exc.errors] or [exc.detail or ""]
    return f"the record write was refused ({exc.code}): " + "; ".join(d for d in details if d)


async def _run(
    db: AsyncSession,
    run: Run,
    node: ServiceTask,
    context: dict[str, Any],
    key: str,
    job: JobContext,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    action = node.action
    if isinstance(action, SetFields):
        return None, await _set_fields(db, run, action, context)
    if isinstance(action, CreateRecord):
        return await _create_record(db, run, action, context), None
    if isinstance(action, SendMail):
        await _send_mail(action, context, key, job.settings)
        return None, None
    if isinstance(action, Webhook):
        return await _webhook(db, run, node, action, context, key, job), None
    raise ActionFailed(f"unknown action {action!r}")


async def _set_fields(
    db: AsyncSession, run: Run, action: SetFields, context: dict[str, Any]
) -> dict[str, Any]:
    record = run.inst.record
    if run.record_id is None or record is None:
        raise ActionFailed("this process has no record to set fields on")
    handle = await form_handle(db, run.form_id)
    if handle is None:
        raise ActionFailed("the form is no longer published")
    values = {key: evaluate(rule, context) for key, rule in action.values.items()}
    written = await RecordWriter(db, handle, None, source="flow").update(
        run.record_id, record["row_version"], values
    )
    changes = {k: written["values"].get(k) for k in values}
    record.update(changes)
    record["row_version"] = written["row_version"]
    return changes


async def _create_record(
    db: AsyncSession, run: Run, action: CreateRecord, context: dict[str, Any]
) -> dict[str, Any] | None:
    app_key = (await db.execute(select(App.key).where(App.id == run.app_id))).scalar_one()
    handle = await resolve_form(db, app_key, action.form)
    values = {key: evaluate(rule, context) for key, rule in action.values.items()}
    created = await RecordWriter(
        db, handle, None, source="flow", author_id=run.inst.started_by
    ).create(values)
    return {action.result: created["id"]} if action.result else None


def render(template: str, context: dict[str, Any]) -> str:
    return _TEMPLATES.from_string(template).render(**context)


def _addresses(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if isinstance(v, str) and "@" in v]


async def _send_mail(
    action: SendMail, context: dict[str, Any], key: str, settings: Settings
) -> None:
    if not settings.smtp_host:
        raise ActionFailed("no mail server is configured (TANGRAM_SMTP_HOST)")
    to = _addresses(evaluate(action.to, context))
    if not to:
        raise ActionFailed("the mail has no recipient")
    subject, body = render(action.subject, context), render(action.body, context)
    await mailer.send(mailer.message(settings, to, subject, body, key), settings)


async def _webhook(
    db: AsyncSession,
    run: Run,
    node: ServiceTask,
    action: Webhook,
    context: dict[str, Any],
    key: str,
    job: JobContext,
) -> dict[str, Any] | None:
    body = evaluate(action.body, context) if action.body is not None else context
    app_key = (await db.execute(select(App.key).where(App.id == run.app_id))).scalar_one()
    call = webhooks.WebhookCall(
        url=action.url,
        method=action.method,
        idempotency_key=key,
        secret_name=action.secret,
        body=None if action.method == "GET" else body,
        headers=action.headers,
    )
    source = webhooks.Source(
        "flow", f"{app_key}/{run.flow_key}", run.id, node.id, job.job_id, job.attempt
    )
    try:
        response = await webhooks.deliver(call, source, job.settings, job.keep)
    except webhooks.WebhookError as exc:
        if exc.retry:
            raise
        raise ActionFailed(str(exc)) from exc
    if not action.result:
        return None
    if response.truncated:
        raise ActionFailed(
            f"the webhook's answer is larger than {webhooks.MAX_RESPONSE_BYTES} bytes: "
            f"too large to keep in {action.result!r}"
        )
    return {action.result: response.parsed()}
