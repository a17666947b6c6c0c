"""GCRA buckets, the decision they make, and the in-process store.

GCRA (the generic cell rate algorithm) keeps one number per bucket: the *theoretical arrival
time* (TAT), the instant at which the bucket would be empty again if nothing else came in.
With ``N/period`` a request costs ``interval = period / N``; it is allowed when, after adding
its cost, the TAT lies at most ``window = N × interval`` ahead of now. So a full bucket takes a
burst of N at once and then one request per interval — a token bucket with capacity N, in O(1)
memory and without a refill timer. A bucket whose TAT has passed is full, so it can simply be
forgotten: stores let keys expire at their TAT.

All arithmetic is in integer microseconds, so the in-process store and the Redis script
(:mod:`runtime.ratelimit.redis_backend`) decide exactly alike.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from runtime.ratelimit.rates import MICROS, Rate

Scope = Literal["principal", "ip"]
Clock = Callable[[], float]  # seconds


@dataclass(frozen=True)
class Check:
    """One bucket a request must fit in: its key (without any store prefix) and its rate."""

    key: str
    rate: Rate
    scope: Scope


@dataclass(frozen=True)
class Decision:
    """The outcome for one request, reported for the bucket that is closest to its limit."""

    allowed: bool
    limit: int
    remaining: int
    reset_us: int  # until that bucket is full again
    retry_us: int  # until this request would be allowed (0 when it is)
    scope: Scope

    @property
    def retry_after(self) -> int:
        """Whole seconds to wait, rounded up (at least 1): the ``Retry-After`` value."""
        return max(1, -(-self.retry_us // MICROS))

    @property
    def reset_after(self) -> int:
        return -(-self.reset_us // MICROS)

    def headers(self) -> dict[str, str]:
        """``RateLimit-*`` (draft-ietf-httpapi-ratelimit-headers), plus Retry-After on 429."""
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def decide(checks: Sequence[Check], allowed: bool, ahead_us: Sequence[int]) -> Decision:
    """Summarise a store's answer: ``ahead_us[i]`` is bucket i's TAT minus now, after the
    request was counted (allowed) or as it stands (refused)."""
    if allowed:
        remaining = [
            (c.rate.window_us - a) // c.rate.interval_us
            for c, a in zip(checks, ahead_us, strict=True)
        ]
        i = min(range(len(checks)), key=remaining.__getitem__)
        return Decision(True, checks[i].rate.limit, remaining[i], ahead_us[i], 0, checks[i].scope)
    waits = [
        a + c.rate.interval_us - c.rate.window_us for c, a in zip(checks, ahead_us, strict=True)
    ]
    i = max(range(len(checks)), key=waits.__getitem__)
    return Decision(False, checks[i].rate.limit, 0, ahead_us[i], waits[i], checks[i].scope)


class Backend(Protocol):
    """Counts a request in all of its buckets at once, or in none if one of them is full."""

    async def hit(self, checks: Sequence[Check]) -> Decision: ...

    async def aclose(self) -> None: ...


class MemoryBackend:
    """Buckets in this process's memory: limits hold per process, not per deployment.

    At most ``max_keys`` buckets are kept, in least-recently-used order. Each hit drops a few
    expired buckets from the old end; when the store is full the least recently used bucket
    is dropped even if it has not expired (that caller then starts with a full bucket again).
    """

    SWEEP = 2  # expired buckets looked at per hit: O(1), and keeps up with any arrival rate

    def __init__(self, *, max_keys: int = 100_000, clock: Clock = time.monotonic) -> None:
        self.max_keys = max_keys
        self.clock = clock
        self._tats: OrderedDict[str, int] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tats)

    async def hit(self, checks: Sequence[Check]) -> Decision:
        now = int(self.clock() * MICROS)
        self._sweep(now)
        ahead = []
        allowed = True
        for check in checks:
            tat = self._tats.get(check.key, now)
            booked = tat - now if tat > now else 0
            ahead.append(booked)
            if booked + check.rate.interval_us > check.rate.window_us:
                allowed = False
        if allowed:
            for i, check in enumerate(checks):
                ahead[i] += check.rate.interval_us
                self._store(check.key, now + ahead[i])
        return decide(checks, allowed, ahead)

    async def aclose(self) -> None:
        self._tats.clear()

    def _store(self, key: str, tat: int) -> None:
        if key in self._tats:
            self._tats.move_to_end(key)
        elif len(self._tats) >= self.max_keys:
            self._tats.popitem(last=False)
        self._tats[key] = tat

    def _sweep(self, now: int) -> None:
        for _ in range(self.SWEEP):
            if not self._tats:
                return
            key, tat = next(iter(self._tats.items()))
            if tat > now:
                return
            del self._tats[key]
