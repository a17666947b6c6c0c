"""Publishing as a job (``apps.publish``), for a progress bar on large apps and tables.

The job runs ``service.publish`` in its own session: the migration, the new version and the
job's completion commit in one transaction, so a crash leaves nothing half-published and a
retry starts over. Progress follows the publish's stages — validate, plan, migrate tables,
apply, done — as ``progress_percent`` and a message in the starter's language. A publish the
definition refuses (invalid, blocked by rows, a stale ``row_version``) ends the job with
``{"ok": false, "problem": {...}}``; a published one with ``{"ok": true, "version": {...},
"operations": [...]}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps import service
from builder.apps.schemas import VersionOut
from builder.apps.wording import say
from runtime.audit import service as audit
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import ProblemError, problem_body
from runtime.i18n import DEFAULT_LOCALE, current_locale
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers

PUBLISH_JOB = "apps.publish"

#: Stage → (percent when it begins, message en, message zh-CN).
STAGES: dict[str, tuple[float, str, str]] = {
    "validate": (5.0, "Validating the app", "正在校验应用"),
    "plan": (25.0, "Planning the changes", "正在规划变更"),
    "migrate": (50.0, "Migrating tables", "正在迁移数据表"),
    "apply": (80.0, "Applying the new version", "正在应用新版本"),
    "done": (100.0, "Published version {number}", "已发布版本 {number}"),
}
#: Where a job's progress ends when the publish was refused.
REFUSED = (100.0, "Not published", "未发布")


async def enqueue_publish(
    db: AsyncSession,
    actor: Principal,
    app_id: int,
    row_version: int,
    note: str,
    purge: set[tuple[int, int]],
) -> int:
    """Queue a publish of the draft read at ``row_version`` (409 now if it is stale already)."""
    service.check_version(await service.get_draft(db, app_id), row_version)
    payload = {
        "app_id": app_id,
        "user_id": actor.user_id,
        "row_version": row_version,
        "note": note,
        "purge": sorted([form_id, field_id] for form_id, field_id in purge),
        "locale": current_locale.get(),
    }
    job_id = await queue.enqueue(db, PUBLISH_JOB, payload, created_by=actor.user_id)
    audit.record(db, actor, "app.publish_job", "app", app_id, {"job_id": job_id})
    return job_id


async def _stage(ctx: JobContext, stage: str, **params: Any) -> None:
    percent, en, zh_cn = STAGES[stage]
    await ctx.progress(percent, say(en, zh_cn, **params))


@handlers.register(PUBLISH_JOB, max_attempts=3)
async def publish_app(ctx: JobContext) -> dict[str, Any]:
    """Payload: app_id, user_id, row_version, note, purge ([[form id, field id]]), locale."""
    payload, db = ctx.payload, ctx.session
    current_locale.set(payload.get("locale") or DEFAULT_LOCALE)

    async def progress(stage: str) -> None:
        await _stage(ctx, stage)

    try:
        user = await db.get(User, payload["user_id"])
        if user is None or not user.is_active:
            raise ProblemError("not_found", detail="the user who started the publish is gone")
        version, ops = await service.publish(
            db,
            Principal(user, via="system"),
            payload["app_id"],
            payload["row_version"],
            payload.get("note", ""),
            {(int(f), int(g)) for f, g in payload.get("purge", [])},
            ctx.settings,
            progress,
        )
    except ProblemError as exc:
        await db.rollback()
        body = problem_body(
            exc.code, detail=exc.detail, errors=exc.errors, params=exc.params, extra=exc.extra
        )
        await ctx.progress(REFUSED[0], say(REFUSED[1], REFUSED[2]))
        return {"ok": False, "problem": body}
    await _stage(ctx, "done", number=version.number)
    return {
        "ok": True,
        "version": VersionOut.model_validate(version).model_dump(mode="json"),
        "operations": [op.as_dict() for op in ops],
    }
