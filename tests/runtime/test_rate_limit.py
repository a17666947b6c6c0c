"""Request rate limiting: route classes, GCRA buckets per principal and per address, 429s.

Time is driven by a :class:`FakeClock` given to the limiter, never by sleeping. Redis tests
run against the Redis at ``TANGRAM_TEST_REDIS`` (default ``redis://127.0.0.1:6379/15``), each
under a key prefix of its own; they are skipped when it does not answer, unless
``TANGRAM_REQUIRE_REDIS=1``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.datastructures import Headers

from runtime.app import create_app
from runtime.auth import service as auth
from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.errors import ERRORS, PROBLEM_JSON
from runtime.ratelimit.backends import Check, MemoryBackend
from runtime.ratelimit.classify import classify
from runtime.ratelimit.limiter import RateLimiter, fingerprint, principal_key
from runtime.ratelimit.rates import DEFAULT_RATE_LIMITS, Rate, parse_rate
from runtime.ratelimit.redis_backend import RedisBackend
from runtime.records.forms import clear_cache
from runtime.users import service as users
from tests.conftest import USER_PASSWORD, _empty_tables, make_settings
from tests.runtime.test_observability import samples, value

REDIS_URL = os.environ.get("TANGRAM_TEST_REDIS", "redis://127.0.0.1:6379/15")
REQUIRE_REDIS = os.environ.get("TANGRAM_REQUIRE_REDIS") == "1"
REPO_ROOT = Path(__file__).resolve().parents[2]
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
START = 1_800_000_000.0  # a wall-clock-like start, so Redis sees realistic microseconds


class FakeClock:
    """Seconds that only move when a test says so."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- fixtures and helpers ------------------------------------------------------------------


@dataclass
class RedisTarget:
    client: Redis
    prefix: str


@pytest.fixture
async def redis_target() -> AsyncIterator[RedisTarget]:
    """A reachable test Redis and a key prefix of this test's own (deleted afterwards)."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        if REQUIRE_REDIS:
            pytest.fail(f"TANGRAM_REQUIRE_REDIS=1 but Redis at {REDIS_URL} does not answer: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} does not answer (set TANGRAM_TEST_REDIS)")
    prefix = f"tangram-test:{uuid.uuid4().hex[:12]}:"
    try:
        yield RedisTarget(client, prefix)
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@asynccontextmanager
async def serve(
    db_url: str, tmp_path: Path, *, clock: FakeClock | None = None, **overrides: Any
) -> AsyncIterator[Any]:
    """An app with the given settings whose limiter runs on ``clock``."""
    settings = make_settings(db_url, tmp_path, **overrides)
    limiter = (
        RateLimiter.from_settings(settings, clock=clock) if settings.rate_limit_enabled else None
    )
    app = create_app(settings, rate_limiter=limiter)
    try:
        async with app.router.lifespan_context(app):
            yield app
    finally:
        await _empty_tables(settings.database_url)
        clear_cache()


@asynccontextmanager
async def client_for(app: Any, ip: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from ``ip`` (as the server's peer address)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def token_for(app: Any, username: str) -> dict[str, str]:
    """Authorization headers of a new user's API token, made without any HTTP request."""
    async with app.state.sessions() as db:
        user, _ = await users.create_user(db, None, username=username, password=USER_PASSWORD)
        await db.commit()
        _, secret = await auth.create_token(db, Principal(user, "session"), "tests", None)
    return {"Authorization": f"Bearer {secret}"}


def limits(**rates: str) -> dict[str, str]:
    """Every class at ``1000/minute`` unless given."""
    return {name: rates.get(name, "1000/minute") for name in DEFAULT_RATE_LIMITS}


def assert_rate_limited(response: httpx.Response, retry_after: int) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    assert response.headers["Retry-After"] == str(retry_after)
    assert response.headers["RateLimit-Remaining"] == "0"
    body = response.json()
    assert body["code"] == "rate_limited" and body["status"] == 429
    assert body["type"].endswith("/rate-limited")
    assert body["retry_after"] == retry_after
    assert body["request_id"] == response.headers["x-request-id"]
    return body


READ, WRITE, EXPORT = "/api/v1/auth/me", "/api/v1/auth/logout", "/api/v1/records/a/f/export"


