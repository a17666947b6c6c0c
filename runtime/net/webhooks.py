"""Signed webhook deliveries, one attempt per call, each written to the delivery log.

Every request carries

* ``X-Tangram-Timestamp``: the time of signing, in Unix seconds;
* ``X-Tangram-Signature``: ``sha256=`` and the hex HMAC-SHA256, keyed with the signing secret,
  of ``"<timestamp>.<body>"`` (the exact body bytes sent; JSON serialised here, once);
* ``Idempotency-Key``: the same on every retry of one step, so a receiver can drop a repeat.

The signing secret is the action's named secret (``TANGRAM_WEBHOOK_SECRETS``), else
``TANGRAM_WEBHOOK_SECRET``, else one derived from the installation's secret key
(:func:`derive_secret`; ``tangram webhook-secret`` prints it). Receivers check it with
:func:`verify_signature`.

The call goes to an address the egress policy checked (``runtime.net.egress``): the URL's host
is resolved once, every address is checked, and the connection is made to a checked address
with the original host in the ``Host`` header and in TLS (SNI and certificate verification).
The client is made for the one delivery (a pooled connection could otherwise carry another
host's request to an address checked for this one), ignores proxy and ``.netrc`` environment
settings (they would bypass the policy or add credentials) and follows no redirects.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import Executable, insert

from runtime.db import utcnow
from runtime.net.egress import EgressPolicy, EgressRefused, Target
from runtime.net.models import DELIVERED, FAILED, REFUSED, REJECTED, WebhookDelivery

if TYPE_CHECKING:
    from runtime.config import Settings

SIGNATURE_HEADER = "X-Tangram-Signature"
TIMESTAMP_HEADER = "X-Tangram-Timestamp"
USER_AGENT = "Tangram-Webhook/1"
#: How much of an answer the delivery log keeps.
EXCERPT_BYTES = 2048
#: The most of an answer that is read (a larger one is cut; see ``WebhookResponse.truncated``).
MAX_RESPONSE_BYTES = 1024 * 1024
MAX_ERROR_CHARS = 1000
#: Salt and info of the HKDF that derives the default signing secret from the secret key.
_HKDF_SALT = b"tangram webhook signing"
_HKDF_INFO = b"tangram-webhook-secret-v1"

#: Where delivery log rows go: ``JobContext.keep`` for jobs (kept whatever the attempt's fate).
Journal = Callable[[Executable], None]


# --- signing ------------------------------------------------------------------------------------


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Tangram-Signature`` value for ``body`` signed at ``timestamp``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes,
    header: str,
    tolerance_seconds: int = 300,
    *,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (``X-Tangram-Signature``) signs ``body`` at ``timestamp``
    (``X-Tangram-Timestamp``) with ``secret``, and the timestamp is at most
    ``tolerance_seconds`` away from now (an old request replayed fails).

    ``header`` may list several comma-separated ``sha256=…`` values (e.g. while a secret is
    being rotated); one match is enough. Comparisons take constant time."""
    try:
        stamp = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance_seconds:
        return False
    expected = signature(secret, stamp, body)
    return any(
        hmac.compare_digest(candidate.strip().encode(), expected.encode())
        for candidate in header.split(",")
    )


def derive_secret(secret_key: str) -> str:
    """The default signing secret: HKDF-SHA256 (RFC 5869) of the installation's secret key,
    so that it is stable across restarts and processes but reveals nothing about the key."""
    prk = hmac.new(_HKDF_SALT, secret_key.encode(), hashlib.sha256).digest()
    return hmac.new(prk, _HKDF_INFO + b"\x01", hashlib.sha256).hexdigest()


class UnknownSecret(LookupError):
    """An action names a secret that ``TANGRAM_WEBHOOK_SECRETS`` does not define."""


def signing_secret(settings: Settings, name: str | None = None) -> str:
    """The secret an action signs with: its named one, the configured one, or the derived."""
    if name is not None:
        try:
            return settings.webhook_secrets[name]
        except KeyError:
            raise UnknownSecret(
                f"no webhook secret {name!r} is configured (TANGRAM_WEBHOOK_SECRETS)"
            ) from None
    return settings.webhook_secret or derive_secret(settings.resolved_secret())


