"""Crash safety of flows: ``tangram worker`` processes killed with SIGKILL while they fire timers
and run service tasks for hundreds of instances, replaced, and every instance still ends exactly
as in an uninterrupted run, with no service task or side effect done twice.

Each instance of the flow (started by the creation of an order) goes through a timer due at a
datetime of its order, a ``set_fields`` service task on the order, a ``create_record`` in a
second form, a parallel split into a second ``create_record`` and a webhook, the join, and a
last ``set_fields``.

The test first runs a few reference instances without any kill (the uninterrupted run), then
the crash instances, killing workers three times:

1. while the webhook receiver holds its requests: a worker is killed in the middle of a webhook
   call it made (the receiver applied the effect, the worker never commits), so the retry
   repeats the call with the same ``Idempotency-Key`` and the receiver must drop it;
2. when 70 % of the timers have fired, while the rest still fall due;
3. when 70 % have completed, every worker at once.

A killed worker's jobs are taken again once their lease (2 s here) has run out. The end state
of every crash instance (its status, variables, history, timers, jobs, the record it wrote,
the records it created with their history, the webhook effects) must equal the reference
instances' one, and every instance must have completed.

On PostgreSQL two workers run side by side; on SQLite one worker process at a time (one
writer: a job holds the write lock from BEGIN IMMEDIATE to its commit).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from runtime.app import create_app
from runtime.db import create_engine, session_factory, utcnow
from runtime.flows.definitions import clear_cache as clear_flow_cache
from runtime.flows.models import FlowHistory, FlowInstance, FlowTask, FlowTimer, FlowToken
from runtime.flows.service import SERVICE_JOB
from runtime.jobs.models import DEAD, QUEUED, RUNNING, Job, WorkerProcess
from runtime.records.forms import clear_cache, resolve
from runtime.records.models import RecordHistory
from tests.conftest import create_database, make_account, make_settings
from tests.runtime.flows.conftest import chain, flow, publish_flows
from tests.support.processes import TangramProcess, poll, processes

pytestmark = pytest.mark.slow

APP_KEY = "desk"
FLOW_KEY = "crash"
REFERENCE = 20
#: Seconds over which the crash instances' timers fall due: timers fire between the kills.
SPREAD = 20
#: Worker settings: a short lease so that a killed worker's jobs are taken again soon.
WORKER = {
    "job_lease_seconds": 2,
    "job_backoff_seconds": 0.2,
    # Longer than the receiver holds a request (the call must not time out meanwhile).
    "webhook_timeout_seconds": 60,
}
KEY = re.compile(r"^tangram-flow-(\d+)-(\d+)$")

ORDER = {
    "key": "order",
    "label": {"en": "Order"},
    "fields": [
        {"id": 1, "key": "title", "type": "text", "label": {"en": "Title"}, "required": True},
        {"id": 2, "key": "amount", "type": "integer", "label": {"en": "Amount"}},
        {"id": 3, "key": "status", "type": "text", "label": {"en": "Status"}},
        {"id": 4, "key": "resolution", "type": "text", "label": {"en": "Resolution"}},
        {"id": 5, "key": "wake_at", "type": "datetime", "label": {"en": "Wake at"}},
    ],
}
EFFECT = {
    "key": "effect",
    "label": {"en": "Effect"},
    "fields": [
        {"id": 1, "key": "source", "type": "integer", "label": {"en": "Source"}},
        {"id": 2, "key": "kind", "type": "text", "label": {"en": "Kind"}},
        {"id": 3, "key": "note", "type": "text", "label": {"en": "Note"}},
    ],
}


def crash_flow(hook_url: str) -> dict:
    """wait → mark → copy → split → (ledger ‖ hook) → join → finish → end."""
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "wait", "type": "timer", "timer": {"at": {"var": "record.wake_at"}}},
        {
            "id": "mark",
            "type": "service_task",
            "action": {
                "kind": "set_fields",
                "values": {"status": "marked", "amount": {"*": [{"var": "record.amount"}, 2]}},
            },
        },
        {
            "id": "copy",
            "type": "service_task",
            "action": {
                "kind": "create_record",
                "form": "effect",
                "values": {
                    "source": {"var": "record.id"},
                    "kind": "copy",
                    "note": {"var": "record.title"},
                },
                "result": "copy_id",
            },
        },
        {"id": "split", "type": "parallel_gateway"},
        {
            "id": "ledger",
            "type": "service_task",
            "action": {
                "kind": "create_record",
                "form": "effect",
                "values": {"source": {"var": "record.id"}, "kind": "ledger"},
                "result": "ledger_id",
            },
        },
        {
            "id": "hook",
            "type": "service_task",
            "action": {
                "kind": "webhook",
                "url": hook_url,
                "body": {"var": "record.id"},
                "result": "hook",
            },
        },
        {"id": "join", "type": "parallel_gateway"},
        {
            "id": "finish",
            "type": "service_task",
            "action": {
                "kind": "set_fields",
                "values": {
                    "status": "done",
                    "resolution": {"cat": ["after ", {"var": "record.status"}]},
                },
            },
        },
        {"id": "end", "type": "end"},
    ]
    edges = [
        *chain("start", "wait", "mark", "copy", "split"),
        *chain("split", "ledger", "join"),
        *chain("split", "hook", "join"),
        *chain("join", "finish", "end"),
    ]
    return flow(FLOW_KEY, nodes, edges, form="order", triggers=[{"on": "created"}])


# --- the webhook receiver -----------------------------------------------------------------------


class Receiver:
    """An HTTP server that applies each ``Idempotency-Key`` once: a repeated key gets the answer
    of the first call (the same receipt) and changes nothing. While held, requests wait."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries: Counter[str] = Counter()
        #: Key → receipt number given when the key was first applied.
        self.receipts: dict[str, int] = {}
        #: Key → the body of its first call (the record id).
        self.bodies: dict[str, Any] = {}
        self.held: set[str] = set()
        self.passing = threading.Event()
        self.passing.set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def hold(self) -> None:
        self.passing.clear()

    def release(self) -> None:
        self.passing.set()

    def receive(self, key: str, body: Any) -> dict[str, Any]:
        with self.lock:
            self.deliveries[key] += 1
            if key not in self.receipts:
                self.receipts[key] = len(self.receipts) + 1
                self.bodies[key] = body
            receipt = self.receipts[key]
            holding = not self.passing.is_set()
            if holding:
                self.held.add(key)
        if holding:
            self.passing.wait(timeout=120)
            with self.lock:
                self.held.discard(key)
        return {"receipt": receipt}

    def held_keys(self) -> set[str]:
        with self.lock:
            return set(self.held)