async def login_attempt(client: httpx.AsyncClient, **kw: Any) -> httpx.Response:
    """A sign-in the limiter counts; its empty body makes it a 422 that touches no table."""
    return await client.post("/api/v1/auth/login", json={}, **kw)


# --- classification ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/api/v1/auth/login", "login"),
        ("POST", "/api/v1/auth/login/", "login"),
        ("GET", "/api/v1/auth/login", "reads"),
        ("POST", "/api/v1/auth/logout", "writes"),
        ("GET", "/api/v1/records/sales/order/export", "exports"),
        ("HEAD", "/api/v1/records/sales/order/export", "exports"),
        ("GET", "/api/v1/records/sales/order", "reads"),
        ("HEAD", "/api/v1/records/sales/order", "reads"),
        ("OPTIONS", "/api/v1/records/sales/order", "reads"),
        ("get", "/api/v1/jobs", "reads"),
        ("GET", "/api/v1/files/3/content", "reads"),
        ("POST", "/api/v1/records/sales/order/query", "reads"),
        ("POST", "/api/v1/apps/sales/dashboards/ops/run", "reads"),
        ("POST", "/api/v1/apps/sales/dashboards/ops/widgets/w/run", "reads"),
        ("POST", "/api/v1/apps/sales/dashboards/ops/widgets/w/drill", "reads"),
        ("POST", "/api/v1/apps/sales/dashboards/ops/widgets/w/export", "exports"),
        ("POST", "/api/v1/records/sales/run", "writes"),
        ("POST", "/api/v1/records/sales/order", "writes"),
        ("POST", "/api/v1/records/sales/order/imports", "writes"),
        ("POST", "/api/v1/records/sales/order/bulk", "writes"),
        ("PUT", "/api/v1/apps/1/draft", "writes"),
        ("PATCH", "/api/v1/records/sales/order/7", "writes"),
        ("DELETE", "/api/v1/auth/tokens/2", "writes"),
        ("GET", "/api/openapi.json", "reads"),
        ("GET", "/api/health", None),
        ("HEAD", "/api/health/", None),
        ("GET", "/metrics", None),
    ],
)
def test_classify(method: str, path: str, expected: str | None) -> None:
    assert classify(method, path) == expected


# --- rates and settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("120/minute", Rate(120, 60)),
        ("1/second", Rate(1, 1)),
        (" 10 / Hour ", Rate(10, 3600)),
        ("1000000/second", Rate(1_000_000, 1)),
    ],
)
def test_parse_rate(text: str, rate: Rate) -> None:
    parsed = parse_rate(text)
    assert parsed == rate
    assert parsed.window_us == parsed.interval_us * parsed.limit
    assert parse_rate(str(parsed)) == parsed


@pytest.mark.parametrize(
    "text", ["", "120", "120/min", "120 per minute", "0/minute", "-1/second", "2000000/second"]
)
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"requests|rate"):
        parse_rate(text)


def test_settings_merge_defaults_and_derive_address_limits(tmp_path: Path) -> None:
    settings = make_settings("sqlite://", tmp_path, rate_limits={"writes": "7/second"})
    assert settings.rate_limits == {**DEFAULT_RATE_LIMITS, "writes": "7/second"}
    limiter = RateLimiter.from_settings(
        make_settings(
            "sqlite://",
            tmp_path,
            rate_limits={"writes": "7/second", "reads": "10/minute"},
            rate_limits_per_ip={"reads": "11/minute"},
            rate_limit_ip_multiplier=2.5,
        )
    )
    assert limiter.per_principal["writes"] == Rate(7, 1)
    assert limiter.per_ip["writes"] == Rate(18, 1)  # 7 × 2.5, rounded up
    assert limiter.per_ip["reads"] == Rate(11, 60)  # given explicitly
    assert isinstance(limiter.backend, MemoryBackend)


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TANGRAM_RATE_LIMITS", '{"exports": "3/hour"}')
    monkeypatch.setenv("TANGRAM_RATE_LIMIT_ENABLED", "false")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.rate_limits["exports"] == "3/hour"
    assert settings.rate_limits["reads"] == DEFAULT_RATE_LIMITS["reads"]
    assert settings.rate_limit_enabled is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rate_limits", {"writes": "fast"}, "writes: 'fast' is not a rate"),
        ("rate_limits", {"uploads": "1/second"}, "unknown route class 'uploads'"),
        ("rate_limits_per_ip", {"login": "0/hour"}, "login: '0/hour'"),
        ("redis_url", "localhost:6379", "redis://host:6379/0"),
    ],
)
def test_settings_reject_bad_rates(tmp_path: Path, field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_settings("sqlite://", tmp_path, **{field: value})


def test_bad_rate_stops_the_command_with_a_clear_message(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TANGRAM_VAR_DIR": str(tmp_path),
        "TANGRAM_RATE_LIMITS": '{"writes": "120 per minute"}',
    }
    result = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "TANGRAM_RATE_LIMITS: writes: '120 per minute' is not a rate" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "tangram.db").exists()


