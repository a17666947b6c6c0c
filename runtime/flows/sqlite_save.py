"""On SQLite a transition's whole write is one trip to the connection's thread.

SQLite runs one statement per call, so a transition writes with several: the instance under
its optimistic lock (or the new instance), then consumed tokens, tokens, tasks (with their claim
pools), timers and history. Sent one by one, each is a round trip between the event loop and
aiosqlite's thread plus SQLAlchemy's execution machinery; here they run together as one
function on that thread (:func:`runtime.sqlite_driver.on_connection_thread`), inside the
session's transaction.

The statements are SQLAlchemy Core, compiled once for the engine's dialect; every value goes
through its column type's own bind processor (JSON, UTC timestamps), exactly as an ordinary
execution would, and is passed as a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, delete, insert, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.compiled import Compiled, compiled_for
from runtime.flows.models import (
    FlowHistory,
    FlowInstance,
    FlowTask,
    FlowTaskPool,
    FlowTimer,
    FlowToken,
)
from runtime.sqlite_driver import on_connection_thread

if TYPE_CHECKING:
    import sqlite3

    from runtime.flows.store import Changes, Run

_I, _T, _K = FlowInstance.__table__, FlowToken.__table__, FlowTask.__table__
_M, _P, _H = FlowTimer.__table__, FlowTaskPool.__table__, FlowHistory.__table__

NEW_INSTANCE_COLUMNS = (
    "app_id", "version_id", "flow_key", "form_id", "record_id", "started_by", "started_at",
    "parent_id", "parent_token", "parent_call", "row_version", "status", "variables", "seq",
    "visited", "error", "updated_at", "ended_at",
)  # fmt: skip
TOKEN_COLUMNS = ("instance_id", "seq", "node", "status", "via", "data")
TASK_COLUMNS = (
    "instance_id", "seq", "token", "app_id", "node", "name", "status", "assignee_id",
    "candidates", "signer", "outcome", "comment", "data", "created_at", "due_at",
    "completed_at", "completed_by",
)  # fmt: skip
TASK_UPDATED = (
    "status", "assignee_id", "candidates", "outcome", "comment", "data", "due_at",
    "completed_at", "completed_by",
)  # fmt: skip
TIMER_COLUMNS = ("instance_id", "seq", "node", "token", "due_at", "status", "boundary_of")
HISTORY_COLUMNS = ("instance_id", "at", "action", "actor_id", "node", "task_seq", "data")
POOL_COLUMNS = ("task_id", "kind", "ref_id")
POOL_KINDS = {"user", "role", "group", "department", "department_tree", "admins"}


@dataclass(frozen=True)
class Statements:
    insert_instance: Compiled
    update_instance: Compiled
    delete_token: Compiled
    upsert_token: Compiled
    upsert_task: Compiled
    insert_pool: Compiled
    upsert_timer: Compiled
    insert_history: Compiled


def _upsert(table: Any, keys: list[str], updated: Sequence[str]) -> Any:
    base = sqlite.insert(table)
    return base.on_conflict_do_update(
        index_elements=keys, set_={c: base.excluded[c] for c in updated}
    )


def _build(dialect: Dialect) -> Statements:
    update_instance = (
        update(_I)
        .where(_I.c.id == bindparam("b_id"), _I.c.row_version == bindparam("b_seen"))
        .values(
            status=bindparam("b_status"),
            variables=bindparam("b_variables"),
            seq=bindparam("b_seq"),
            visited=bindparam("b_visited"),
            error=bindparam("b_error"),
            updated_at=bindparam("b_updated_at"),
            ended_at=bindparam("b_ended_at"),
            row_version=_I.c.row_version + 1,
        )
    )
    delete_token = delete(_T).where(
        and_(_T.c.instance_id == bindparam("b_instance"), _T.c.seq == bindparam("b_seq"))
    )
    pair = ["instance_id", "seq"]
    return Statements(
        insert_instance=Compiled.of(insert(_I).returning(_I.c.id), dialect, NEW_INSTANCE_COLUMNS),
        update_instance=Compiled.of(update_instance, dialect),
        delete_token=Compiled.of(delete_token, dialect),
        upsert_token=Compiled.of(
            _upsert(_T, pair, ["node", "status", "via", "data"]), dialect, TOKEN_COLUMNS
        ),
        upsert_task=Compiled.of(
            _upsert(_K, pair, TASK_UPDATED).returning(_K.c.id), dialect, TASK_COLUMNS
        ),
        insert_pool=Compiled.of(insert(_P), dialect, POOL_COLUMNS),
        upsert_timer=Compiled.of(_upsert(_M, pair, ["status"]), dialect, TIMER_COLUMNS),
        insert_history=Compiled.of(insert(_H), dialect, HISTORY_COLUMNS),
    )


@dataclass
class Written:
    """What the write produced: the instance id (new instances) and task row ids by seq."""

    instance_id: int
    task_ids: dict[int, int]


async def sqlite_save(
    db: AsyncSession, run: Run, changes: Changes, instance: dict[str, Any], now: datetime
) -> Written | None:
    """Write the transition; None when the optimistic lock was lost (nothing written)."""
    statements = compiled_for(db.get_bind().dialect, "flow_sqlite_save", _build)
    inst = run.inst
    if inst.id is None:
        head = (
            statements.insert_instance,
            {
                "app_id": run.app_id,
                "version_id": run.version_id,
                "flow_key": run.flow_key,
                "form_id": run.form_id,
                "record_id": run.record_id,
                "started_by": inst.started_by,
                "started_at": now,
                "parent_id": run.parent_id,
                "parent_token": run.parent_token,
                "parent_call": run.parent_call,
                "row_version": 1,
                **instance,
            },
        )
    else:
        params = {f"b_{k}": v for k, v in instance.items()}
        head = (statements.update_instance, {"b_id": inst.id, "b_seen": inst.row_version, **params})
    pools = {
        task.seq: [(kind, int(ref or 0)) for kind, ref in task.candidates if kind in POOL_KINDS]
        for task in changes.tasks
        if task.seq in changes.fresh
    }

    def write(conn: sqlite3.Connection) -> Written | None:
        cursor = conn.cursor()
        try:
            statement, values = head
            cursor.execute(statement.sql, statement.values(values))
            if inst.id is None:
                instance_id = int(cursor.fetchone()[0])
            elif cursor.rowcount != 1:
                return None
            else:
                instance_id = inst.id

            def many(compiled: Compiled, rows: list[dict[str, Any]]) -> None:
                if rows:
                    cursor.executemany(
                        compiled.sql,
                        [compiled.values({"instance_id": instance_id, **r}) for r in rows],
                    )

            many(
                statements.delete_token,
                [{"b_instance": instance_id, "b_seq": seq} for seq in changes.gone],
            )
            many(statements.upsert_token, changes.tokens)
            task_ids: dict[int, int] = {}
            for row in changes.task_rows:
                upsert = statements.upsert_task
                cursor.execute(upsert.sql, upsert.values({"instance_id": instance_id, **row}))
                task_ids[row["seq"]] = int(cursor.fetchone()[0])
            many(
                statements.insert_pool,
                [
                    {"task_id": task_ids[seq], "kind": kind, "ref_id": ref}
                    for seq, entries in pools.items()
                    for kind, ref in entries
                ],
            )
            many(statements.upsert_timer, changes.timers)
            many(statements.insert_history, changes.history)
            return Written(instance_id, task_ids)
        finally:
            cursor.close()

    return await on_connection_thread(db, write)
