"""Imports too large to answer inline run as the ``records.import`` job.

The job writes through ``ctx.session``: its records, history rows and the job's completion
commit in one transaction (all rows or none, and a retried job has left nothing behind).
Record events are delivered after that commit. Problems that no retry can fix (a bad file, an
unpublished form) end the job with ``{"ok": false, "problem": {...}}`` in its result.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit import service as audit
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import ProblemError, problem_body
from runtime.files.access import readable
from runtime.files.models import StoredFile
from runtime.files.storage import LocalStorage
from runtime.i18n import DEFAULT_LOCALE, current_locale, pick
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.permissions import load_membership
from runtime.records.event_spool import EventSpool, deliver_after_commit
from runtime.records.forms import resolve
from runtime.records.importer import MAX_ROWS, ImportReport, run_import
from runtime.records.tabular import Format, count_rows, detect_format, read_table

IMPORT_JOB = "records.import"


async def source_file(
    db: AsyncSession, principal: Principal, file_id: int, storage: LocalStorage
) -> tuple[Path, Format]:
    """The uploaded file to import and its format; 404 unless the caller may read it."""
    stored = await db.get(StoredFile, file_id)
    if stored is None or not await readable(db, principal, stored):
        raise ProblemError("not_found", detail=f"file {file_id}")
    path = storage.path_for(stored.key)
    if not path.is_file():
        raise ProblemError("not_found", detail=f"file {file_id}")
    return path, detect_format(path, stored.filename, stored.content_type)


def audit_import(
    db: AsyncSession, principal: Principal, form_id: int, file_id: int, created: int
) -> None:
    changes = {"file_id": file_id, "created": created}
    audit.record(db, principal, "records.import", "form", form_id, changes)


def _progress_text(done: int, total: int) -> str:
    return pick(
        {"en": f"{done:,} of {total:,} rows checked", "zh-CN": f"已检查 {done:,} / {total:,} 行"}
    )


@handlers.register(IMPORT_JOB, max_attempts=3)
async def import_records(ctx: JobContext) -> dict[str, Any]:
    """Payload: app, form, file_id, user_id, dry_run, mapping, locale."""
    current_locale.set(ctx.payload.get("locale") or DEFAULT_LOCALE)
    spool = EventSpool()
    try:
        report = await _import(ctx, spool)
    except ProblemError as exc:
        spool.close()
        body = problem_body(
            exc.code, detail=exc.detail, errors=exc.errors, params=exc.params, extra=exc.extra
        )
        return {"ok": False, "problem": body}
    except BaseException:
        spool.close()
        raise
    deliver_after_commit(ctx.session, spool)
    await ctx.progress(100.0, _progress_text(report.rows, report.rows))
    return report.as_dict()


async def _import(ctx: JobContext, spool: EventSpool) -> ImportReport:
    payload, db = ctx.payload, ctx.session
    user = await db.get(User, payload["user_id"])
    if user is None or not user.is_active:
        raise ProblemError("not_found", detail="the user who started the import is gone")
    principal = Principal(user, via="system")
    if payload.get("token_apps") is not None:
        principal.token_apps = frozenset(payload["token_apps"])
    if payload.get("token_actions") is not None:
        principal.token_actions = frozenset(payload["token_actions"])
    await load_membership(db, principal)
    handle = await resolve(db, payload["app"], payload["form"])
    storage = LocalStorage(ctx.settings.storage_dir)
    path, fmt = await source_file(db, principal, payload["file_id"], storage)
    total = await asyncio.to_thread(count_rows, path, fmt, MAX_ROWS + 1)
    if total > MAX_ROWS:
        raise ProblemError("too_many_rows", params={"limit": MAX_ROWS})

    async def progress(done: int) -> None:
        await ctx.progress(min(99.0, 100.0 * done / max(total, 1)), _progress_text(done, total))

    await ctx.progress(0.0, _progress_text(0, total))
    report = await run_import(
        db,
        handle,
        principal,
        read_table(path, fmt),
        dry_run=bool(payload.get("dry_run")),
        mapping=payload.get("mapping"),
        progress=progress,
        time_zone=ctx.settings.time_zone,
        spool=spool,
    )
    if report.created:
        audit_import(db, principal, handle.form_id, payload["file_id"], report.created)
    return report