# --- GCRA in the in-process store ----------------------------------------------------------


async def test_gcra_burst_then_one_per_interval() -> None:
    clock = FakeClock()
    store = MemoryBackend(clock=clock)
    check = [Check("k", Rate(3, 60), "principal")]  # burst of 3, then one per 20 s
    first = await store.hit(check)
    assert (first.allowed, first.limit, first.remaining, first.reset_after) == (True, 3, 2, 20)
    second = await store.hit(check)
    assert (second.remaining, second.reset_after) == (1, 40)
    third = await store.hit(check)
    assert (third.remaining, third.reset_after) == (0, 60)
    refused = await store.hit(check)
    assert not refused.allowed and refused.retry_after == 20 and refused.reset_after == 60
    clock.advance(19.5)
    assert (await store.hit(check)).retry_after == 1  # 0.5 s, rounded up
    clock.advance(0.5)
    again = await store.hit(check)
    assert again.allowed and again.remaining == 0
    clock.advance(120)  # idle: the bucket is full again, but never holds more than 3
    assert (await store.hit(check)).remaining == 2


async def test_refused_request_books_no_bucket() -> None:
    clock = FakeClock()
    store = MemoryBackend(clock=clock)
    tight = Check("tight", Rate(1, 60), "ip")
    loose = Check("loose", Rate(100, 60), "principal")
    assert (await store.hit([loose, tight])).allowed
    for _ in range(5):
        refused = await store.hit([loose, tight])
        assert not refused.allowed and refused.scope == "ip"
    # Only the allowed request was counted in the loose bucket.
    assert (await store.hit([loose])).remaining == 98


async def test_memory_store_is_bounded_and_forgets_full_buckets() -> None:
    clock = FakeClock()
    store = MemoryBackend(max_keys=3, clock=clock)
    for n in range(10):
        await store.hit([Check(f"k{n}", Rate(1, 60), "ip")])
        assert len(store) <= 3
    assert (await store.hit([Check("k9", Rate(1, 60), "ip")])).allowed is False
    clock.advance(61)  # every bucket is full again: hits sweep them from the old end
    await store.hit([Check("new", Rate(1, 60), "ip")])
    await store.hit([Check("new", Rate(1, 60), "ip")])
    assert len(store) == 1


# --- principal keys ------------------------------------------------------------------------


def test_principal_key_names_the_credential_without_revealing_it() -> None:
    secret = "tgm_s3cret-value"
    bearer = Headers({"authorization": f"Bearer {secret}"})
    key = principal_key(bearer, "tangram_session")
    assert key == "token:" + fingerprint(secret) and secret not in key
    assert principal_key(Headers({"authorization": f"bearer  {secret} "}), "s") == key
    assert principal_key(Headers({"cookie": "tangram_session=abc; x=1"}), "tangram_session") == (
        "session:" + fingerprint("abc")
    )
    both = Headers({"authorization": f"Bearer {secret}", "cookie": "tangram_session=abc"})
    assert principal_key(both, "tangram_session") == key  # the token wins, as in deps
    assert principal_key(Headers({"authorization": "Basic eDp5"}), "tangram_session") is None
    assert principal_key(Headers({"cookie": "other=1"}), "tangram_session") is None
    assert principal_key(Headers({}), "tangram_session") is None


# --- the middleware ------------------------------------------------------------------------


