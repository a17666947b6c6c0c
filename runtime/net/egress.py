"""Which addresses outbound calls (webhooks) may reach.

The policy is checked twice. When a flow is published, :meth:`EgressPolicy.check_url` looks at
the URL alone (no DNS): syntax, scheme, and a host written as an IP address. When the call is
made, :meth:`EgressPolicy.resolve` resolves the host once and checks *every* address it
resolves to; the caller then connects to one of exactly those addresses (see
``runtime.net.webhooks``), so a name that resolves to a harmless address for the check and to
the metadata service a moment later (DNS rebinding) cannot get past it.

Denied unless allow-listed (``TANGRAM_WEBHOOK_ALLOW``): addresses no service should be called
at — "this network" 0.0.0.0/8 and ``::``, link-local 169.254.0.0/16 (with the cloud metadata
service 169.254.169.254) and fe80::/10, multicast, reserved and broadcast 240.0.0.0/4, the
IETF protocol block 192.0.0.0/24, and the metadata services that live elsewhere (Alibaba Cloud
100.100.100.200, AWS IPv6 fd00:ec2::254). IPv6 forms that carry an IPv4 address
(``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4 ``2002::/16``, the old ``::a.b.c.d``) are
judged by the IPv4 address they carry.

Loopback and private ranges (10/8, 172.16/12, 192.168/16, fc00::/7) are allowed by default:
a self-hosted installation calls its intranet systems. A hosted or shared installation should
deny them with ``TANGRAM_WEBHOOK_DENY``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import httpx

from engines.urls import HttpUrl, IPAddress, UrlProblem, parse_http_url

if TYPE_CHECKING:
    from runtime.config import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Denied by default (``TANGRAM_WEBHOOK_ALLOW`` lifts any of them for the hosts it names).
DEFAULT_DENY: tuple[str, ...] = (
    "0.0.0.0/8",  # "this network"
    "169.254.0.0/16",  # link-local, cloud metadata (AWS, Azure, GCP, Tencent …)
    "100.100.100.200/32",  # Alibaba Cloud metadata
    "192.0.0.0/24",  # IETF protocol assignments
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, broadcast 255.255.255.255
    "::/128",  # unspecified
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated, link-local in practice)
    "ff00::/8",  # multicast
    "fd00:ec2::254/128",  # AWS metadata over IPv6
    "100::/64",  # discard-only
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPAT = ipaddress.IPv6Network("::/96")
_HOST_ENTRY = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$")
RESOLVE_TIMEOUT_SECONDS = 5.0


class EgressRefused(Exception):
    """The URL may not be called; ``code`` is one of ``engines.urls.UrlProblem``'s codes."""

    def __init__(self, problem: UrlProblem) -> None:
        super().__init__(problem.message)
        self.code = problem.code
        self.problem = problem


@dataclass(frozen=True)
class Target:
    """A URL cleared for calling, with the addresses to connect to (checked, in order)."""

    url: HttpUrl
    addresses: tuple[IPAddress, ...]


def parse_network(entry: str) -> Network | None:
    """``entry`` as a network (an address is a /32 or /128), or None when it is a host name."""
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return None


def normalise_rules(entries: Iterable[str], *, hosts: bool) -> list[str]:
    """Settings entries as canonical text; raises ValueError naming a bad one."""
    result = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        network = parse_network(entry)
        if network is not None:
            result.append(str(network))
        elif hosts and _HOST_ENTRY.match(entry.rstrip(".")):
            result.append(entry.rstrip("."))
        else:
            wanted = "a CIDR range (10.0.0.0/8), an address or a host name" if hosts else "a CIDR"
            raise ValueError(f"{raw!r} is not {wanted}")
    return result


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4, compatible)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _COMPAT and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


