"""Benchmark: Tangram's flow engine against SpiffWorkflow 3.x on the helpdesk ticket process.

The process is ``benchmarks/flows/ticket.bpmn`` (the peer kit's file, for SpiffWorkflow) and
``benchmarks/flows/ticket.json`` (the same graph for Tangram: same nodes, paths and user
tasks; the Python script and conditions written as JsonLogic). Every instance takes the same
path on both engines with the same data (see ``benchmarks/spiff_peer.py``).

Measured, in instances per second:
- ``tangram_memory_per_s``: the interpreter alone (``engines.flow.memory``), no persistence;
- ``tangram_sqlite_per_s``: persisted, every transition one transaction through
  ``runtime.flows`` (load, step, save, history), on a SQLite file, 4 concurrent drivers
  (SQLite takes one writer at a time; the drivers overlap their Python work with it);
- ``tangram_postgres_per_s``: the same on PostgreSQL with 8 concurrent drivers;
- ``spiff_memory_per_s`` and ``spiff_roundtrip_per_s``: SpiffWorkflow without and with a
  JSON serialise/deserialise after every step.
Also ``timers_seconds``: how long two ``tangram worker`` processes take to fire 10,000 timers
that are all due at once (PostgreSQL).

    TANGRAM_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432/test \\
        .venv/bin/python -m benchmarks.flow --quick --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from benchmarks import spiff_peer
from benchmarks.records import bench_settings, git_commit, make_database, publish, say
from engines.flow.memory import MemoryRunner
from engines.flow.model import load
from engines.flow.state import Resolution
from runtime import aio
from runtime.app import create_app
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.auth.service import create_token, token_principal
from runtime.db import utcnow
from runtime.flows import definitions, service, tasks
from runtime.flows.models import FlowInstance
from runtime.users import service as users

ROOT = Path(__file__).resolve().parents[1]
TICKET = json.loads((ROOT / "benchmarks" / "flows" / "ticket.json").read_text())
APP_KEY = "flowbench"
USERS = ("tech", "manager", "agent")
GOALS = {
    "memory_vs_spiff": 10.0,
    "postgres_vs_spiff_roundtrip": 2.0,
    "sqlite_vs_spiff_roundtrip": 1.0,
}
WAKE = {
    "key": "wake",
    "name": {"en": "Wake up"},
    "nodes": [
        {"id": "start", "type": "start"},
        {"id": "wait", "type": "timer", "timer": {"at": {"var": "due"}}},
        {"id": "end", "type": "end"},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "wait"},
        {"id": "e2", "source": "wait", "target": "end"},
    ],
}
NOTE_FORM = {
    "key": "note",
    "label": {"en": "Note"},
    "fields": [{"id": 1, "key": "text", "type": "text", "label": {"en": "Text"}}],
}


@dataclass(frozen=True)
class Profile:
    name: str
    memory: int
    spiff: int
    sqlite: int
    postgres: int
    timers: int


QUICK = Profile("quick", memory=5_000, spiff=1_000, sqlite=500, postgres=1_000, timers=10_000)
FULL = Profile("full", memory=20_000, spiff=2_000, sqlite=2_000, postgres=5_000, timers=10_000)


# --- Tangram in memory ---------------------------------------------------------------------------


def tangram_memory(n: int, warmup: int = 50) -> float:
    flow = load(TICKET)
    ids = {name: i for i, name in enumerate(USERS, 1)}
    runner = MemoryRunner(lambda inst, a: Resolution(users=[ids[a.key or ""]]))

    def one(i: int) -> None:
        inst = runner.start(flow, variables=spiff_peer.initial_data(i), started_by=9)
        state = spiff_peer.new_state(i)
        done = 0
        while not inst.finished:
            task = next(t for t in inst.tasks.values() if t.status == "open")
            data = spiff_peer.form_data(task.node, state)
            runner.complete(inst, task.seq, user=task.assignee, variables=data)
            inst.take_output()
            done += 1
        spiff_peer.check_end(i, done, inst.variables)

    for i in range(warmup):
        one(i)
    started = time.perf_counter()
    for i in range(n):
        one(i)
    return n / (time.perf_counter() - started)


# --- Tangram persisted ---------------------------------------------------------------------------


async def _setup(app: Any) -> Principal:
    """Users and the published app; the administrator's principal as a request sees it."""
    async with app.state.sessions() as db:
        admin, _ = await users.create_user(
            db, None, username="flow_admin", password="Flow-bench-2026", is_admin=True
        )
        for name in USERS:
            await users.create_user(db, None, username=name, password="Flow-bench-2026")
        await db.commit()
        token = await _token(db, admin)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://tangram") as client:
        await publish(
            client,
            {"Authorization": f"Bearer {token}"},
            NOTE_FORM,
            {"flows": [TICKET, WAKE]},
            APP_KEY,
        )
    async with app.state.sessions() as db:
        # As the API authenticates a request: the user with the organisation version its
        # token was read with (the start route passes it on, see runtime.flows.routes).
        principal = await token_principal(db, token)
        assert principal is not None and principal.org_stamp is not None
        return principal


