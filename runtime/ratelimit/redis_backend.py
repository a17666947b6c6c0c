"""GCRA buckets in Redis, shared by every web process that uses the same Redis database.

One Lua script checks and books all of a request's buckets atomically (Redis runs a script
without interleaving other commands), with the same integer-microsecond arithmetic as
:class:`~runtime.ratelimit.backends.MemoryBackend`:

* the clock is the Redis server's ``TIME`` (one clock for all processes, whatever their own
  clocks say), unless the backend was given a clock (tests drive time with one);
* a bucket is a string key holding its TAT in microseconds since the epoch, written with
  ``PX`` = TAT − now, so it expires exactly when it would be full again: memory is bounded by
  the callers active in the last period;
* if one bucket is full, none is booked, and the answer says how far ahead each TAT lies.

If Redis does not answer (down, or slower than ``timeout`` seconds), the process falls back to
its own in-process buckets for ``retry_seconds`` before it tries Redis again — limits then
hold per process rather than not at all — and logs the outage once. Redis Cluster is not
supported: a request's keys may lie in different slots.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from runtime.observability.metrics import RATE_LIMIT_BACKEND_ERRORS
from runtime.ratelimit.backends import Check, Clock, Decision, MemoryBackend, decide
from runtime.ratelimit.rates import MICROS

log = logging.getLogger("tangram.ratelimit")

#: KEYS: the buckets. ARGV[1]: now in µs, or "" for the server clock; then for each key its
#: interval and window in µs. Returns {allowed, TAT − now of each key}. string.format('%.0f')
#: keeps all 16 digits (a plain number argument would be cut to 14 significant digits).
GCRA_SCRIPT = """
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local tats = {}
local allowed = 1
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  tats[i] = tat
  if tat + interval - window > now then allowed = 0 end
end
local result = {allowed}
for i, key in ipairs(KEYS) do
  local tat = tats[i]
  if allowed == 1 then
    tat = tat + tonumber(ARGV[2 * i])
    redis.call('SET', key, string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000))
  end
  result[i + 1] = tat - now
end
return result
"""


class RedisBackend:
    """Buckets in Redis under ``prefix`` (see the module docstring for the exact semantics)."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str,
        fallback: MemoryBackend,
        clock: Clock | None = None,
        retry_seconds: float = 1.0,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.fallback = fallback
        self.clock = clock
        self.retry_seconds = retry_seconds
        self._script = client.register_script(GCRA_SCRIPT)
        self._down_until: float | None = None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str,
        fallback: MemoryBackend,
        clock: Clock | None = None,
        timeout: float = 0.5,
    ) -> RedisBackend:
        """A backend on ``redis://host:port/db`` (connects on first use, not here).

        A failed command is retried once at once (a pooled connection may have gone stale when
        Redis restarted), not with redis-py's default backoff: a request must not wait long.
        """
        client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, prefix=prefix, fallback=fallback, clock=clock)

    async def hit(self, checks: Sequence[Check]) -> Decision:
        if self._down_until is not None and time.monotonic() < self._down_until:
            return await self.fallback.hit(checks)
        now = "" if self.clock is None else str(int(self.clock() * MICROS))
        args: list[str | int] = [now]
        for check in checks:
            args += [check.rate.interval_us, check.rate.window_us]
        try:
            result = await self._script(keys=[self.prefix + c.key for c in checks], args=args)
        except (RedisError, OSError) as exc:
            RATE_LIMIT_BACKEND_ERRORS.inc()
            if self._down_until is None:
                log.warning(
                    "Redis does not answer (%s): rate limits hold per process until it does",
                    exc,
                )
            self._down_until = time.monotonic() + self.retry_seconds
            return await self.fallback.hit(checks)
        if self._down_until is not None:
            log.warning("Redis answers again: rate limits are shared again")
            self._down_until = None
        return decide(checks, bool(result[0]), [int(a) for a in result[1:]])

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.fallback.aclose()