@contextmanager
def receiver() -> Iterator[Receiver]:
    hook = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if len(raw) < length:
                return  # the caller was killed while sending: nothing complete arrived
            key = self.headers.get("Idempotency-Key") or ""
            reply = json.dumps(hook.receive(key, json.loads(raw) if raw else None)).encode()
            with suppress(OSError):  # the caller may have been killed meanwhile
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a connection the killed worker left behind

    server = Server(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- arranging ----------------------------------------------------------------------------------


async def _with_app(url: str, var_dir: Path, work: Any) -> Any:
    """Run ``work(client, sessions)`` against an in-process app on the test database."""
    application = create_app(make_settings(url, var_dir))
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await work(c, application.state.sessions)
    finally:
        clear_cache()
        clear_flow_cache()


def publish(url: str, var_dir: Path, hook_url: str) -> Any:
    """Publish the app; returns the administrator's account."""

    async def work(client: httpx.AsyncClient, sessions: Any) -> Any:
        admin = await make_account(client, sessions, "admin", "Admin-pass-2026", admin=True)
        await publish_flows(
            client, admin, [crash_flow(hook_url)], key=APP_KEY, forms=[ORDER, EFFECT]
        )
        return admin

    return asyncio.run(_with_app(url, var_dir, work))


def start_instances(
    url: str, var_dir: Path, admin: Any, count: int, first: int, spread: float
) -> list[int]:
    """``count`` orders created in one request; each starts an instance (the flow's trigger)
    that waits at its timer. The timers fall due over the next ``spread`` seconds, so that the
    workers fire timers and run service tasks side by side all along."""

    async def work(client: httpx.AsyncClient, sessions: Any) -> list[int]:
        base = utcnow() + timedelta(seconds=1)
        values = [
            {
                "title": f"order {first + i}",
                "amount": 21,
                "wake_at": (base + timedelta(seconds=spread * i / count)).isoformat(),
            }
            for i in range(count)
        ]
        created = await client.post(
            f"/api/v1/records/{APP_KEY}/order/bulk",
            json={"create": values},
            headers=admin.headers,
        )
        assert created.status_code == 200, created.text
        record_ids = [r["id"] for r in created.json()["created"]]
        async with sessions() as db:
            found = await db.execute(
                select(FlowInstance.id, FlowInstance.status).where(
                    FlowInstance.record_id.in_(record_ids), FlowInstance.flow_key == FLOW_KEY
                )
            )
            instances = found.all()
            waiting = await db.execute(
                select(func.count()).where(
                    FlowToken.instance_id.in_([i for i, _ in instances]), FlowToken.node == "wait"
                )
            )
            assert waiting.scalar_one() == count
        assert len(instances) == count and {s for _, s in instances} == {"running"}
        return sorted(i for i, _ in instances)

    return asyncio.run(_with_app(url, var_dir, work))


# --- watching -----------------------------------------------------------------------------------


def run_with_session(url: str, work: Any) -> Any:
    """``work(session)`` in a read-only session: on SQLite it must not wait for the write lock
    a worker holds (a job holds it while its webhook call is held)."""

    async def main() -> Any:
        engine = create_engine(url, pool_size=2)
        try:
            async with session_factory(engine, write=False)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def rows(url: str, statement: Any) -> list[Any]:
    async def work(session: Any) -> list[Any]:
        return list((await session.execute(statement)).all())

    return run_with_session(url, work)


def scalar(url: str, statement: Any) -> Any:
    async def work(session: Any) -> Any:
        return (await session.execute(statement)).scalar()

    return run_with_session(url, work)


def worker_prefix(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:"


def registered(url: str, *pids: int) -> bool:
    ids = [r[0] for r in rows(url, select(WorkerProcess.id))]
    return all(any(i.startswith(worker_prefix(pid)) for i in ids) for pid in pids)


def start_workers(
    group: Any, url: str, names: list[str], concurrency: int, **settings: Any
) -> list[Any]:
    values = {**WORKER, **settings}
    started = [group.worker(name, concurrency=concurrency, **values) for name in names]
    poll(
        lambda: group_alive(started) or registered(url, *(w.pid for w in started)),
        timeout=30,
        interval=0.1,
        message=f"{', '.join(names)} to register",
    )
    return started


def group_alive(workers: list[TangramProcess]) -> None:
    for w in workers:
        w.ensure_alive()


def kill(worker: TangramProcess) -> None:
    worker.signal(signal.SIGKILL)
    assert worker.wait(10) == -signal.SIGKILL


def completed(url: str, ids: list[int]) -> int:
    return int(
        scalar(
            url,
            select(func.count()).where(
                FlowInstance.id.in_(ids), FlowInstance.status == "completed"
            ),
        )
    )


def fired(url: str, ids: list[int]) -> int:
    return int(
        scalar(
            url,
            select(func.count()).where(FlowTimer.instance_id.in_(ids), FlowTimer.status == "fired"),
        )
    )


def pending_timers(url: str) -> int:
    return int(scalar(url, select(func.count()).where(FlowTimer.status == "pending")))


def check_no_dead_jobs(url: str) -> None:
    dead = rows(url, select(Job.id, Job.name, Job.last_error).where(Job.status == DEAD))
    assert not dead, f"dead jobs: {dead[:3]}"


def wait_until_ended(url: str, workers: list[TangramProcess], ids: list[int], timeout: float):
    """Until none of ``ids`` runs any more and no job is left to do (bounded)."""

    def check() -> bool:
        group_alive(workers)
        check_no_dead_jobs(url)
        running = scalar(
            url,
            select(func.count()).where(FlowInstance.id.in_(ids), FlowInstance.status == "running"),
        )
        if running:
            return False
        pending = scalar(url, select(func.count()).where(Job.status.in_([QUEUED, RUNNING])))
        return pending == 0

    poll(check, timeout=timeout, interval=0.25, message=f"{len(ids)} instances to end")


def held_by(url: str, hook: Receiver, pid: int) -> set[str]:
    """Webhook calls the receiver holds that come from jobs the worker ``pid`` is running."""
    held = hook.held_keys()
    if not held:
        return set()
    jobs = rows(
        url,
        select(Job.payload).where(
            Job.name == SERVICE_JOB,
            Job.status == RUNNING,
            Job.locked_by.startswith(worker_prefix(pid)),
        ),
    )
    keys = {f"tangram-flow-{p['instance']}-{p['job']}" for (p,) in jobs}
    return keys & held


# --- the end state ------------------------------------------------------------------------------


def end_states(url: str, hook: Receiver) -> dict[int, dict[str, Any]]:
    """Every instance's end state, with ids replaced by what they must point to, so that two
    instances that ended alike compare equal."""

    async def work(db: Any) -> dict[str, Any]:
        order = await resolve(db, APP_KEY, "order")
        effect = await resolve(db, APP_KEY, "effect")

        async def all_rows(statement: Any) -> list[Any]:
            return list((await db.execute(statement)).all())

        r, e = order.table, effect.table
        return {
            "instances": await all_rows(
                select(
                    FlowInstance.id,
                    FlowInstance.status,
                    FlowInstance.variables,
                    FlowInstance.error,
                    FlowInstance.record_id,
                    FlowInstance.seq,
                    FlowInstance.row_version,
                    FlowInstance.ended_at,
                )
            ),
            "tokens": await all_rows(select(FlowToken.instance_id, FlowToken.node)),
            "tasks": await all_rows(select(FlowTask.instance_id, FlowTask.node)),
            "timers": await all_rows(
                select(FlowTimer.instance_id, FlowTimer.node, FlowTimer.status)
            ),
            "history": await all_rows(
                select(FlowHistory.instance_id, FlowHistory.action, FlowHistory.node)
            ),
            "jobs": await all_rows(
                select(Job.name, Job.status, Job.payload, Job.idempotency_key, Job.attempts)
            ),
            "orders": await all_rows(
                select(
                    r.c.id,
                    r.c.row_version,
                    order.column("title"),
                    order.column("amount"),
                    order.column("status"),
                    order.column("resolution"),
                )
            ),
            "effects": await all_rows(
                select(
                    e.c.id,
                    e.c.row_version,
                    effect.column("source"),
                    effect.column("kind"),
                    effect.column("note"),
                )
            ),
            "record_history": await all_rows(
                select(
                    RecordHistory.form_id,
                    RecordHistory.record_id,
                    RecordHistory.action,
                    RecordHistory.source,
                )
            ),
            "forms": (order.form_id, effect.form_id),
        }

    data = run_with_session(url, work)
    order_form, effect_form = data["forms"]
    orders = {row[0]: row for row in data["orders"]}
    effects_by_source: dict[int, list[Any]] = {}
    for row in data["effects"]:
        effects_by_source.setdefault(row[2], []).append(row)
    record_history: dict[tuple[int, int], Counter] = {}
    for form_id, record_id, action, source in data["record_history"]:
        record_history.setdefault((form_id, record_id), Counter())[(action, source)] += 1

    def per_instance(items: list[Any]) -> dict[int, Counter]:
        grouped: dict[int, Counter] = {}
        for instance_id, *rest in items:
            grouped.setdefault(instance_id, Counter())[tuple(rest)] += 1
        return grouped

    tokens = per_instance(data["tokens"])
    tasks = per_instance(data["tasks"])
    timers = per_instance(data["timers"])
    history = per_instance(data["history"])
    jobs: dict[int, Counter] = {}
    for name, status, payload, key, _attempts in data["jobs"]:
        if name.startswith("flow."):
            jobs.setdefault(int(payload["instance"]), Counter())[(name, status, bool(key))] += 1
    hook_keys: dict[int, list[str]] = {}
    for key in hook.receipts:
        match = KEY.match(key)
        assert match, f"unexpected Idempotency-Key {key!r}"
        hook_keys.setdefault(int(match[1]), []).append(key)

    states = {}
    for instance_id, status, variables, error, record_id, seq, version, ended in data["instances"]:
        variables = dict(variables or {})
        own = effects_by_source.get(record_id, [])
        by_id = {row[0]: row for row in own}
        keys = hook_keys.get(instance_id, [])
        for name in ("copy_id", "ledger_id"):
            row = by_id.get(variables.get(name))
            kind = name.removesuffix("_id")
            if row is not None and row[3] == kind:
                variables[name] = f"<the {kind} record>"
        if len(keys) == 1 and variables.get("hook") == {"receipt": hook.receipts[keys[0]]}:
            variables["hook"] = "<the receipt of its webhook call>"
        if variables.get("trigger") == {"kind": "created", "record_id": record_id}:
            variables["trigger"] = "<its record created>"
        record = orders.get(record_id)
        states[instance_id] = {
            "status": status,
            "error": error,
            "ended": ended is not None,
            "seq": seq,
            "row_version": version,
            "variables": variables,
            "tokens": tokens.get(instance_id, Counter()),
            "tasks": tasks.get(instance_id, Counter()),
            "timers": timers.get(instance_id, Counter()),
            "history": history.get(instance_id, Counter()),
            "jobs": jobs.get(instance_id, Counter()),
            "record": None if record is None else record[1:2] + record[3:],
            "record_history": record_history.get((order_form, record_id), Counter()),
            "created": sorted(
                (
                    row[1],
                    row[3],
                    row[4] == (record[2] if record else None) if row[3] == "copy" else row[4],
                    tuple(sorted(record_history.get((effect_form, row[0]), Counter()).items())),
                )
                for row in own
            ),
            "webhook": [
                (hook.bodies[k] == record_id, hook.deliveries[k] >= 1) for k in sorted(keys)
            ],
        }
    return states


def describe(state: dict[str, Any]) -> str:
    return json.dumps(
        {k: sorted(map(str, v.items())) if isinstance(v, Counter) else v for k, v in state.items()},
        default=str,
        indent=1,
    )


# --- the scenario -------------------------------------------------------------------------------


def crash_run(url: str, tmp_path: Path, *, parallel: int, concurrency: int, count: int) -> None:
    """Reference instances uninterrupted, then ``count`` instances on ``parallel`` workers
    killed three times; compare the end states."""
    var_dir = tmp_path / "app"
    started = time.monotonic()
    kills = 0
    phases: list[tuple[str, float]] = []

    def phase(label: str) -> None:
        phases.append((label, time.monotonic() - started))

    with receiver() as hook, processes(url, tmp_path) as group:
        admin = publish(url, var_dir, hook.url)
        phase("published")

        # The uninterrupted run.
        reference = start_instances(url, var_dir, admin, REFERENCE, 0, spread=2)
        phase("reference started")
        reference_started = time.monotonic()
        names = [f"ref-{i}" for i in range(parallel)]
        workers = start_workers(group, url, names, concurrency, job_lease_seconds=60)
        wait_until_ended(url, workers, reference, timeout=120)
        for w in workers:
            w.signal(signal.SIGTERM)
        for w in workers:
            assert w.wait(20) == 0
        reference_seconds = time.monotonic() - reference_started
        # No kill, and leases long enough that no job is taken twice: every webhook was
        # called once, although the two parallel branches compete for the instance's lock.
        assert sorted(hook.deliveries.values()) == [1] * REFERENCE, hook.deliveries
        phase("reference ended")

        crash = start_instances(url, var_dir, admin, count, REFERENCE, spread=SPREAD)
        crash_started = time.monotonic()
        phase("crash instances started")
        hook.hold()
        workers = start_workers(group, url, [f"w1-{i}" for i in range(parallel)], concurrency)

        # 1. Killed in the middle of webhook calls: the receiver has applied them, the worker
        # will never commit. Their jobs run again elsewhere and call again with the same key.
        victim = workers[0]
        interrupted = poll(
            lambda: group_alive(workers) or held_by(url, hook, victim.pid),
            timeout=60,
            interval=0.05,
            message="the first worker to be inside a webhook call",
        )
        kill(victim)
        kills += 1
        phase(f"kill 1 ({pending_timers(url)} timers pending, {completed(url, crash)} done)")
        workers[0:1] = start_workers(group, url, ["w2-0"], concurrency)
        hook.release()

        # 2. While timers still fall due, whatever the last worker does then.
        poll(
            lambda: group_alive(workers) or fired(url, crash) >= count * 0.7,
            timeout=180,
            interval=0.1,
            message="70 % of the timers to fire",
        )
        kill(workers[-1])
        kills += 1
        phase(f"kill 2 ({pending_timers(url)} timers pending, {completed(url, crash)} done)")
        workers[-1:] = start_workers(group, url, ["w3-0"], concurrency)

        # 3. At 70 %, every worker at once.
        poll(
            lambda: group_alive(workers) or completed(url, crash) >= count * 0.7,
            timeout=180,
            interval=0.1,
            message="70 % of the instances to complete",
        )
        for w in workers:
            w.signal(signal.SIGKILL)
        for w in workers:
            assert w.wait(10) == -signal.SIGKILL
        kills += len(workers)
        phase(f"kill 3 ({pending_timers(url)} timers pending, {completed(url, crash)} done)")
        workers = start_workers(group, url, [f"w4-{i}" for i in range(parallel)], concurrency)

        wait_until_ended(url, workers, crash, timeout=240)
        crash_seconds = time.monotonic() - crash_started
        phase("crash instances ended")
        for w in workers:
            w.signal(signal.SIGTERM)
        for w in workers:
            assert w.wait(20) == 0

    states = end_states(url, hook)
    phase("end states read")
    assert set(states) == set(reference) | set(crash)

    # The uninterrupted run: every reference instance ended the same way, as the flow says.
    expected = states[reference[0]]
    odd = [i for i in reference if states[i] != expected]
    assert not odd, f"reference instances differ:\n{describe(states[odd[0]])}\n{describe(expected)}"
    assert expected["status"] == "completed", describe(expected)
    assert expected["history"] == Counter(
        {
            ("started", None): 1,
            ("timer_fired", "wait"): 1,
            ("service_done", "mark"): 1,
            ("service_done", "copy"): 1,
            ("service_done", "ledger"): 1,
            ("service_done", "hook"): 1,
            ("service_done", "finish"): 1,
            ("completed", None): 1,
        }
    ), describe(expected)
    assert expected["variables"] == {
        "trigger": "<its record created>",
        "copy_id": "<the copy record>",
        "ledger_id": "<the ledger record>",
        "hook": "<the receipt of its webhook call>",
    }
    assert expected["jobs"] == Counter(
        {("flow.timer", "done", True): 1, ("flow.service", "done", True): 5}
    )
    assert expected["timers"] == Counter({("wait", "fired"): 1})
    assert not expected["tokens"] and not expected["tasks"]
    # Created once, updated twice (mark, finish); a copy and a ledger record created once each.
    assert expected["record"] == (3, 42, "done", "after marked"), expected["record"]
    assert expected["record_history"] == Counter({("create", "bulk"): 1, ("update", "flow"): 2})
    assert [c[:3] for c in expected["created"]] == [(1, "copy", True), (1, "ledger", None)]
    assert expected["webhook"] == [(True, True)]

    # The crash run: every instance ended exactly like the uninterrupted ones.
    differ = [i for i in crash if states[i] != expected]
    assert not differ, (
        f"{len(differ)} of {count} instances ended otherwise than the uninterrupted run, e.g. "
        f"{differ[0]}:\n{describe(states[differ[0]])}\nexpected:\n{describe(expected)}"
    )

    # Nothing left behind, nothing done twice.
    leftover = rows(
        url, select(Job.name, Job.status).where(Job.status.in_([QUEUED, RUNNING, DEAD]))
    )
    assert leftover == []
    assert scalar(url, select(func.count()).where(FlowTimer.status != "fired")) == 0
    total = REFERENCE + count
    assert len(hook.receipts) == total  # one webhook effect per instance …
    assert len(rows(url, select(Job.id).where(Job.name == SERVICE_JOB))) == 5 * total
    # … although the calls the first kill interrupted were made twice (and dropped the 2nd time).
    assert interrupted and all(hook.deliveries[k] >= 2 for k in interrupted), (
        interrupted,
        [hook.deliveries[k] for k in interrupted],
    )
    retried = scalar(url, select(func.count()).where(Job.attempts > 1))
    assert retried >= len(interrupted)
    repeated = sum(1 for n in hook.deliveries.values() if n > 1)
    print(
        f"\n{count} instances ({6 * count} jobs) on {parallel} worker(s), {kills} SIGKILLs: "
        f"{crash_seconds:.1f} s (reference {REFERENCE} in {reference_seconds:.1f} s); "
        f"{retried} jobs ran again, {repeated} webhook calls repeated and dropped; "
        + ", ".join(f"{label} {at:.1f} s" for label, at in phases)
    )


@pytest.mark.postgres_only
def test_flows_survive_killed_workers_postgresql(tmp_path: Path) -> None:
    url, drop = create_database("postgresql", tmp_path)
    try:
        crash_run(url, tmp_path, parallel=2, concurrency=4, count=200)
    finally:
        drop()


def test_flows_survive_a_killed_worker_sqlite(tmp_path: Path) -> None:
    url, drop = create_database("sqlite", tmp_path)
    try:
        crash_run(url, tmp_path, parallel=1, concurrency=2, count=120)
    finally:
        drop()
