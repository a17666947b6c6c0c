"""Real servers for the e-mail channel: a private dovecot (IMAP) and aiosmtpd with TLS."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from runtime.channels.email.kind import poll_once
from runtime.channels.models import Channel
from runtime.channels.service import secrets_of, settings_of
from tests.runtime.channels.conftest import center  # noqa: F401  (fixture)
from tests.support.dovecot import Imap, dovecot_server, self_signed
from tests.support.servers import Mailbox, free_port


@pytest.fixture
def imap() -> Iterator[Imap]:
    with dovecot_server() as server:
        yield server


@contextmanager
def tls_smtp(mode: str = "ssl") -> Iterator[tuple[Mailbox, str]]:
    """aiosmtpd with implicit TLS (``ssl``) or STARTTLS required (``starttls``); the mailbox
    and the certificate (PEM) to trust."""
    with tempfile.TemporaryDirectory() as directory:
        cert, key = self_signed(Path(directory), "smtp.localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        mailbox = Mailbox()
        kwargs: dict[str, Any] = (
            {"ssl_context": context}
            if mode == "ssl"
            else {"tls_context": context, "require_starttls": True}
        )
        controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kwargs)
        controller.start()
        mailbox.port = controller.port
        try:
            yield mailbox, cert.read_text()
        finally:
            controller.stop()


def mailbox_settings(imap: Imap, smtp_port: int = 1, ca: str | None = None, **extra: Any) -> dict:
    values = {
        "address": "support@example.cn",
        "imap_host": "127.0.0.1",
        "imap_port": imap.tls_port,
        "imap_security": "ssl",
        "imap_user": imap.user,
        "imap_password": imap.password,
        "idle": False,
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_security": "ssl",
        "from_name": "客服中心",
        "signature": "{agent}\n客服中心 · 400-800-1234",
        "tls_ca_pem": imap.cert.read_text() if ca is None else ca,
    }
    values.update(extra)
    return values


async def make_mailbox(center, settings: dict, key: str = "mail") -> dict:  # noqa: F811
    made = await center.client.post(
        f"/api/v1/apps/{center.app['id']}/channels",
        json={"kind": "email", "key": key, "name": "客服邮箱", "settings": settings},
        headers=center.admin.headers,
    )
    assert made.status_code == 201, made.text
    return made.json()


async def poll(sessions: Any, channel_id: int) -> dict[str, Any]:
    """One poll, as the job runs it."""
    async with sessions() as db:
        channel = await db.get(Channel, channel_id)
        settings = settings_of(channel)
        password = secrets_of(channel)["imap_password"]
    return await poll_once(sessions, channel_id, settings, password)
