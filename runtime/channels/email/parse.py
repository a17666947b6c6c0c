"""A raw mail → what the intake takes in, or why it is ignored or quarantined.

Parsed with the stdlib ``email`` package (``policy.default``). Chinese charsets are read by
their supersets (GB2312/GBK as GB18030, Big5 as Big5-HKSCS), in bodies and encoded-word
headers. HTML-only mail becomes safe text (:mod:`runtime.channels.email.html`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import errors as email_errors
from email import message_from_bytes, policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr

from runtime.channels.email.html import html_to_text
from runtime.channels.email.settings import MailboxSettings
from runtime.channels.intake import Attachment, Identity, Inbound

#: Codecs that read more than the charset a mail declares (the common mislabelling).
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "ks_c_5601-1987": "euc-kr",
}
#: Defects that mean the structure cannot be trusted.
FATAL_DEFECTS = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
)
BOUNCE_SENDERS = ("mailer-daemon", "postmaster")
REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|回复|答复|转发)\s*[:：]\s*)+", re.I)


@dataclass(frozen=True)
class Refused:
    """Not taken in: ``status`` ignored or quarantined, with a stable code."""

    status: str
    code: str
    detail: str
    external_id: str | None = None
    thread_key: str | None = None


def codec(charset: str | None) -> str:
    name = (charset or "utf-8").strip().lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        "".encode(name)
    except LookupError:
        return "utf-8"
    return name


def decode_words(raw: str) -> str:
    """An encoded-word header (``=?GBK?B?…?=``) as text."""
    try:
        parts = decode_header(raw)
    except Exception:
        return raw
    out = []
    for value, charset in parts:
        if isinstance(value, bytes):
            out.append(value.decode(codec(charset), errors="replace"))
        else:
            out.append(value)
    return "".join(out)


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return " ".join(str(value).split())
    return None


def header(message: Message, name: str) -> str:
    raw = _raw_header(message, name)
    return decode_words(raw) if raw is not None else ""


def ids(value: str) -> list[str]:
    """Message ids in a header (``<a@b> <c@d>``)."""
    return re.findall(r"<[^<>\s]{1,490}>", value or "")


def _text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return payload.decode(codec(part.get_content_charset()), errors="replace")


def _filename(part: Message, index: int) -> str:
    raw = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if raw is not None:
        from email.utils import collapse_rfc2231_value

        name = decode_words(collapse_rfc2231_value(raw))
    else:
        name = ""
    name = name.replace("/", "_").replace("\\", "_").strip()
    if not name:
        subtype = part.get_content_subtype()
        name = f"part-{index}.{'eml' if part.get_content_maintype() == 'message' else subtype}"
    return name[:255]


@dataclass
class _Walk:
    plain: list[str]
    html: list[str]
    files: list[Attachment]


def _walk(part: Message, out: _Walk, limit: int) -> None:
    if part.is_multipart():
        if part.get_content_maintype() == "message":  # message/rfc822: keep it whole
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            data = first.as_bytes() if isinstance(first, Message) else b""
            _file(out, part, data, limit)
            return
        for child in part.get_payload():
            if isinstance(child, Message):
                _walk(child, out, limit)
        return
    disposition = (part.get_content_disposition() or "").lower()
    kind = part.get_content_type()
    named = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if kind in ("text/plain", "text/html") and disposition != "attachment" and not named:
        (out.plain if kind == "text/plain" else out.html).append(_text(part))
        return
    payload = part.get_payload(decode=True)
    _file(out, part, payload if isinstance(payload, bytes) else b"", limit)


class TooLarge(Exception):
    pass


def _file(out: _Walk, part: Message, data: bytes, limit: int) -> None:
    name = _filename(part, len(out.files) + 1)
    if len(data) > limit:
        raise TooLarge(f"attachment {name} has {len(data)} bytes (at most {limit})")
    cid = (part.get("Content-ID") or "").strip().strip("<>") or None
    inline = (part.get_content_disposition() or "") == "inline" or cid is not None
    out.files.append(Attachment(name, part.get_content_type(), data, inline, cid))


def _loop_reason(message: Message, sender: str, own: set[str]) -> tuple[str, str] | None:
    auto = header(message, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return "mail.auto_submitted", f"Auto-Submitted: {auto}"
    precedence = header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return "mail.precedence", f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        value = header(message, name).strip()
        if value:
            return "mail.auto_reply", f"{name}: {value}"
    if header(message, "List-Id") or header(message, "List-Unsubscribe"):
        return "mail.list", f"List-Id: {header(message, 'List-Id')}"
    local = sender.partition("@")[0]
    if local in BOUNCE_SENDERS or not sender:
        return "mail.bounce", f"from {sender or '<>'}"
    if message.get_content_type() == "multipart/report":
        report = message.get_param("report-type") or ""
        return "mail.bounce", f"multipart/report ({report})"
    if sender in own:
        return "mail.own_address", f"from our own address {sender}"
    return None


def parse(raw: bytes, settings: MailboxSettings) -> Inbound | Refused:
    """What ``raw`` is to the intake (see the module docstring)."""
    fallback = f"<sha256.{hashlib.sha256(raw).hexdigest()[:40]}@tangram.invalid>"
    if len(raw) > settings.max_message_bytes:
        return Refused(
            "quarantined",
            "mail.too_large",
            f"{len(raw)} bytes (at most {settings.max_message_bytes})",
            fallback,
        )
    try:
        message = message_from_bytes(raw, policy=policy.default)
        found = ids(header(message, "Message-ID"))
        external_id = found[0] if found else fallback
        fatal = [d for d in message.defects if isinstance(d, FATAL_DEFECTS)]
        from_raw = header(message, "From")
        name, sender = parseaddr(from_raw)
        sender = sender.strip().lower()
        if fatal or not from_raw or (sender and "@" not in sender):
            what = ", ".join(type(d).__name__ for d in fatal) or "no usable From header"
            return Refused("quarantined", "mail.malformed", what, external_id)
        own = {settings.address.lower(), settings.sender.lower()}
        loop = _loop_reason(message, sender, own)
        if loop is not None:
            return Refused("ignored", loop[0], loop[1], external_id, external_id)
        walked = _Walk([], [], [])
        _walk(message, walked, settings.max_attachment_bytes)
    except TooLarge as exc:
        return Refused("quarantined", "mail.attachment_too_large", str(exc), external_id)
    except Exception as exc:  # anything the parser chokes on is bad input, kept whole
        return Refused("quarantined", "mail.malformed", f"{type(exc).__name__}: {exc}", fallback)
    if any(p.strip() for p in walked.plain):
        body = "\n\n".join(p.strip() for p in walked.plain if p.strip())
    else:
        cids = {f.content_id: f.filename for f in walked.files if f.content_id}
        body = "\n\n".join(html_to_text(h, cids) for h in walked.html).strip()
    subject = header(message, "Subject")
    number = re.search(settings.ticket_pattern, subject)
    references = ids(header(message, "References"))
    replying = ids(header(message, "In-Reply-To"))
    keys = tuple(dict.fromkeys([*replying, *reversed(references)]))
    recipients = getaddresses([header(message, "To")])
    return Inbound(
        channel="email",
        identity=Identity(email=sender, name=decode_words(name) or None),
        body=body,
        subject=REPLY_PREFIX.sub("", subject).strip() or subject,
        external_id=external_id,
        thread_key=external_id,
        thread_keys=keys,
        ticket_number=number.group(1) if number else None,
        attachments=tuple(walked.files),
        sender=sender,
        recipient=", ".join(a for _, a in recipients if a)[:200] or settings.address,
        join_open=False,
        raw=raw,
    )