async def _token(db: Any, admin: User) -> str:
    _, secret = await create_token(db, Principal(admin, via="system"), "bench", None)
    await db.commit()
    return secret


async def _drive(app: Any, principal: Principal, indices: Any, counts: dict[str, int]) -> None:
    sessions = app.state.sessions
    async with app.state.sessions() as db:
        ref = await definitions.published_flow(db, APP_KEY, "ticket")
    for i in indices:
        async with sessions() as db:
            run = await service.start(
                db,
                ref,
                actor_id=principal.user_id,
                variables=spiff_peer.initial_data(i),
                org_stamp=principal.org_stamp,
            )
            await db.commit()
        state = spiff_peer.new_state(i)
        done = 0
        while run.inst.status == "running":
            task = min(
                (t for t in run.inst.tasks.values() if t.status == "open"), key=lambda t: t.seq
            )
            data = spiff_peer.form_data(task.node, state)
            async with sessions() as db:
                assert task.id is not None
                run, _ = await tasks.complete(
                    db,
                    principal,
                    task.id,
                    action="complete",
                    fields={},
                    variables=data,
                    comment=None,
                )
                await db.commit()
            done += 1
        spiff_peer.check_end(i, done, run.inst.variables)
        counts["instances"] += 1
        counts["tasks"] += done


async def persisted(url: str, tmp: Path, n: int, drivers: int) -> dict[str, Any]:
    settings = bench_settings(url, tmp)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        principal = await _setup(app)
        counts = {"instances": 0, "tasks": 0}
        warm = iter(range(n, n + 20))
        await _drive(app, principal, warm, counts)
        counts = {"instances": 0, "tasks": 0}
        shared = iter(range(n))
        started = time.perf_counter()
        await asyncio.gather(*(_drive(app, principal, shared, counts) for _ in range(drivers)))
        seconds = time.perf_counter() - started
        result = {
            "instances": counts["instances"],
            "user_tasks": counts["tasks"],
            "seconds": round(seconds, 3),
            "per_s": round(counts["instances"] / seconds, 1),
            "drivers": drivers,
        }
        if url.startswith("postgresql"):
            result["timers"] = await fire_timers(app, principal, url, tmp)
    return result


