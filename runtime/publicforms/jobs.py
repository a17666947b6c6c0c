"""The job that mails a submitter their tracking link."""

from __future__ import annotations

from typing import Any

from runtime import mailer
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.publicforms.service import MAIL_JOB

TEXTS = {
    "en": (
        "Your submission: {title}",
        "Thank you, we received your submission to “{title}”.\n\n"
        "Follow it here (keep this link to yourself):\n{url}\n",
    ),
    "zh-CN": (
        "您的提交：{title}",
        "感谢您的提交，我们已收到“{title}”。\n\n您可以通过以下链接查看进度（请勿转发）：\n{url}\n",
    ),
}


@handlers.register(MAIL_JOB, max_attempts=5)
async def mail_link(ctx: JobContext) -> dict[str, Any]:
    payload = ctx.payload
    subject, body = TEXTS.get(payload.get("locale") or "en", TEXTS["en"])
    params = {"title": payload["title"], "url": payload["url"]}
    key = ctx.idempotency_key
    mail = mailer.message(
        ctx.settings, [payload["to"]], subject.format(**params), body.format(**params), key
    )
    try:
        await mailer.send(mail, ctx.settings)
    except mailer.MailNotConfigured as exc:
        return {"sent": False, "reason": str(exc)}
    return {"sent": [payload["to"]]}
