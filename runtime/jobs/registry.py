"""Job handlers, registered by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.jobs.context import JobContext

Handler = Callable[["JobContext"], Awaitable[dict[str, Any] | None]]


@dataclass(frozen=True)
class HandlerSpec:
    name: str
    func: Handler
    max_attempts: int | None = None
    timeout_seconds: float | None = None


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, HandlerSpec] = {}

    def register(
        self, name: str, *, max_attempts: int | None = None, timeout_seconds: float | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator: ``@handlers.register("mail.send")``."""

        def decorate(func: Handler) -> Handler:
            existing = self._handlers.get(name)
            if existing is not None and existing.func is not func:
                raise ValueError(f"job handler {name!r} is registered twice")
            self._handlers[name] = HandlerSpec(name, func, max_attempts, timeout_seconds)
            return func

        return decorate

    def get(self, name: str) -> HandlerSpec | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)


handlers = HandlerRegistry()
