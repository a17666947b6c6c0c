"""Outbound HTTP URLs: the checks that need neither the network nor the installation's settings.

Flow webhooks use them now and rule webhooks will; ``runtime.net.egress`` builds the network
policy (which addresses may be called) on top. A URL passes when it is ``http`` or ``https``,
names a host, carries no user name or password (credentials belong in a header, where the
delivery log does not keep them) and writes an IP address in one way only: four decimal numbers,
or IPv6 in brackets. Hosts such as ``2130706433`` or ``0x7f.1`` are refused, because resolvers
read them as IP addresses and a reader of the definition would not.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
#: What a host name label may hold (Unicode letters of internationalised names pass too).
_LABEL = re.compile(r"^[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]{1,63}$")
#: The last label of a host that resolvers read as (a part of) an IPv4 address.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class UrlProblem:
    """Why a URL cannot be called; ``code`` is stable API."""

    code: str  # webhook_scheme, webhook_url, webhook_forbidden_address
    message: str


@dataclass(frozen=True)
class HttpUrl:
    """The parts of a URL that decide where a call goes."""

    url: str
    scheme: str
    #: Lower-case host name, or the IP address as text (IPv6 without brackets).
    host: str
    port: int
    #: The address when the URL names one literally.
    ip: IPAddress | None

    @property
    def authority(self) -> str:
        """``host[:port]`` as the ``Host`` header writes it (the port only when not the default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse_http_url(url: str) -> HttpUrl | UrlProblem:
    """The URL's target, or the first reason it cannot be called."""
    if not url or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return UrlProblem(
            "webhook_url", "the URL is empty or contains spaces or control characters"
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        return UrlProblem("webhook_url", f"the URL cannot be read: {exc}")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        return UrlProblem("webhook_scheme", f"only http:// and https:// can be called, not {shown}")
    if "@" in parts.netloc:
        return UrlProblem(
            "webhook_url",
            "the URL must not carry a user name or password; send credentials in a header",
        )
    if "\\" in url:
        return UrlProblem("webhook_url", "the URL contains a backslash")
    try:
        port = parts.port
    except ValueError:
        return UrlProblem("webhook_url", "the port is not a number between 0 and 65535")
    if port == 0:
        return UrlProblem("webhook_url", "port 0 cannot be called")
    host = parts.hostname or ""
    bracketed = parts.netloc.startswith("[")
    if not host:
        return UrlProblem("webhook_url", "the URL names no host")
    if bracketed or ":" in host:
        return _ipv6(url, scheme, host, port)
    return _host(url, scheme, host.rstrip(".") if host != "." else host, port)


def _ipv6(url: str, scheme: str, host: str, port: int | None) -> HttpUrl | UrlProblem:
    if "%" in host:
        return UrlProblem("webhook_url", "an IPv6 zone (%…) cannot be called")
    try:
        ip = ipaddress.IPv6Address(host)
    except ValueError:
        return UrlProblem("webhook_url", f"[{host}] is not an IPv6 address")
    return HttpUrl(url, scheme, str(ip), port or DEFAULT_PORTS[scheme], ip)


def _host(url: str, scheme: str, host: str, port: int | None) -> HttpUrl | UrlProblem:
    labels = host.split(".")
    if _NUMERIC_LABEL.match(labels[-1]):
        try:
            ip = ipaddress.IPv4Address(host)
        except ValueError:
            return UrlProblem(
                "webhook_url",
                f"{host!r} is neither a host name nor an IPv4 address written as a.b.c.d",
            )
        return HttpUrl(url, scheme, str(ip), port or DEFAULT_PORTS[scheme], ip)
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        return UrlProblem("webhook_url", f"{host!r} is not a valid host name")
    return HttpUrl(url, scheme, host, port or DEFAULT_PORTS[scheme], None)


#: Headers a webhook's configuration may not set: the transport's own, and the ones Tangram
#: sends (the signature, its timestamp, the idempotency key).
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "idempotency-key",
    }
)
RESERVED_HEADER_PREFIXES = ("x-tangram-", "proxy-")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")


def header_problem(name: str, value: str) -> UrlProblem | None:
    """Why a configured request header cannot be sent as it is, or None."""
    if not _TOKEN.match(name):
        return UrlProblem("webhook_header", f"{name!r} is not a valid header name")
    lower = name.lower()
    if lower in RESERVED_HEADERS or lower.startswith(RESERVED_HEADER_PREFIXES):
        return UrlProblem("webhook_header", f"{name} is set by Tangram and cannot be configured")
    if any(c in value for c in "\r\n\x00"):
        return UrlProblem("webhook_header", f"the value of {name} contains a line break")
    return None
