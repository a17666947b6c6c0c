"""Installing and upgrading as jobs (``templates.install``, ``templates.upgrade``), for a
progress bar: the whole install — app, draft, publish, seed rows, install record — commits with
the job's completion, or nothing does (a refused one ends with ``{"ok": false, "problem"}``).

The install job reads the uploaded .zip kept under ``var/templates/`` and checks it again
(the file was checked when it was uploaded; the installation may have changed since).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.schemas import AppOut, VersionOut
from builder.apps.wording import say
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.errors import ProblemError, problem_body
from runtime.i18n import DEFAULT_LOCALE, current_locale
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.records.event_spool import EventSpool, deliver_after_commit
from runtime.records.writer import run_hooks
from templates import service

INSTALL_JOB = "templates.install"
UPGRADE_JOB = "templates.upgrade"

#: Stage → (English, Chinese) progress messages.
STAGES: dict[str, tuple[str, str]] = {
    "validate": ("Checking the template", "正在检查模板"),
    "create": ("Creating the app", "正在创建应用"),
    "publish": ("Publishing the app", "正在发布应用"),
    "users": ("Creating {count} demo users", "正在创建 {count} 个演示用户"),
    "seed": (
        "Loading demo data: {done:,} of {total:,} records",
        "正在导入演示数据：{done:,} / {total:,} 条",
    ),
    "merge": ("Merging the new version", "正在合并新版本"),
    "installed": ("Installed {key} {version}", "已安装 {key} {version}"),
    "upgraded": ("Upgraded to {version}", "已升级到 {version}"),
    "refused": ("Not installed", "未安装"),
    "not_upgraded": ("Not upgraded", "未升级"),
}


def stage_text(stage: str, params: dict[str, Any]) -> str:
    en, zh = STAGES[stage]
    return say(en, zh, **params)


def uploads_dir(settings: Settings) -> Path:
    path = settings.var_dir / "templates"
    path.mkdir(parents=True, exist_ok=True)
    return path


def keep_upload(settings: Settings, data: bytes) -> str:
    """Keep an uploaded .zip for the job; its name."""
    name = f"{uuid.uuid4().hex}.zip"
    (uploads_dir(settings) / name).write_bytes(data)
    return name


async def enqueue_install(
    db: AsyncSession, actor: Principal, upload: str, *, key: str | None, demo: bool
) -> int:
    payload = {
        "upload": upload,
        "user_id": actor.user_id,
        "key": key,
        "demo": demo,
        "locale": current_locale.get(),
    }
    return await queue.enqueue(db, INSTALL_JOB, payload, created_by=actor.user_id)


async def enqueue_upgrade(db: AsyncSession, actor: Principal, app_id: int) -> int:
    payload = {"app_id": app_id, "user_id": actor.user_id, "locale": current_locale.get()}
    return await queue.enqueue(db, UPGRADE_JOB, payload, created_by=actor.user_id)


async def _actor(ctx: JobContext) -> Principal:
    user = await ctx.session.get(User, ctx.payload["user_id"])
    if user is None or not user.is_active:
        raise ProblemError("not_found", detail="the user who started the job is gone")
    return Principal(user, via="system")


def _progress(ctx: JobContext) -> service.Progress:
    async def report(percent: float, stage: str, params: dict[str, Any]) -> None:
        await ctx.progress(percent, stage_text(stage, params))

    return report


async def _refused(ctx: JobContext, exc: ProblemError, stage: str) -> dict[str, Any]:
    await ctx.session.rollback()
    body = problem_body(
        exc.code, detail=exc.detail, errors=exc.errors, params=exc.params, extra=exc.extra
    )
    await ctx.progress(100.0, stage_text(stage, {}))
    return {"ok": False, "problem": body}


@handlers.register(INSTALL_JOB, max_attempts=1)
async def install_template(ctx: JobContext) -> dict[str, Any]:
    """Payload: upload (file name under var/templates), user_id, key, demo, locale."""
    payload = ctx.payload
    current_locale.set(payload.get("locale") or DEFAULT_LOCALE)
    path = uploads_dir(ctx.settings) / Path(payload["upload"]).name
    try:
        await ctx.progress(2.0, stage_text("validate", {}))
        actor = await _actor(ctx)
        template = service.check_zip(path.read_bytes(), ctx.settings)
        app, written = await service.install(
            ctx.session,
            actor,
            template,
            key=payload.get("key"),
            demo=bool(payload.get("demo", True)),
            settings=ctx.settings,
            progress=_progress(ctx),
            locale=payload.get("locale"),
        )
    except ProblemError as exc:
        path.unlink(missing_ok=True)
        return await _refused(ctx, exc, "refused")
    manifest = template.manifest
    await ctx.progress(
        100.0, stage_text("installed", {"key": manifest.key, "version": manifest.version})
    )
    path.unlink(missing_ok=True)
    return {
        "ok": True,
        "app": AppOut.model_validate(app).model_dump(mode="json"),
        "template": manifest.key,
        "version": manifest.version,
        "seed_rows": written,
    }


@handlers.register(UPGRADE_JOB, max_attempts=1)
async def upgrade_app(ctx: JobContext) -> dict[str, Any]:
    """Payload: app_id, user_id, locale."""
    payload = ctx.payload
    current_locale.set(payload.get("locale") or DEFAULT_LOCALE)
    try:
        actor = await _actor(ctx)
        version, ops = await service.apply_upgrade(
            ctx.session,
            actor,
            payload["app_id"],
            ctx.settings,
            _progress(ctx),
            locale=payload.get("locale"),
        )
        install = await service.installed(ctx.session, payload["app_id"])
    except ProblemError as exc:
        return await _refused(ctx, exc, "not_upgraded")
    assert install is not None
    await ctx.progress(100.0, stage_text("upgraded", {"version": install.version}))
    return {
        "ok": True,
        "app_id": payload["app_id"],
        "version": install.version,
        "published": VersionOut.model_validate(version).model_dump(mode="json"),
        "operations": [op.as_dict() for op in ops],
    }


@handlers.register(service.EVENTS_JOB, max_attempts=1)
async def deliver_seed_events(ctx: JobContext) -> dict[str, Any]:
    """Payload: events (of seed rows with ``_events``, see ``service.events_payload``).

    Queued by an install in its own transaction, so it runs once the install committed: the
    in-transaction hooks (rules, flows, SLA clocks) run in this job's transaction, the
    after-commit listeners once it commits."""
    events = service.events_from(ctx.payload.get("events") or [])
    db = ctx.session
    db.info.setdefault("record_events", []).extend(events)
    await run_hooks(db)
    db.info.pop("record_events_seen", None)
    deliver_after_commit(db, EventSpool())
    return {"ok": True, "events": len(events)}
