"""A mailbox's settings through the channels API: checked per field, passwords sealed."""

from __future__ import annotations

import pytest

from runtime.channels.email.html import html_to_text
from runtime.channels.email.parse import Refused, decode_words, parse
from runtime.channels.email.settings import MailboxSettings

GOOD = {
    "address": "support@example.cn",
    "imap_host": "imap.example.cn",
    "imap_user": "support@example.cn",
    "imap_password": "app-password-1",
    "smtp_host": "smtp.example.cn",
    "smtp_password": "app-password-2",
}


@pytest.mark.asyncio
async def test_bad_settings_are_refused_per_field_and_passwords_never_shown(center):
    base = f"/api/v1/apps/{center.app['id']}/channels"
    headers = {**center.admin.headers, "Accept-Language": "zh-CN"}
    bad = await center.client.post(
        base,
        json={
            "kind": "email",
            "key": "mail",
            "name": "邮箱",
            "settings": {
                **GOOD,
                "address": "not-an-address",
                "imap_security": "tls9",
                "ticket_pattern": "([",
                "max_messages": 0,
            },
        },
        headers=headers,
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {
        "settings.address",
        "settings.imap_security",
        "settings.ticket_pattern",
        "settings.max_messages",
    }
    made = await center.client.post(
        base,
        json={"kind": "email", "key": "mail", "name": "邮箱", "settings": GOOD},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["secrets_set"] == ["imap_password", "smtp_password"]
    assert "app-password" not in made.text
    kinds = await center.client.get("/api/v1/channel-kinds", headers=headers)
    assert "app-password" not in kinds.text
    [email] = [k for k in kinds.json() if k["kind"] == "email"]
    assert "IMAP server" in str(email)


def test_parsing_without_a_server():
    settings = MailboxSettings.model_validate(GOOD)
    assert decode_words("=?gb2312?B?" + "1tDOxA==" + "?=") == "中文"
    assert html_to_text("<p>a<br>b</p><script>x()</script><ul><li>c</li></ul>") == "a\nb\n\n• c"
    raw = b"From: a@x.cn\r\nMessage-ID: <p1@x.cn>\r\nSubject: Re: [TK-20261204-0007] hi\r\n\r\nok"
    parsed = parse(raw, settings)
    assert not isinstance(parsed, Refused)
    assert parsed.ticket_number == "TK-20261204-0007" and parsed.subject == "[TK-20261204-0007] hi"
    assert parse(b"\x00\xff garbage", settings).code == "mail.malformed"
