"""The channels pages on both databases, on the installed Customer Center: add a channel of a
kind through its settings form (typed inputs, secrets write-only), refused input shown at the
field with nothing written, a stale save refused, the message log with its filter, a
quarantined message taken in again, and removal with the key typed."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import pytest
from markupsafe import escape
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from runtime.channels import intake
from runtime.channels.intake import Identity, Inbound
from runtime.channels.models import ACCEPTED, QUARANTINED, Channel, ChannelMessage
from runtime.channels.registry import ChannelKind, channel_kinds
from runtime.records.writer import commit_and_dispatch
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD
from tests.runtime.web.pages import field_errors, hidden, sign_in


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(
        title="Host",
        description="Where the server is.",
        json_schema_extra={"title_zh": "主机", "description_zh": "服务器的地址。"},
    )
    port: int = Field(default=993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    verify: bool = True
    senders: list[str] = Field(default_factory=list)
    mapping: dict[str, Any] = Field(default_factory=dict)
    password: str | None = None


class PageKind(ChannelKind):
    type: ClassVar[str] = "test_page"
    label = ("Test mailbox", "测试邮箱")
    settings_model = _Settings
    secret_fields = ("password",)

    async def reprocess(self, db, channel, logged) -> Any:
        return await intake.ingest(
            db,
            channel,
            Inbound(
                channel="email",
                identity=Identity(email="fixed@example.com", name="修好了"),
                body=logged.raw.decode(),
                subject="重新收取",
                external_id=logged.external_id,
            ),
        )


@pytest.fixture
def page_kind():
    kind = channel_kinds.register(PageKind())
    yield kind
    channel_kinds.unregister("test_page")


def _form(page: str, **values: str) -> dict[str, str]:
    return {"csrf_token": hidden(page, "csrf_token"), **values}


async def test_add_change_log_and_remove_a_channel_from_the_pages(center, sessions, page_kind):
    client = center.client
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    base = "/build/apps/customer_center/channels"

    listing = await client.get(base)
    assert listing.status_code == 200
    assert 'href="/build/apps/customer_center/channels"' in listing.text  # the menu entry
    assert '<option value="test_page">Test mailbox</option>' in listing.text
    new = await client.get(f"{base}/new", params={"kind": "test_page"})
    assert new.status_code == 200
    assert 'name="s_port" type="number" value="993"' in new.text
    assert 'name="s_password" type="password"' in new.text
    assert '<option value="starttls">' in new.text and "Where the server is." in new.text

    refused = await client.post(
        base,
        data=_form(
            new.text,
            kind="test_page",
            key="Bad Key",
            name="Support mailbox",
            enabled="true",
            s_host="",
            s_port="many",
            s_security="ssl",
            s_mapping="{not json",
        ),
    )
    assert refused.status_code == 422
    assert field_errors(refused.text, "key") and field_errors(refused.text, "s_port")
    assert field_errors(refused.text, "s_mapping")
    async with sessions() as db:
        assert (await db.execute(select(Channel))).scalars().all() == []

    made = await client.post(
        base,
        data=_form(
            new.text,
            kind="test_page",
            key="support",
            name="Support mailbox",
            enabled="true",
            s_host="imap.example.com",
            s_port="143",
            s_security="starttls",
            s_senders="a@example.com\n\n b@example.com ",
            s_mapping='{"subject": "/title"}',
            s_password="s3cret",
        ),
    )
    assert made.status_code == 303, made.text
    page = await client.get(made.headers["location"])
    assert page.status_code == 200 and "s3cret" not in page.text
    assert "Stored — leave empty to keep" in page.text
    async with sessions() as db:
        channel = (await db.execute(select(Channel))).scalar_one()
    assert channel.settings == {
        "host": "imap.example.com",
        "port": 143,
        "security": "starttls",
        "verify": False,  # the box was not ticked
        "senders": ["a@example.com", "b@example.com"],
        "mapping": {"subject": "/title"},
    }

    # A save that leaves the secret empty keeps it; a stale one is refused.
    fields = dict(
        name="Support",
        enabled="true",
        s_host="imap2.example.com",
        s_port="993",
        s_security="ssl",
        s_verify="true",
    )
    saved = await client.post(f"{base}/support", data=_form(page.text, row_version="1", **fields))
    assert saved.status_code == 303
    stale = await client.post(f"{base}/support", data=_form(page.text, row_version="1", **fields))
    assert stale.status_code == 409
    async with sessions() as db:
        channel = (await db.execute(select(Channel))).scalar_one()
        assert channel.row_version == 2 and channel.settings["host"] == "imap2.example.com"
        from runtime.channels.service import secrets_of

        assert secrets_of(channel) == {"password": "s3cret"}

        # The log: one message taken in, one quarantined.
        await intake.ingest(
            db,
            channel,
            Inbound(
                channel="email",
                identity=Identity(email="wang@example.com", name="王先生"),
                body="打印机坏了",
                subject="报修",
                external_id="m1",
            ),
        )
        bad = await intake.quarantine(
            db,
            channel,
            code="mime_malformed",
            detail="no boundary",
            raw=b"fixed body",
            external_id="m2",
        )
        await commit_and_dispatch(db)

    log = await client.get(f"{base}/support")
    assert log.text.count("data-message=") == 2 and "mime_malformed" in log.text
    only = await client.get(f"{base}/support", params={"status": "quarantined"})
    assert only.text.count("data-message=") == 1
    raw = await client.get(f"{base}/support/messages/{bad}/raw")
    assert raw.status_code == 200 and raw.content == b"fixed body"
    again = await client.post(f"{base}/support/messages/{bad}/reprocess", data=_form(page.text))
    assert again.status_code == 303 and "done=reprocessed" in again.headers["location"]
    async with sessions() as db:
        row = await db.get(ChannelMessage, bad)
        assert row.status == ACCEPTED and row.ticket_id is not None
    shown = await client.get(f"{base}/support")
    ticket_link = f'href="/apps/customer_center/forms/ticket/records/{row.ticket_id}"'
    assert ticket_link in shown.text
    listing = await client.get(base)
    assert "2 in" in listing.text and QUARANTINED not in listing.text

    kept = await client.post(f"{base}/support/delete", data=_form(page.text, confirm="nope"))
    assert "done=not_deleted" in kept.headers["location"]
    gone = await client.post(f"{base}/support/delete", data=_form(page.text, confirm="support"))
    assert gone.headers["location"].endswith("?done=deleted")
    async with sessions() as db:
        assert (await db.execute(select(Channel))).scalars().all() == []


async def test_the_channel_pages_speak_chinese_and_need_a_designer(center, page_kind):
    client = center.client
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    zh = {"Accept-Language": "zh-CN"}
    listing = await client.get("/build/apps/customer_center/channels", headers=zh)
    assert "<h1>渠道</h1>" in listing.text and ">测试邮箱</option>" in listing.text
    new = await client.get(
        "/build/apps/customer_center/channels/new", params={"kind": "test_page"}, headers=zh
    )
    assert "添加渠道" in new.text
    assert ">主机 <span" in new.text and "服务器的地址。" in new.text
    await client.post("/sign-out", data={"csrf_token": hidden(new.text, "csrf_token")})
    client.cookies.clear()
    await sign_in(client, "sam", USER_PASSWORD, "/")
    denied = await client.get("/build/apps/customer_center/channels")
    assert denied.status_code == 403


async def test_every_kind_has_its_settings_form_in_both_languages(center):
    client = center.client
    await sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    for kind in channel_kinds:
        for language, title in (("en", kind.label[0]), ("zh-CN", kind.label[1])):
            page = await client.get(
                "/build/apps/customer_center/channels/new",
                params={"kind": kind.type},
                headers={"Accept-Language": language},
            )
            assert page.status_code == 200, (kind.type, page.text)
            assert f"· {escape(title)}</span>" in page.text
            for name, info in kind.settings_model.model_fields.items():
                extra = info.json_schema_extra
                label = extra["title_zh"] if language == "zh-CN" else info.title
                assert f'data-setting="{name}"' in page.text and escape(str(label)) in page.text