async def fire_timers(
    app: Any, principal: Principal, url: str, tmp: Path, count: int = 10_000
) -> dict[str, Any]:
    """Schedule ``count`` timers due at once; two worker processes fire them."""
    due = (utcnow() - timedelta(seconds=1)).isoformat()
    async with app.state.sessions() as db:
        ref = await definitions.published_flow(db, APP_KEY, "wake")
    say(f"scheduling {count:,} timers")
    batches = [range(start, min(start + 250, count)) for start in range(0, count, 250)]

    async def schedule(chunk: range) -> None:
        async with app.state.sessions() as db:
            for _ in chunk:
                await service.start(db, ref, actor_id=principal.user_id, variables={"due": due})
            await db.commit()

    pending = iter(batches)

    async def worker_loop() -> None:
        for chunk in pending:
            await schedule(chunk)

    await asyncio.gather(*(worker_loop() for _ in range(4)))
    env = {
        **os.environ,
        "TANGRAM_DATABASE_URL": url,
        "TANGRAM_LOG_LEVEL": "WARNING",
        "TANGRAM_JOB_POLL_SECONDS": "0.05",
        "TANGRAM_SECRET_KEY": "benchmark",
        "PYTHONPATH": str(ROOT),
    }
    say("two workers fire them")
    started = time.perf_counter()
    procs = [
        subprocess.Popen(  # noqa: ASYNC220 (started once, not awaited)
            [sys.executable, "-m", "runtime.cli", "worker", "--concurrency", "16"],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        while True:
            async with app.state.sessions() as db:
                left = (
                    await db.execute(
                        select(func.count())
                        .select_from(FlowInstance)
                        .where(FlowInstance.flow_key == "wake", FlowInstance.status == "running")
                    )
                ).scalar_one()
            if left == 0:
                break
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"{left} timers still pending after 10 minutes")
            await asyncio.sleep(0.1)
        seconds = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    return {
        "count": count,
        "workers": 2,
        "seconds": round(seconds, 2),
        "per_s": round(count / seconds, 1),
    }


# --- the report ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flow", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer instances (a few minutes)")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    report: dict[str, Any] = {"benchmark": "flow", "profile": profile.name, "loop": aio.loop_name()}
    began = time.perf_counter()

    say(f"tangram in memory: {profile.memory:,} instances")
    report["tangram_memory_per_s"] = round(tangram_memory(profile.memory), 1)
    spiff = spiff_peer.available()
    report["spiffworkflow"] = spiff
    if spiff:
        say(f"spiffworkflow {spiff}: {profile.spiff:,} instances, in memory and with round trips")
        report["spiff_memory_per_s"] = round(spiff_peer.run(profile.spiff, roundtrip=False), 1)
        report["spiff_roundtrip_per_s"] = round(spiff_peer.run(profile.spiff, roundtrip=True), 1)
    else:
        say("SpiffWorkflow is not installed (pip install -e '.[bench]'): no peer figures")
        report["spiff_memory_per_s"] = report["spiff_roundtrip_per_s"] = None

    for name, use_sqlite, n, drivers in (
        ("sqlite", True, profile.sqlite, 4),
        ("postgres", False, profile.postgres, 8),
    ):
        if not use_sqlite and (args.no_postgres or not os.environ.get("TANGRAM_TEST_POSTGRES")):
            say("no TANGRAM_TEST_POSTGRES: PostgreSQL skipped")
            report[f"tangram_{name}_per_s"] = None
            continue
        tmp = Path(tempfile.mkdtemp(prefix="tangram-flow-bench-"))
        try:
            url, drop = make_database(use_sqlite, tmp)
            try:
                say(f"tangram persisted on {name}: {n:,} instances, {drivers} driver(s)")
                result = aio.run(persisted(url, tmp, n, drivers))
            finally:
                drop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        report[f"tangram_{name}_per_s"] = result.pop("per_s")
        timers = result.pop("timers", None)
        report[name] = result
        if timers is not None:
            report["timers_seconds"] = timers["seconds"]
            report["timers"] = timers

    spiff_mem, spiff_rt = report["spiff_memory_per_s"], report["spiff_roundtrip_per_s"]

    def ratio(ours: float | None, theirs: float | None) -> float | None:
        return round(ours / theirs, 2) if ours and theirs else None

    report["memory_vs_spiff"] = ratio(report["tangram_memory_per_s"], spiff_mem)
    report["sqlite_vs_spiff_roundtrip"] = ratio(report["tangram_sqlite_per_s"], spiff_rt)
    report["postgres_vs_spiff_roundtrip"] = ratio(report["tangram_postgres_per_s"], spiff_rt)
    report["goals"] = {
        f"{key}>={goal}": (report[key] is not None and report[key] >= goal)
        for key, goal in GOALS.items()
    }
    commit, dirty = git_commit()
    report.update(
        seconds=round(time.perf_counter() - began, 1),
        python=platform.python_version(),
        platform=platform.platform(),
        commit=commit,
        dirty=dirty,
    )
    if not args.json:
        for key, value in report.items():
            if not isinstance(value, dict):
                print(f"{key:>30}: {value}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
