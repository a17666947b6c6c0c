"""Signed deliveries against a real local HTTP server: the receiver checks the signature with
``verify_signature`` over the bytes it received; answers are classified (2xx delivered,
5xx/429 and no answer retried, 3xx/4xx rejected, policy refusals never sent); every attempt
gives exactly one log row."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Executable
from sqlalchemy.dialects import sqlite

from runtime.config import Settings
from runtime.net import webhooks
from runtime.net.webhooks import (
    Source,
    WebhookCall,
    WebhookRefused,
    WebhookRejected,
    WebhookUnavailable,
    deliver,
    derive_secret,
    signature,
    signing_secret,
    verify_signature,
)
from tests.support.servers import free_port, http_server

SECRET = "s3cret-for-the-receiver"
SOURCE = Source("flow", "desk/hook", 7, "act", 11, 2)


def settings(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("webhook_secrets", {"receiver": SECRET})
    return Settings(  # type: ignore[call-arg]
        _env_file=None, var_dir=tmp_path, secret_key="test-secret", **values
    )


class Journal(list[dict[str, Any]]):
    """The rows ``deliver`` writes, as the values of their insert statements."""

    def __call__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=sqlite.dialect())
        self.append(dict(compiled.params))


def call(url: str, body: Any = None, **extra: Any) -> WebhookCall:
    values: dict[str, Any] = {
        "method": "POST",
        "secret_name": "receiver",
        "idempotency_key": "key-1",
    }
    values.update(extra)
    return WebhookCall(url=url, body=body, **values)


# --- the scheme ---------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
    expected = "a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
    assert signature("key", 1700000000, b'{"a":1}') == f"sha256={expected}"


def test_verify_signature() -> None:
    body = b'{"ticket":"T-1"}'
    now = 1_700_000_000
    header = signature(SECRET, now, body)
    assert verify_signature(SECRET, str(now), body, header, now=now)
    assert verify_signature(SECRET, now, body, header, now=now + 299)
    assert not verify_signature(SECRET, now, body, header, now=now + 301)  # replayed later
    assert not verify_signature(SECRET, now, body + b" ", header, now=now)  # body changed
    assert not verify_signature("other-secret", now, body, header, now=now)
    assert not verify_signature(SECRET, now + 1, body, header, now=now)  # timestamp changed
    assert not verify_signature(SECRET, "soon", body, header, now=now)
    assert not verify_signature(SECRET, now, body, header.removeprefix("sha256="), now=now)
    rotated = f"{signature('old-secret', now, body)}, {header}"
    assert verify_signature(SECRET, now, body, rotated, now=now)


def test_secrets_named_configured_or_derived(tmp_path: Path) -> None:
    derived = signing_secret(settings(tmp_path))
    assert derived == derive_secret("test-secret") and len(derived) == 64
    assert derived != derive_secret("another-key")
    assert "test-secret" not in derived
    configured = settings(
        tmp_path, webhook_secret="x" * 20, webhook_secrets={"crm": "crm-secret-0123456789"}
    )
    assert signing_secret(configured) == "x" * 20
    assert signing_secret(configured, "crm") == "crm-secret-0123456789"
    with pytest.raises(webhooks.UnknownSecret, match="TANGRAM_WEBHOOK_SECRETS"):
        signing_secret(configured, "erp")


# --- delivering ---------------------------------------------------------------------------------


async def test_delivery_is_signed_over_the_bytes_sent(tmp_path: Path) -> None:
    journal = Journal()
    body = {"title": "打印机", "when": "2026-12-03", "n": 3}
    with http_server((200, {"ticket": "T-1"})) as hook:
        sent = call(hook.url, body, headers={"X-Source": "tangram", "idempotency-key": "mine"})
        response = await deliver(sent, SOURCE, settings(tmp_path), journal)
    assert response.status_code == 200 and response.parsed() == {"ticket": "T-1"}
    [request] = hook.requests
    headers = request.headers
    assert request.body == body
    assert request.raw == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert verify_signature(
        SECRET, headers["X-Tangram-Timestamp"], request.raw, headers["X-Tangram-Signature"]
    )
    assert abs(int(headers["X-Tangram-Timestamp"]) - time.time()) < 60
    assert headers["Idempotency-Key"] == "key-1"  # the configured one cannot replace it
    assert headers["X-Source"] == "tangram"
    assert headers["Host"] == f"127.0.0.1:{hook.port}"
    assert headers["Content-Type"] == "application/json"
    [row] = journal
    assert row["outcome"] == "delivered" and row["status_code"] == 200
    assert row["source_kind"] == "flow" and row["source_key"] == "desk/hook"
    assert (row["source_id"], row["step"], row["job_id"], row["attempt"]) == (7, "act", 11, 2)
    assert row["request_bytes"] == len(request.raw)
    assert row["address"] == "127.0.0.1" and row["method"] == "POST"
    assert json.loads(row["response_excerpt"]) == {"ticket": "T-1"}
    assert row["error"] is None and row["duration_ms"] >= 0
    assert SECRET not in json.dumps(row, default=str)


async def test_a_host_name_is_called_at_a_checked_address_with_its_own_host_header(
    tmp_path: Path,
) -> None:
    """``localhost`` may resolve to ::1 first, where nothing listens: the next checked
    address is tried; the Host header keeps the name."""
    journal = Journal()
    with http_server() as hook:
        url = f"http://localhost:{hook.port}/hook"
        await deliver(call(url, {"a": 1}), SOURCE, settings(tmp_path), journal)
    [request] = hook.requests
    assert request.headers["Host"] == f"localhost:{hook.port}"
    assert journal[0]["address"] == "127.0.0.1"


async def test_get_sends_no_body_and_signs_the_empty_one(tmp_path: Path) -> None:
    with http_server() as hook:
        await deliver(
            call(hook.url, {"ignored": True}, method="GET"), SOURCE, settings(tmp_path), Journal()
        )
    [request] = hook.requests
    assert request.method == "GET" and request.raw == b""
    headers = request.headers
    assert verify_signature(
        SECRET, headers["X-Tangram-Timestamp"], b"", headers["X-Tangram-Signature"]
    )


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (500, WebhookUnavailable, "failed"),
        (429, WebhookUnavailable, "failed"),
        (422, WebhookRejected, "rejected"),
        (307, WebhookRejected, "rejected"),
    ],
)
async def test_answers_are_classified(
    tmp_path: Path, status: int, error: type[Exception], outcome: str
) -> None:
    journal = Journal()
    with http_server((status, {"error": "no"})) as hook, pytest.raises(error) as raised:
        await deliver(call(hook.url, {}), SOURCE, settings(tmp_path), journal)
    assert str(status) in str(raised.value)
    [row] = journal
    assert row["outcome"] == outcome and row["status_code"] == status
    assert len(hook.requests) == 1


async def test_refusal_sends_nothing_and_is_logged(tmp_path: Path) -> None:
    journal = Journal()
    strict = settings(tmp_path, webhook_deny=["127.0.0.0/8", "::1/128"])
    with http_server() as hook:
        with pytest.raises(WebhookRefused) as refused:
            await deliver(call(f"http://localhost:{hook.port}/"), SOURCE, strict, journal)
        with pytest.raises(WebhookRefused):
            await deliver(call("http://169.254.169.254/latest"), SOURCE, strict, journal)
        with pytest.raises(WebhookRefused) as scheme:
            await deliver(call("ftp://example.com/"), SOURCE, strict, journal)
    assert hook.requests == []
    assert refused.value.code == "webhook_forbidden_address" and not refused.value.retry
    assert scheme.value.code == "webhook_scheme"
    assert [r["outcome"] for r in journal] == ["refused"] * 3
    assert all(r["status_code"] is None and r["address"] is None for r in journal)
    assert "webhook_forbidden_address" in journal[0]["error"]


async def test_an_unknown_secret_sends_nothing(tmp_path: Path) -> None:
    journal = Journal()
    with http_server() as hook, pytest.raises(WebhookRefused) as refused:
        await deliver(call(hook.url, secret_name="erp"), SOURCE, settings(tmp_path), journal)
    assert hook.requests == [] and refused.value.code == "webhook_secret_unknown"
    assert [r["outcome"] for r in journal] == ["refused"]


async def test_no_answer_is_retryable(tmp_path: Path) -> None:
    journal = Journal()
    url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens
    with pytest.raises(WebhookUnavailable) as raised:
        await deliver(call(url, {}), SOURCE, settings(tmp_path), journal)
    assert raised.value.retry
    [row] = journal
    assert row["outcome"] == "failed" and "ConnectError" in row["error"]


async def test_long_answers_are_cut(tmp_path: Path) -> None:
    journal = Journal()
    big = b"x" * (webhooks.MAX_RESPONSE_BYTES + 10)
    with http_server((200, big)) as hook:
        response = await deliver(call(hook.url, {}), SOURCE, settings(tmp_path), journal)
    assert response.truncated and len(response.content) == webhooks.MAX_RESPONSE_BYTES
    assert len(journal[0]["response_excerpt"]) == webhooks.EXCERPT_BYTES


def test_masked_url() -> None:
    assert webhooks.masked_url("https://u:p@example.com/x?q=1") == "https://***@example.com/x?q=1"
    assert webhooks.masked_url("https://example.com/x?q=1") == "https://example.com/x?q=1"