async def test_headers_and_retry_after(db_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    async with serve(db_url, tmp_path, clock=clock, rate_limits=limits(reads="3/minute")) as app:
        headers = await token_for(app, "alice")
        async with client_for(app) as client:
            answers = [await client.get(READ, headers=headers) for _ in range(3)]
            assert [r.status_code for r in answers] == [200, 200, 200]
            assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
            assert [r.headers["RateLimit-Reset"] for r in answers] == ["20", "40", "60"]
            assert answers[0].headers["RateLimit-Limit"] == "3"
            assert "Retry-After" not in answers[0].headers
            assert_rate_limited(await client.get(READ, headers=headers), retry_after=20)
            clock.advance(5)
            refused = await client.get(READ, headers=headers)
            body = assert_rate_limited(refused, retry_after=15)
            assert body["route_class"] == "reads" and body["scope"] == "principal"
            assert refused.headers["RateLimit-Reset"] == "55"
            clock.advance(15)
            assert (await client.get(READ, headers=headers)).status_code == 200


async def test_each_route_class_has_its_own_buckets(db_url: str, tmp_path: Path) -> None:
    one_each = {name: "1/minute" for name in DEFAULT_RATE_LIMITS}
    async with serve(db_url, tmp_path, clock=FakeClock(), rate_limits=one_each) as app:
        headers = await token_for(app, "alice")
        async with client_for(app) as client:
            first = [
                await client.get(READ, headers=headers),
                await client.post(WRITE, headers=headers),
                await client.get(EXPORT, headers=headers),
                await login_attempt(client),
            ]
            assert [r.status_code for r in first] == [200, 204, 404, 422]
            second = [
                await client.get(READ, headers=headers),
                await client.post(WRITE, headers=headers),
                await client.get(EXPORT, headers=headers),
                await login_attempt(client),
            ]
            classes = [assert_rate_limited(r, 60)["route_class"] for r in second]
            assert classes == ["reads", "writes", "exports", "login"]
            metrics = samples((await client.get("/metrics")).text)
            for name in ("reads", "writes", "exports"):
                assert (
                    value(
                        metrics,
                        "tangram_http_rate_limited_total",
                        route_class=name,
                        scope="principal",
                    )
                    >= 1
                )


async def test_per_token_and_per_address(db_url: str, tmp_path: Path) -> None:
    async with serve(
        db_url,
        tmp_path,
        clock=FakeClock(),
        rate_limits=limits(writes="2/minute"),
        rate_limit_ip_multiplier=2,  # 4 writes a minute per address
    ) as app:
        alice, bob, carol, dave = [
            await token_for(app, n) for n in ("alice", "bob", "carol", "dave")
        ]
        async with client_for(app, "10.0.0.1") as office, client_for(app, "10.0.0.2") as home:
            assert [(await office.post(WRITE, headers=alice)).status_code for _ in range(2)] == [
                204,
                204,
            ]
            body = assert_rate_limited(await office.post(WRITE, headers=alice), 30)
            assert body["scope"] == "principal"
            # Bob has a bucket of his own, but shares the office address with Alice.
            ok = await office.post(WRITE, headers=bob)
            assert ok.status_code == 204
            assert ok.headers["RateLimit-Remaining"] == "1"  # his; the address has 1 left too
            last = await office.post(WRITE, headers=bob)
            assert last.status_code == 204 and last.headers["RateLimit-Limit"] == "2"
            body = assert_rate_limited(await office.post(WRITE, headers=carol), 15)
            assert body["scope"] == "ip"  # the address's 4/minute: one every 15 s
            assert int((await office.post(WRITE, headers=carol)).headers["RateLimit-Limit"]) == 4
            # Another address, and Alice's token from there: still limited per token.
            assert (await home.post(WRITE, headers=dave)).status_code == 204
            assert_rate_limited(await home.post(WRITE, headers=alice), 30)
            # Reads are another class: Alice can still read.
            assert (await office.get(READ, headers=alice)).status_code == 200


async def test_each_session_is_a_principal(db_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    async with serve(db_url, tmp_path, clock=clock, rate_limits=limits(reads="2/minute")) as app:
        await token_for(app, "alice")
        async with client_for(app) as laptop, client_for(app) as phone:
            for device in (laptop, phone):
                signed_in = await device.post(
                    "/api/v1/auth/login", json={"username": "alice", "password": USER_PASSWORD}
                )
                assert signed_in.status_code == 200, signed_in.text
            assert [(await laptop.get(READ)).status_code for _ in range(2)] == [200, 200]
            assert_rate_limited(await laptop.get(READ), 30)
            assert (await phone.get(READ)).status_code == 200  # another session, another bucket


async def test_anonymous_callers_are_limited_per_address(db_url: str, tmp_path: Path) -> None:
    async with (
        serve(db_url, tmp_path, clock=FakeClock(), rate_limits=limits(login="2/minute")) as app,
        client_for(app, "192.0.2.10") as one,
        client_for(app, "192.0.2.11") as other,
    ):
        assert [(await login_attempt(one)).status_code for _ in range(2)] == [422, 422]
        body = assert_rate_limited(await login_attempt(one), 30)
        assert body["route_class"] == "login"
        assert (await login_attempt(other)).status_code == 422
        # Made-up credentials do not buy sign-ins a fresh bucket: they count per address.
        for n in range(3):
            one.cookies.set("tangram_session", f"guess{n}")
            guess = await login_attempt(one, headers={"Authorization": f"Bearer tgm_guess{n}"})
            assert_rate_limited(guess, 30)
        one.cookies.clear()
        # A made-up token is a principal of its own but still counts against the address.
        fake = {"Authorization": "Bearer tgm_made-up"}
        assert (await one.get(READ, headers=fake)).status_code == 401


async def test_forwarded_address_only_from_trusted_proxies(db_url: str, tmp_path: Path) -> None:
    async with serve(
        db_url, tmp_path, clock=FakeClock(), rate_limits=limits(login="1/minute")
    ) as app:
        # The proxy at 127.0.0.1 is trusted (the default): each original client is counted.
        async with client_for(app, "127.0.0.1") as proxy:
            for address in ("203.0.113.1", "203.0.113.2"):
                forwarded = {"X-Forwarded-For": address}
                assert (await login_attempt(proxy, headers=forwarded)).status_code == 422
                assert_rate_limited(await login_attempt(proxy, headers=forwarded), 60)
            # Proxies append: what a client puts in front is not believed, trusted hops
            # (here a second proxy, ::1) are skipped.
            for chain in ("10.9.9.9, 203.0.113.1", "10.8.8.8, 203.0.113.1, ::1"):
                refused = await login_attempt(proxy, headers={"X-Forwarded-For": chain})
                assert_rate_limited(refused, 60)
            fresh = await login_attempt(proxy, headers={"X-Forwarded-For": "203.0.113.3, ::1"})
            assert fresh.status_code == 422
        # Anyone else's X-Forwarded-For is ignored: the peer address is counted.
        async with client_for(app, "198.51.100.5") as stranger:
            assert (
                await login_attempt(stranger, headers={"X-Forwarded-For": "203.0.113.3"})
            ).status_code == 422
            body = assert_rate_limited(
                await login_attempt(stranger, headers={"X-Forwarded-For": "203.0.113.4"}), 60
            )
            assert body["scope"] == "principal"


async def test_health_and_metrics_are_not_limited(db_url: str, tmp_path: Path) -> None:
    one = {name: "1/hour" for name in DEFAULT_RATE_LIMITS}
    async with (
        serve(db_url, tmp_path, clock=FakeClock(), rate_limits=one) as app,
        client_for(app) as client,
    ):
        for _ in range(3):
            health = await client.get("/api/health")
            assert health.status_code == 200 and "RateLimit-Limit" not in health.headers
            assert (await client.get("/metrics")).status_code == 200


async def test_limits_can_be_switched_off(db_url: str, tmp_path: Path) -> None:
    one = {name: "1/hour" for name in DEFAULT_RATE_LIMITS}
    async with serve(db_url, tmp_path, rate_limit_enabled=False, rate_limits=one) as app:
        assert app.state.rate_limiter is None
        headers = await token_for(app, "alice")
        async with client_for(app) as client:
            for _ in range(5):
                response = await client.get(READ, headers=headers)
                assert response.status_code == 200 and "RateLimit-Limit" not in response.headers
                assert (await login_attempt(client)).status_code == 422


async def test_refusal_speaks_the_callers_language(db_url: str, tmp_path: Path) -> None:
    async with (
        serve(db_url, tmp_path, clock=FakeClock(), rate_limits=limits(reads="1/hour")) as app,
        client_for(app) as client,
    ):
        assert (await client.get(READ)).status_code == 401
        zh = assert_rate_limited(await client.get(READ, headers=ZH), 3600)
        assert zh["title"] == ERRORS["rate_limited"].title("zh-CN", retry_after=3600)
        assert zh["title"] == "请求过于频繁，请在 3600 秒后重试。"
        assert zh["instance"] == READ
        en = assert_rate_limited(await client.get(READ, headers={"Accept-Language": "en-US"}), 3600)
        assert en["title"] == "Too many requests. Try again in 3600 seconds."


# --- Redis ---------------------------------------------------------------------------------


async def test_redis_is_shared_by_two_app_instances(
    db_url: str, tmp_path: Path, redis_target: RedisTarget
) -> None:
    """Two apps (two web processes) on one Redis share each bucket, on Redis's own clock."""
    shared = {
        "redis_url": REDIS_URL,
        "rate_limit_key_prefix": redis_target.prefix,
        "rate_limits": limits(writes="3/hour"),
    }
    async with (
        serve(db_url, tmp_path / "a", **shared) as first,
        serve(db_url, tmp_path / "b", **shared) as second,
    ):
        assert isinstance(first.state.rate_limiter.backend, RedisBackend)
        headers = await token_for(first, "alice")
        async with client_for(first) as one, client_for(second) as two:
            assert (await one.post(WRITE, headers=headers)).status_code == 204
            assert (await two.post(WRITE, headers=headers)).status_code == 204
            third = await one.post(WRITE, headers=headers)
            assert third.status_code == 204 and third.headers["RateLimit-Remaining"] == "0"
            refused = await two.post(WRITE, headers=headers)
            assert refused.status_code == 429
            assert 1190 <= int(refused.headers["Retry-After"]) <= 1200  # one every 20 minutes
            assert (await two.get(READ, headers=headers)).status_code == 200
    assert await redis_target.client.keys(redis_target.prefix + "writes:token:*")


async def test_redis_decides_exactly_like_memory(redis_target: RedisTarget) -> None:
    clock = FakeClock()
    memory = MemoryBackend(clock=clock)
    redis = RedisBackend.from_url(
        REDIS_URL, prefix=redis_target.prefix, fallback=MemoryBackend(), clock=clock
    )
    principal = Check("reads:token:abc", Rate(7, 60), "principal")  # 8.571429 s per request
    address = Check("reads:ip:10.0.0.1", Rate(10, 60), "ip")
    steps = [0, 0, 0, 1.5, 0, 0, 0, 0, 0, 0, 2.25, 8.6, 0, 30, 0, 0, 0.000001, 61, 0]
    try:
        for step in steps:
            clock.advance(step)
            for checks in ([principal, address], [address]):
                assert await redis.hit(checks) == await memory.hit(checks)
    finally:
        await redis.aclose()


async def test_redis_buckets_expire_when_full_again(redis_target: RedisTarget) -> None:
    clock = FakeClock()
    redis = RedisBackend.from_url(
        REDIS_URL, prefix=redis_target.prefix, fallback=MemoryBackend(), clock=clock
    )
    try:
        await redis.hit([Check("writes:ip:x", Rate(3, 60), "ip")])
        await redis.hit([Check("writes:ip:x", Rate(3, 60), "ip")])
    finally:
        await redis.aclose()
    key = redis_target.prefix + "writes:ip:x"
    assert int(await redis_target.client.get(key)) == int(START * 1_000_000) + 40_000_000
    assert 39_000 < await redis_target.client.pttl(key) <= 40_000  # TAT − now, in ms


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_redis_falls_back_to_this_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    redis = RedisBackend.from_url(
        f"redis://127.0.0.1:{_closed_port()}/0",
        prefix="tangram-test:",
        fallback=MemoryBackend(clock=clock),
        timeout=0.5,
    )
    check = [Check("login:anon:10.0.0.9", Rate(2, 60), "principal")]
    try:
        decisions = [await redis.hit(check) for _ in range(3)]
    finally:
        await redis.aclose()
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].retry_after == 30
    assert sum("Redis does not answer" in r.getMessage() for r in caplog.records) == 1
