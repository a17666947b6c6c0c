"""The jobs that move instances on: ``flow.timer`` fires a timer, ``flow.service`` runs a
service task. Each runs its transition in the job's own transaction (committed together with
the job being marked done), so a worker killed at any point leaves either nothing or
everything, and the retried job finds the timer fired or the token moved and does nothing.

Records a service task writes are record events like any other write: the in-transaction
hooks (flows started by triggers) see them at once, while the instance that wrote them is
still running on the record (so it does not trigger itself again). An attempt that rolls
back takes its events with it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engines.flow.model import SendMail, ServiceTask, Webhook
from engines.flow.state import RUNNING
from runtime.flows import service
from runtime.flows.actions import ActionFailed, run_action
from runtime.flows.store import Conflict
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.records.writer import run_hooks

log = logging.getLogger("tangram.flows")
#: Transitions retried at once when another one changed the instance meanwhile.
CONFLICT_RETRIES = 8


async def _with_retries(ctx: JobContext, attempt: Any) -> dict[str, Any]:
    db = ctx.session
    for _ in range(CONFLICT_RETRIES):
        mark = _event_mark(db)
        savepoint = await db.begin_nested()
        try:
            result: dict[str, Any] = await attempt()
            await run_hooks(db)
        except Conflict:
            await savepoint.rollback()
            _forget_events(db, mark)
            continue
        except BaseException:
            await savepoint.rollback()
            _forget_events(db, mark)
            raise
        await savepoint.commit()
        return result
    raise RuntimeError("the instance kept changing; retrying later")


def _event_mark(db: AsyncSession) -> tuple[int, int]:
    """How many record events the session holds, and how many the hooks have seen."""
    events = db.info.setdefault("record_events", [])
    return len(events), db.info.get("record_events_seen", 0)


def _forget_events(db: AsyncSession, mark: tuple[int, int]) -> None:
    """Drop the record events of writes a savepoint rolled back."""
    count, seen = mark
    del db.info.setdefault("record_events", [])[count:]
    db.info["record_events_seen"] = min(seen, count)


@handlers.register(service.TIMER_JOB, max_attempts=20)
async def fire_timer(ctx: JobContext) -> dict[str, Any]:
    instance_id, seq = int(ctx.payload["instance"]), int(ctx.payload["timer"])

    async def attempt() -> dict[str, Any]:
        run = await service.open_run(ctx.session, instance_id)
        fired = service.ENGINE.fire_timer(run.inst, seq)
        if fired:
            await service.settle(ctx.session, run)
        return {"fired": fired, "status": run.inst.status}

    return await _with_retries(ctx, attempt)


@handlers.register(service.SERVICE_JOB, max_attempts=5)
async def run_service(ctx: JobContext) -> dict[str, Any]:
    instance_id = int(ctx.payload["instance"])
    token, job = int(ctx.payload["token"]), int(ctx.payload["job"])
    key = f"tangram-flow-{instance_id}-{job}"
    #: The outcome of a mail or webhook sent by an earlier try of this run that then lost the
    #: instance's lock to another transition (a parallel branch): the retry must not send it
    #: again. Database actions rolled back with their try, so they run again.
    sent: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []

    async def attempt() -> dict[str, Any]:
        db = ctx.session
        run = await service.open_run(db, instance_id)
        inst = run.inst
        holder = inst.tokens.get(token)
        if inst.status != RUNNING or holder is None or (holder.data or {}).get("job") != job:
            return {"skipped": True}  # interrupted, cancelled, or already done
        node = service.ENGINE.graph(inst).nodes[holder.node]
        assert isinstance(node, ServiceTask)
        if ctx.attempt > node.max_attempts:
            # The queue allows one attempt more than the node: the last real one ended with
            # its worker (killed, lease expired), and the instance must not wait forever.
            return await _failed(run, token, "the worker running this step stopped")
        context = service.ENGINE.context(inst)
        mark = _event_mark(db)
        action = await db.begin_nested()
        try:
            if sent:
                variables, changes = sent[0]
            else:
                variables, changes = await run_action(db, run, node, context, key, ctx)
                if isinstance(node.action, SendMail | Webhook):
                    sent.append((variables, changes))
            # Triggers see the write while this instance still runs on the record, so a
            # flow does not start itself again with its own write.
            await run_hooks(db)
        except ActionFailed as exc:
            await action.rollback()
            _forget_events(db, mark)
            return await _failed(run, token, str(exc))
        except Exception as exc:
            await action.rollback()
            _forget_events(db, mark)
            if ctx.attempt >= node.max_attempts:
                return await _failed(run, token, f"{type(exc).__name__}: {exc}")
            raise
        await action.commit()
        service.ENGINE.service_done(
            inst, token, job=job, variables=variables, record_changes=changes
        )
        await service.settle(db, run)
        return {"done": True, "status": inst.status}

    async def _failed(run: service.Run, token: int, error: str) -> dict[str, Any]:
        log.warning("flow instance %s: service task failed: %s", run.id, error)
        service.ENGINE.service_failed(run.inst, token, error)
        await service.settle(ctx.session, run)
        return {"failed": error}

    return await _with_retries(ctx, attempt)