class EgressPolicy:
    """Deny rules (the defaults plus ``TANGRAM_WEBHOOK_DENY``) and the exceptions to them
    (``TANGRAM_WEBHOOK_ALLOW``: ranges, host names, ``*.suffix`` for a domain's hosts)."""

    def __init__(self, deny: Sequence[str] = (), allow: Sequence[str] = ()) -> None:
        self.deny = tuple(ipaddress.ip_network(n) for n in (*DEFAULT_DENY, *deny))
        allowed = [(e, parse_network(e)) for e in normalise_rules(allow, hosts=True)]
        self.allow_networks = tuple(n for _, n in allowed if n is not None)
        self.allow_hosts = frozenset(e for e, n in allowed if n is None and not e.startswith("*"))
        self.allow_suffixes = tuple(e[1:] for e, n in allowed if n is None and e.startswith("*"))

    @classmethod
    def from_settings(cls, settings: Settings) -> EgressPolicy:
        return _policy(tuple(settings.webhook_deny), tuple(settings.webhook_allow))

    # --- rules ------------------------------------------------------------------------------

    def host_allowed(self, host: str) -> bool:
        """The host is allow-listed by name: every address it resolves to may be called."""
        return host in self.allow_hosts or any(host.endswith(s) for s in self.allow_suffixes)

    def address_refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` may not be called (a sentence), or None."""
        if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%")[0])
        if any(ip in n for n in self.allow_networks if n.version == ip.version):
            return None
        for network in self.deny:
            if network.version == ip.version and ip in network:
                return f"{ip} is in the denied range {network}"
        if isinstance(ip, ipaddress.IPv6Address):
            inner = _embedded_ipv4(ip)
            if inner is not None:
                reason = self.address_refusal(inner)
                if reason is not None:
                    return f"{ip} stands for {inner}, and {reason}"
        return None

    # --- checks -----------------------------------------------------------------------------

    def check_url(self, url: str) -> UrlProblem | None:
        """Publish-time check, without DNS: syntax, scheme and a literal address."""
        parsed = parse_http_url(url)
        if isinstance(parsed, UrlProblem):
            return parsed
        return self.check_parsed(parsed)

    def check_parsed(self, url: HttpUrl) -> UrlProblem | None:
        if url.ip is None or self.host_allowed(url.host):
            return None
        reason = self.address_refusal(url.ip)
        return None if reason is None else _forbidden(reason)

    async def resolve(self, url: str, *, seconds: float = RESOLVE_TIMEOUT_SECONDS) -> Target:
        """Run-time check: resolve the host once and check every address; raises
        :class:`EgressRefused`. Connect only to ``Target.addresses``."""
        parsed = parse_http_url(url)
        if isinstance(parsed, UrlProblem):
            raise EgressRefused(parsed)
        literal = self.check_parsed(parsed)
        if literal is not None:
            raise EgressRefused(literal)
        if parsed.ip is not None:
            return Target(parsed, (parsed.ip,))
        addresses = await _resolve(url, parsed.host, parsed.port, seconds)
        if not self.host_allowed(parsed.host):
            for ip in addresses:
                reason = self.address_refusal(ip)
                if reason is not None:
                    raise EgressRefused(_forbidden(f"{parsed.host} resolves to {reason}"))
        return Target(parsed, addresses)


def _forbidden(reason: str) -> UrlProblem:
    return UrlProblem(
        "webhook_forbidden_address",
        f"this address may not be called: {reason} (see TANGRAM_WEBHOOK_ALLOW)",
    )


@lru_cache(maxsize=16)
def _policy(deny: tuple[str, ...], allow: tuple[str, ...]) -> EgressPolicy:
    return EgressPolicy(deny, allow)


async def _resolve(url: str, host: str, port: int, seconds: float) -> tuple[IPAddress, ...]:
    try:  # the name as httpx puts it on the wire (IDNA 2008)
        name = httpx.URL(url).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise EgressRefused(
            UrlProblem("webhook_url", f"{host!r} is not a valid host name")
        ) from exc
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
            seconds,
        )
    except TimeoutError as exc:
        raise OSError(f"resolving {host} took longer than {seconds:g} s") from exc
    # (A name that does not resolve raises socket.gaierror, an OSError: the caller retries.)
    seen: dict[IPAddress, None] = {}
    for family, *_rest, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            seen.setdefault(ipaddress.ip_address(sockaddr[0]), None)
    if not seen:
        raise OSError(f"{host} has no IPv4 or IPv6 address")
    return tuple(seen)
