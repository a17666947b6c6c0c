"""Errors of the flow engine: each has a stable code the API maps to a status and message."""

from __future__ import annotations

from typing import Any


class FlowError(Exception):
    """A request the instance's state refuses (``code`` is stable; ``data`` adds detail)."""

    def __init__(self, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class TaskNotOpen(FlowError):
    """The task was completed, cancelled or never existed (completing twice: 409)."""

    def __init__(self, seq: int, status: str | None) -> None:
        super().__init__("task_not_open", f"task {seq} is {status or 'unknown'}", status=status)


class InstanceFinished(FlowError):
    def __init__(self, status: str) -> None:
        super().__init__("instance_finished", f"the instance is already {status}", status=status)


class BadAction(FlowError):
    """An action this task does not offer (422)."""
