"""A record's activity timeline: field history and comments with @mentions and attachments.

A comment's attachments are the commenter's uploads or files the record already holds; they
are recorded in ``record_files`` like attachment fields, so that whoever can read the record can
download them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit import service as audit
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import FieldError, ProblemError
from runtime.files.models import StoredFile
from runtime.i18n import pick
from runtime.permissions import load_membership
from runtime.records.attachments import held
from runtime.records.forms import FormHandle
from runtime.records.models import RecordComment, RecordFile, RecordHistory
from runtime.records.scope import read_scope
from runtime.rules.models import Notification

_TAG = re.compile(r"<[^>]+>")
_MENTION = re.compile(r"(?<![\w@])@([a-z0-9][a-z0-9._@-]{0,63})", re.IGNORECASE)


async def mentioned_users(db: AsyncSession, body: str) -> list[int]:
    names = {m.lower().rstrip(".") for m in _MENTION.findall(body)}
    if not names:
        return []
    rows = await db.execute(select(User.id).where(User.username.in_(names), User.is_active))
    return sorted(rows.scalars())


async def add_comment(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    record_id: int,
    body: str,
    internal: bool,
    attachments: list[int],
) -> RecordComment:
    attachments = list(dict.fromkeys(attachments))
    if attachments:
        # The commenter's own uploads, or files the record holds already (whoever can read
        # the record can read those): never a way into someone else's file.
        owned = set(
            (
                await db.execute(
                    select(StoredFile.id).where(
                        StoredFile.id.in_(attachments), StoredFile.created_by == principal.user_id
                    )
                )
            ).scalars()
        )
        owned |= {
            file_id for _, file_id in await held(db, handle.form_id, [record_id], set(attachments))
        }
        missing = [f for f in attachments if f not in owned]
        if missing:
            raise ProblemError(
                "validation_failed",
                errors=[
                    FieldError("attachments", "unknown_file", f"no file {missing[0]} of yours")
                ],
            )
    comment = RecordComment(
        form_id=handle.form_id,
        record_id=record_id,
        author_id=principal.user_id,
        body=body,
        internal=internal,
        mentions=await mentioned_users(db, body),
        attachments=attachments,
    )
    db.add(comment)
    await db.flush()
    for file_id in attachments:
        db.add(
            RecordFile(
                form_id=handle.form_id, record_id=record_id, comment_id=comment.id, file_id=file_id
            )
        )
    await notify_mentioned(db, handle, principal, record_id, comment)
    audit.record(
        db,
        principal,
        "record.comment",
        "record",
        f"{handle.form_id}:{record_id}",
        {"comment_id": comment.id, "internal": internal},
    )
    return comment


async def notify_mentioned(
    db: AsyncSession,
    handle: FormHandle,
    author: Principal,
    record_id: int,
    comment: RecordComment,
) -> list[int]:
    """An in-app notification for every user the comment mentions who may read the record
    (never the author); returns whom it notified."""
    if not comment.mentions:
        return []
    users = await db.execute(
        select(User).where(User.id.in_(comment.mentions), User.id != author.user_id)
    )
    who = author.user.display_name or author.user.username
    label = handle.form.label
    excerpt = " ".join(_TAG.sub(" ", comment.body).split())[:300]
    notified = []
    for user in users.scalars():
        reader = Principal(user=user, via="system")
        await load_membership(db, reader)
        visible = await db.execute(
            select(handle.table.c.id).where(
                handle.table.c.id == record_id,
                handle.table.c.deleted_at.is_(None),
                read_scope(handle, reader),
            )
        )
        if visible.first() is None:
            continue
        form = label.get(user.locale or "") or label.get("en") or next(iter(label.values()))
        title = pick(
            {
                "en": f"{who} mentioned you on {form} #{record_id}",
                "zh-CN": f"{who} 在{form} #{record_id} 中提到了您",
            },
            user.locale,
        )
        subject = {
            "app": handle.app_key,
            "form": handle.form.key,
            "record_id": record_id,
            "comment_id": comment.id,
            "kind": "mention",
        }
        db.add(Notification(user_id=user.id, title=title[:500], body=excerpt, subject=subject))
        notified.append(user.id)
    if notified:
        await db.flush()
    return notified


async def timeline(
    db: AsyncSession,
    handle: FormHandle,
    record_id: int,
    *,
    include_internal: bool = True,
    hidden: set[str] | None = None,
) -> list[dict[str, Any]]:
    """History and comments, oldest first; changes of ``hidden`` fields are left out."""
    hidden = hidden or set()
    history = await db.execute(
        select(RecordHistory)
        .where(RecordHistory.form_id == handle.form_id, RecordHistory.record_id == record_id)
        .order_by(RecordHistory.id)
    )
    comments_query = select(RecordComment).where(
        RecordComment.form_id == handle.form_id,
        RecordComment.record_id == record_id,
        RecordComment.deleted_at.is_(None),
    )
    if not include_internal:
        comments_query = comments_query.where(RecordComment.internal.is_(False))
    comments = await db.execute(comments_query.order_by(RecordComment.id))
    entries = [
        {
            "kind": "history",
            "id": h.id,
            "at": h.at,
            "actor_id": h.actor_id,
            "action": h.action,
            "source": h.source,
            "changes": {k: v for k, v in h.changes.items() if k not in hidden},
        }
        for h in history.scalars()
    ] + [
        {
            "kind": "comment",
            "id": c.id,
            "at": c.created_at,
            "actor_id": c.author_id,
            "body": c.body,
            "internal": c.internal,
            "mentions": c.mentions,
            "attachments": c.attachments,
        }
        for c in comments.scalars()
    ]
    entries.sort(key=lambda e: (e["at"], e["kind"] == "comment", e["id"]))
    return entries
