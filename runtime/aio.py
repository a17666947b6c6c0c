"""The event loop long-running commands run on: uvloop when it is installed, as under uvicorn.

``tangram run`` serves through uvicorn, whose default loop (``loop="auto"``) is uvloop when
the package is present (``uvicorn[standard]`` brings it); the worker and the benchmarks
use the same loop through :func:`run`, so that they measure and behave like the server.
Without uvloop (Windows, a minimal install) it is asyncio's own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a new event loop (uvloop's when available)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        return asyncio.run(main)
    return uvloop.run(main)


def loop_name() -> str:
    """The name of the loop :func:`run` uses (``uvloop`` or ``asyncio``), for reports."""
    try:
        import uvloop  # noqa: F401
    except ImportError:  # pragma: no cover
        return "asyncio"
    return "uvloop"
