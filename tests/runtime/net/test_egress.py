"""The egress policy: URL syntax, literal addresses (IPv4, IPv6, IPv6 forms carrying IPv4),
the allow and deny settings, and host names checked by every address they resolve to
(``localhost`` resolves without a network; denying 127.0.0.0/8 makes it a forbidden host)."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from engines.urls import HttpUrl, UrlProblem, header_problem, parse_http_url
from runtime.config import Settings
from runtime.net.egress import EgressPolicy, EgressRefused

LOCAL_DENY = ["127.0.0.0/8", "::1/128"]


def code(url: str, policy: EgressPolicy | None = None) -> str | None:
    problem = (policy or EgressPolicy()).check_url(url)
    return problem.code if problem else None


# --- syntax (engines.urls) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ftp://example.com/file", "webhook_scheme"),
        ("file:///etc/passwd", "webhook_scheme"),
        ("gopher://127.0.0.1:6379/_", "webhook_scheme"),
        ("example.com/hook", "webhook_scheme"),
        ("https://user:secret@example.com/hook", "webhook_url"),
        ("https://user@example.com/hook", "webhook_url"),
        ("https://exa mple.com/", "webhook_url"),
        ("https://example.com/a\nb", "webhook_url"),
        ("https://example.com:99999/", "webhook_url"),
        ("https://example.com:0/", "webhook_url"),
        ("https:///path", "webhook_url"),
        ("https://[::1/", "webhook_url"),
        ("https://[not-v6]/", "webhook_url"),
        ("https://[fe80::1%25eth0]/", "webhook_url"),
        ("http://2130706433/", "webhook_url"),  # 127.0.0.1 as one number
        ("http://0x7f.0.0.1/", "webhook_url"),
        ("http://127.1/", "webhook_url"),
        ("http://0177.0.0.1/", "webhook_url"),
        ("http://exa_mple..com/", "webhook_url"),
        ("http://example.com\\@evil.test/", "webhook_url"),
    ],
)
def test_bad_urls_get_a_stable_code(url: str, expected: str) -> None:
    assert code(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook?token=abc",
        "HTTP://Example.COM:8080/x",
        "https://bücher.example/",
        "https://crm.internal./hook",
        "http://10.1.2.3:8000/",
        "http://[2001:db8::1]:8443/",
        "http://127.0.0.1:5000/hook",
        "http://localhost/hook",
    ],
)
def test_good_urls_pass(url: str) -> None:
    assert code(url) is None


def test_parsed_url_parts() -> None:
    parsed = parse_http_url("HTTPS://Example.COM./a?b=1")
    assert isinstance(parsed, HttpUrl)
    assert (parsed.scheme, parsed.host, parsed.port, parsed.ip) == (
        "https",
        "example.com",
        443,
        None,
    )
    assert parsed.authority == "example.com"
    v6 = parse_http_url("http://[2001:DB8::1]:81/")
    assert isinstance(v6, HttpUrl)
    assert v6.ip == ipaddress.ip_address("2001:db8::1") and v6.authority == "[2001:db8::1]:81"


def test_reserved_and_broken_headers() -> None:
    assert header_problem("X-Source", "tangram") is None
    for name in ("Host", "content-length", "Idempotency-Key", "X-Tangram-Signature", "Proxy-X"):
        problem = header_problem(name, "v")
        assert isinstance(problem, UrlProblem) and problem.code == "webhook_header", name
    assert header_problem("Bad Name", "v") is not None
    assert header_problem("X-Ok", "a\r\nInjected: 1") is not None


# --- literal addresses --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://169.254.0.23/",  # Tencent Cloud metadata
        "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata
        "http://0.0.0.0:8000/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://240.0.0.1/",
        "http://192.0.0.170/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[ff02::1]/",
        "http://[fd00:ec2::254]/",
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://[::ffff:a9fe:a9fe]/",  # the same, in hex
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64
        "http://[2002:a9fe:a9fe::1]/",  # 6to4
        "http://[::169.254.169.254]/",  # IPv4-compatible
    ],
)
def test_denied_by_default(url: str) -> None:
    problem = EgressPolicy().check_url(url)
    assert problem is not None and problem.code == "webhook_forbidden_address", url
    assert "TANGRAM_WEBHOOK_ALLOW" in problem.message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://172.16.0.1/",
        "http://192.168.1.10/",
        "http://[fd12:3456::1]/",
        "http://[::ffff:10.0.0.5]/",
        "http://100.64.0.1/",
        "http://8.8.8.8/",
        "http://[2001:db8::1]/",
    ],
)
def test_loopback_private_and_public_allowed_by_default(url: str) -> None:
    assert code(url) is None


def test_deny_setting_adds_ranges_including_mapped_forms() -> None:
    policy = EgressPolicy(deny=["10.0.0.0/8", "127.0.0.0/8", "fc00::/7"])
    assert code("http://10.1.1.1/", policy) == "webhook_forbidden_address"
    assert code("http://[::ffff:10.1.1.1]/", policy) == "webhook_forbidden_address"
    assert code("http://[64:ff9b::7f00:1]/", policy) == "webhook_forbidden_address"
    assert code("http://[fd00::1]/", policy) == "webhook_forbidden_address"
    assert code("http://192.168.0.1/", policy) is None


def test_allow_setting_lifts_a_denial() -> None:
    policy = EgressPolicy(deny=["10.0.0.0/8"], allow=["10.0.0.7", "169.254.169.254/32"])
    assert code("http://10.0.0.7/", policy) is None
    assert code("http://10.0.0.8/", policy) == "webhook_forbidden_address"
    assert code("http://169.254.169.254/", policy) is None
    assert code("http://[::ffff:169.254.169.254]/", policy) is None
    assert code("http://169.254.169.253/", policy) == "webhook_forbidden_address"


def test_deny_everything_allow_a_few() -> None:
    """A hosted installation's strictest set-up: nothing but the allow-list."""
    policy = EgressPolicy(deny=["0.0.0.0/0", "::/0"], allow=["203.0.113.0/24"])
    assert code("http://203.0.113.9/", policy) is None
    assert code("http://198.51.100.1/", policy) == "webhook_forbidden_address"
    assert code("http://[2001:db8::1]/", policy) == "webhook_forbidden_address"


