"""Shutting down with open event streams.

uvicorn's graceful shutdown first waits (up to ``timeout_graceful_shutdown``) for every open
response to finish, and only then runs the application's lifespan shutdown. A server-sent
event stream (``GET /events``) never finishes by itself, so each open page would hold a
``tangram run`` shutdown for the full 30 s meant for real requests. The app therefore keeps an
``asyncio.Event`` (``app.state.draining``) that the streams watch, and sets it as soon as the
server is told to stop: the lifespan hooks SIGTERM/SIGINT (chaining to the server's own
handlers, which are installed before the lifespan starts), and a server embedded in-process
(the browser tests' live server) calls :func:`begin`. Streams then end at once; the browser's
EventSource reconnects by itself once the server is back.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def install(app: Any) -> Callable[[], None]:
    """Create ``app.state.draining`` on the running loop and hook the stop signals (main
    thread only); returns the function that puts the previous handlers back."""
    loop = asyncio.get_running_loop()
    draining = asyncio.Event()
    app.state.draining = draining
    app.state.draining_loop = loop
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    restore: list[tuple[int, Any, Any]] = []
    for sig in SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):  # default or ignored: not a server's graceful stop
            continue

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(draining.set)
            previous(signum, frame)

        signal.signal(sig, handler)
        restore.append((sig, handler, previous))

    def uninstall() -> None:
        for sig, handler, previous in restore:
            if signal.getsignal(sig) is handler:  # nobody replaced ours meanwhile
                signal.signal(sig, previous)

    return uninstall


def begin(app: Any) -> None:
    """Tell the open streams to end (safe from any thread)."""
    draining: asyncio.Event | None = getattr(app.state, "draining", None)
    if draining is None:
        return
    loop: asyncio.AbstractEventLoop = app.state.draining_loop
    if not loop.is_closed():
        loop.call_soon_threadsafe(draining.set)


async def pause(app: Any, seconds: float) -> bool:
    """Sleep ``seconds``, or less when the server begins to shut down; True if it did."""
    draining: asyncio.Event | None = getattr(app.state, "draining", None)
    if draining is None:
        await asyncio.sleep(seconds)
        return False
    if draining.is_set():
        return True
    try:
        await asyncio.wait_for(draining.wait(), seconds)
    except TimeoutError:
        return False
    return True
