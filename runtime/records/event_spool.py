"""Record events of a long import, kept on disk until its transaction commits.

Events are delivered after commit (DESIGN §10.11). An import of a million rows would hold a
million events in memory until then; the spool writes each chunk's events to a temporary file
instead and reads them back, a batch at a time, once the job's transaction has committed.
"""

from __future__ import annotations

import asyncio
import pickle
import tempfile
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.records.writer import RecordEvent, commit_and_dispatch

BATCH = 1000
_background: set[asyncio.Task[None]] = set()


class EventSpool:
    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="tangram-events-")  # noqa: SIM115
        self.count = 0

    def take(self, events: list[RecordEvent], start: int = 0) -> None:
        """Move ``events[start:]`` to disk."""
        for item in events[start:]:
            pickle.dump(item, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += len(events) - start
        del events[start:]

    def discard(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.count = 0

    def batches(self) -> Iterator[list[RecordEvent]]:
        self.file.seek(0)
        batch: list[RecordEvent] = []
        for _ in range(self.count):
            # Our own temporary file, written above: not untrusted input.
            batch.append(pickle.load(self.file))  # noqa: S301
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self.file.close()


class _Committed:
    """What :func:`commit_and_dispatch` needs, for events whose transaction has committed."""

    def __init__(self, events: list[RecordEvent]) -> None:
        self.info: dict[str, Any] = {"record_events": events}

    async def commit(self) -> None:
        return None


async def deliver(spool: EventSpool) -> None:
    try:
        for batch in spool.batches():
            await commit_and_dispatch(_Committed(batch))  # type: ignore[arg-type]
    finally:
        spool.close()


def deliver_after_commit(db: AsyncSession, spool: EventSpool) -> None:
    """Deliver the spooled events (and any left in the session) once ``db`` commits."""
    spool.take(db.info.pop("record_events", []))
    if not spool.count:
        spool.close()
        return

    def committed(_session: Any) -> None:
        task = asyncio.get_running_loop().create_task(deliver(spool))
        _background.add(task)
        task.add_done_callback(_background.discard)

    event.listen(db.sync_session, "after_commit", committed, once=True)