# --- resolution ---------------------------------------------------------------------------------


async def test_host_name_resolving_to_a_denied_address_is_refused() -> None:
    with pytest.raises(EgressRefused) as refused:
        await EgressPolicy(deny=LOCAL_DENY).resolve("http://localhost:8080/hook")
    assert refused.value.code == "webhook_forbidden_address"
    assert "localhost resolves to" in str(refused.value)
    # Without a network look-up, the publish-time check cannot know: it lets the name pass.
    assert code("http://localhost:8080/hook", EgressPolicy(deny=LOCAL_DENY)) is None


async def test_resolution_gives_the_checked_addresses() -> None:
    target = await EgressPolicy().resolve("http://localhost:8080/hook")
    assert target.url.host == "localhost" and target.url.port == 8080
    assert target.addresses and all(a.is_loopback for a in target.addresses)


async def test_allow_listed_host_names() -> None:
    policy = EgressPolicy(deny=LOCAL_DENY, allow=["localhost"])
    assert (await policy.resolve("http://localhost/")).addresses
    wildcard = EgressPolicy(deny=["0.0.0.0/0"], allow=["*.corp.example"])
    assert wildcard.host_allowed("crm.corp.example")
    assert not wildcard.host_allowed("corp.example.evil.test")
    assert not wildcard.host_allowed("evilcorp.example")


async def test_literal_addresses_are_not_resolved() -> None:
    target = await EgressPolicy().resolve("http://[::1]:9/")
    assert target.addresses == (ipaddress.ip_address("::1"),)
    with pytest.raises(EgressRefused) as refused:
        await EgressPolicy().resolve("http://169.254.169.254/")
    assert refused.value.code == "webhook_forbidden_address"
    with pytest.raises(EgressRefused) as bad:
        await EgressPolicy().resolve("ftp://example.com/")
    assert bad.value.code == "webhook_scheme"


async def test_a_name_that_does_not_resolve_is_a_network_error() -> None:
    with pytest.raises(OSError):
        await EgressPolicy().resolve("http://no-such-host.invalid/")


# --- settings -----------------------------------------------------------------------------------


def test_settings_take_json_or_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANGRAM_WEBHOOK_DENY", "10.0.0.0/8, 192.168.0.0/16")
    monkeypatch.setenv("TANGRAM_WEBHOOK_ALLOW", '["CRM.corp.example", "10.0.0.7"]')
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_deny == ["10.0.0.0/8", "192.168.0.0/16"]
    assert settings.webhook_allow == ["crm.corp.example", "10.0.0.7/32"]
    policy = EgressPolicy.from_settings(settings)
    assert code("http://10.0.0.7/", policy) is None
    assert code("http://10.0.0.8/", policy) == "webhook_forbidden_address"


def test_bad_settings_are_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="not a CIDR"):
        Settings(_env_file=None, webhook_deny=["crm.example"])  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="not a CIDR range"):
        Settings(_env_file=None, webhook_allow=["not a host"])  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="shorter than 16"):
        Settings(_env_file=None, webhook_secrets={"crm": "short"})  # type: ignore[call-arg]
