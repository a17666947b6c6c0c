"""What a job handler receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.config import Settings
from runtime.jobs import queue


@dataclass
class JobContext:
    """A running job.

    Writes made through ``session`` commit in the same transaction that marks the job done, so a
    job that is retried after a crash has left no partial effects behind. External effects (mail,
    webhooks) should carry ``idempotency_key`` so that the receiving side can drop a repeat.
    """

    job_id: int
    name: str
    payload: dict[str, Any]
    attempt: int
    lock_token: str
    session: AsyncSession
    settings: Settings
    _progress_writer: queue.ProgressWriter = field(repr=False)
    #: Statements run whatever the outcome (see :meth:`keep`).
    kept: list[Executable] = field(default_factory=list, repr=False)

    @property
    def idempotency_key(self) -> str:
        return f"job-{self.job_id}"

    def keep(self, statement: Executable) -> None:
        """Run ``statement`` (an insert into a log, such as a webhook delivery) whatever this
        attempt's outcome: in the job's own transaction when it commits, otherwise in the one
        that records the failure. A rolled-back attempt does not take its log with it."""
        self.kept.append(statement)

    async def progress(self, percent: float, message: str | None = None) -> None:
        """Report progress (0–100), readable at once through ``GET /api/v1/jobs/{id}``."""
        await self._progress_writer(self, max(0.0, min(100.0, percent)), message)