def encode_body(body: Any) -> bytes:
    """JSON as sent and signed: UTF-8, compact, datetimes and other values as text."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str).encode()


# --- delivering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """Who sends a delivery, for the log."""

    kind: str  # "flow", later "rule"
    key: str  # "<app>/<flow>"
    id: int | None = None  # the flow instance
    step: str | None = None  # the flow node
    job_id: int | None = None
    attempt: int = 1


@dataclass(frozen=True)
class WebhookCall:
    url: str
    method: str
    idempotency_key: str
    #: The signing secret's name in ``TANGRAM_WEBHOOK_SECRETS``; None: the default secret.
    secret_name: str | None = None
    #: JSON-able body; None sends none (GET always sends none).
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The signing secret itself (a subscription's own); set, it overrides ``secret_name``.
    secret: str | None = None


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int
    content: bytes
    #: The answer was longer than ``MAX_RESPONSE_BYTES`` and ``content`` holds its start.
    truncated: bool

    def parsed(self) -> Any:
        """The answer as JSON, else as text."""
        try:
            return json.loads(self.content)
        except ValueError:
            return self.content.decode("utf-8", "replace")


class WebhookError(Exception):
    """A delivery that did not succeed; ``retry`` tells whether trying again may help."""

    retry = False


class WebhookRefused(WebhookError):
    """The URL or the egress policy forbids the call, or its secret is not configured;
    nothing was sent."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class WebhookRejected(WebhookError):
    """The receiver answered 3xx (redirects are not followed) or 4xx other than 429."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class WebhookUnavailable(WebhookError):
    """No answer (DNS, connection, timeout) or 5xx/429: worth retrying later."""

    retry = True


async def deliver(
    call: WebhookCall, source: Source, settings: Settings, journal: Journal
) -> WebhookResponse:
    """Make one attempt; it is logged through ``journal`` whatever happens. Returns a 2xx
    answer or raises a :class:`WebhookError`."""
    attempt = _Attempt(call, source, journal)
    method = call.method.upper()
    body = b"" if method == "GET" or call.body is None else encode_body(call.body)
    attempt.request_bytes = len(body)
    try:
        secret = call.secret or signing_secret(settings, call.secret_name)
    except UnknownSecret as exc:
        attempt.log(REFUSED, error=f"webhook_secret_unknown: {exc}")
        raise WebhookRefused("webhook_secret_unknown", str(exc)) from exc
    try:
        target = await EgressPolicy.from_settings(settings).resolve(
            call.url, seconds=settings.webhook_timeout_seconds
        )
    except EgressRefused as exc:
        attempt.log(REFUSED, error=f"{exc.code}: {exc}")
        raise WebhookRefused(exc.code, str(exc)) from exc
    except OSError as exc:  # the name does not resolve (now)
        attempt.log(FAILED, error=_error_text(exc))
        raise WebhookUnavailable(f"the webhook's host cannot be resolved: {exc}") from exc
    timestamp = int(time.time())
    headers = httpx.Headers(dict(call.headers))
    headers["User-Agent"] = USER_AGENT
    headers["Idempotency-Key"] = call.idempotency_key
    headers[TIMESTAMP_HEADER] = str(timestamp)
    headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    if body:
        headers.setdefault("Content-Type", "application/json")
    try:
        response = await _send(target, method, headers, body, settings, attempt)
    except httpx.HTTPError as exc:
        attempt.log(FAILED, error=_error_text(exc))
        raise WebhookUnavailable(f"the webhook could not be called: {_error_text(exc)}") from exc
    status = response.status_code
    if 200 <= status < 300:
        attempt.log(DELIVERED, response=response)
        return response
    excerpt = response.content[:300].decode("utf-8", "replace")
    if status >= 500 or status == 429:
        attempt.log(FAILED, response=response)
        raise WebhookUnavailable(f"webhook answered {status}: {excerpt}")
    # 3xx: redirects are not followed (the call did not reach its target); 4xx: refused.
    attempt.log(REJECTED, response=response)
    raise WebhookRejected(status, f"webhook answered {status}: {excerpt}")


async def _send(
    target: Target,
    method: str,
    headers: httpx.Headers,
    body: bytes,
    settings: Settings,
    attempt: _Attempt,
) -> WebhookResponse:
    """Connect to the checked addresses in turn (the next one only when connecting failed)."""
    url = httpx.URL(target.url.url)
    headers["Host"] = url.netloc.decode("ascii")
    extensions: dict[str, Any] = {}
    if url.scheme == "https" and target.url.ip is None:
        extensions["sni_hostname"] = url.raw_host.decode("ascii")
    async with httpx.AsyncClient(
        timeout=settings.webhook_timeout_seconds,
        verify=_ssl_context(),
        trust_env=False,
        follow_redirects=False,
    ) as client:
        for index, address in enumerate(target.addresses):
            attempt.address = str(address)
            request = client.build_request(
                method,
                url.copy_with(host=str(address)),
                headers=headers,
                content=body or None,
                extensions=extensions,
            )
            try:
                response = await client.send(request, stream=True)
            except httpx.ConnectError:
                if index == len(target.addresses) - 1:
                    raise
                continue
            try:
                content, truncated = await _read(response)
            finally:
                await response.aclose()
            return WebhookResponse(response.status_code, content, truncated)
    raise AssertionError("a target has at least one address")  # pragma: no cover


async def _read(response: httpx.Response) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            return b"".join(chunks)[:MAX_RESPONSE_BYTES], True
    return b"".join(chunks), False


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """Certificate verification as httpx does it (certifi, or ``SSL_CERT_FILE``/``_DIR``)."""
    return httpx.create_ssl_context(trust_env=True)


def _error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR_CHARS]


def masked_url(url: str) -> str:
    """``url`` without a password (or user name) it may carry."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url[:2000]
    if "@" not in parts.netloc:
        return url[:2000]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))[:2000]


class _Attempt:
    """One attempt's log row, written once."""

    def __init__(self, call: WebhookCall, source: Source, journal: Journal) -> None:
        self.call, self.source, self.journal = call, source, journal
        self.started_at = utcnow()
        self.started = time.perf_counter()
        self.request_bytes = 0
        self.address: str | None = None

    def log(
        self, outcome: str, *, response: WebhookResponse | None = None, error: str | None = None
    ) -> None:
        excerpt = None
        if response is not None:
            excerpt = response.content[:EXCERPT_BYTES].decode("utf-8", "replace")
        self.journal(
            insert(WebhookDelivery).values(
                source_kind=self.source.kind,
                source_key=self.source.key[:200],
                source_id=self.source.id,
                step=self.source.step,
                job_id=self.source.job_id,
                attempt=self.source.attempt,
                idempotency_key=self.call.idempotency_key[:200],
                method=self.call.method.upper()[:8],
                url=masked_url(self.call.url),
                address=self.address,
                request_bytes=self.request_bytes,
                outcome=outcome,
                status_code=response.status_code if response is not None else None,
                response_excerpt=excerpt,
                error=error,
                duration_ms=round((time.perf_counter() - self.started) * 1000),
                created_at=self.started_at,
            )
        )
