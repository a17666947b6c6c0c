"""Rates such as ``120/minute``, the route classes they apply to, and their defaults."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

RouteClass = Literal["login", "exports", "writes", "reads"]
ROUTE_CLASSES: tuple[RouteClass, ...] = ("login", "exports", "writes", "reads")

#: Per principal (API token, session, or the address of an anonymous caller), per process
#: with the in-process backend. A GCRA bucket of ``N/period`` lets a burst of N through at
#: once and then one request every period/N.
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "login": "30/minute",
    "exports": "20/minute",
    "writes": "600/minute",
    "reads": "1200/minute",
}
#: Per-address limits default to the principal limits times this (offices share addresses).
DEFAULT_IP_MULTIPLIER = 5.0

PERIODS = {"second": 1, "minute": 60, "hour": 3600}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$", re.IGNORECASE)
MICROS = 1_000_000


@dataclass(frozen=True)
class Rate:
    """``limit`` requests per ``period`` seconds, as a GCRA emission interval in microseconds."""

    limit: int
    period: int
    #: Time one request "costs": the bucket refills one request per interval.
    interval_us: int = field(init=False, compare=False)
    #: How far ahead of now a bucket may be booked: exactly ``limit`` intervals.
    window_us: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        interval = max(1, round(self.period * MICROS / self.limit))
        object.__setattr__(self, "interval_us", interval)
        object.__setattr__(self, "window_us", interval * self.limit)

    def scaled(self, factor: float) -> Rate:
        """The same period with ``limit × factor`` requests (rounded up, at least one, at most
        one per microsecond)."""
        limit = max(1, math.ceil(self.limit * factor))
        return Rate(min(limit, self.period * MICROS), self.period)

    def __str__(self) -> str:
        unit = next(name for name, seconds in PERIODS.items() if seconds == self.period)
        return f"{self.limit}/{unit}"


def parse_rate(text: str) -> Rate:
    """Parse ``N/second``, ``N/minute`` or ``N/hour``; raise ``ValueError`` saying how."""
    match = _RATE.match(text) if isinstance(text, str) else None
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in PERIODS:
        raise ValueError(
            f"{text!r} is not a rate: write N/second, N/minute or N/hour (e.g. '120/minute')"
        )
    limit, period = int(match.group(1)), PERIODS[unit]
    if limit < 1:
        raise ValueError(f"{text!r}: the number of requests must be at least 1")
    if limit > period * MICROS:
        raise ValueError(f"{text!r}: at most {MICROS:,} requests per second can be counted")
    return Rate(limit, period)


def parse_rate_table(
    values: dict[str, str], defaults: dict[str, str] | None = None
) -> dict[str, str]:
    """Check a ``{route class: rate}`` table (missing classes keep ``defaults``).

    Errors name the class and say what to write, so a bad value fails at start-up with a
    message that says what to fix.
    """
    merged = dict(defaults or {})
    for name, value in values.items():
        if name not in ROUTE_CLASSES:
            raise ValueError(f"unknown route class {name!r} (use {', '.join(ROUTE_CLASSES)})")
        try:
            parse_rate(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        merged[name] = value
    return merged
