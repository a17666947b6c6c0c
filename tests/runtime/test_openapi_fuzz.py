"""Property-based fuzzing of every API operation from /api/openapi.json (schemathesis).

Each operation gets a bounded, reproducible number of generated requests — valid ones and
deliberately invalid ones — sent as an administrator with an API token. Whatever comes in,
the answer must never be a server error (DESIGN §9: "never a 500").

The test is synchronous: schemathesis drives the application in its own event-loop thread,
which also runs the app's lifespan (engine, storage), so nothing is shared with pytest's loop.

Excluded: ``DELETE /api/v1/auth/tokens/{token_id}``. Token ids are small integers, so the
fuzzer soon revokes the very token the run authenticates with and every later request is a
401 that tests nothing. (``POST /api/v1/auth/logout`` stays in: with a Bearer token it ends
no session and does not invalidate the token.)
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from runtime.app import create_app
from runtime.users import service as users
from tests.conftest import ADMIN_PASSWORD, _empty_tables, make_settings

#: Examples per operation; raise it for a deeper local run (TANGRAM_FUZZ_EXAMPLES=500).
MAX_EXAMPLES = int(os.environ.get("TANGRAM_FUZZ_EXAMPLES", "15"))
EXCLUDED = {("DELETE", "/api/v1/auth/tokens/{token_id}")}


async def _create_admin(url: str) -> None:
    from runtime.db import create_engine, session_factory

    engine = create_engine(url)
    try:
        async with session_factory(engine)() as db:
            await users.create_user(
                db, None, username="fuzz-admin", password=ADMIN_PASSWORD, is_admin=True
            )
            await db.commit()
    finally:
        await engine.dispose()


def _admin_token(client: asgi.ASGIClient) -> str:
    login = client.post(
        "/api/v1/auth/login", json={"username": "fuzz-admin", "password": ADMIN_PASSWORD}
    )
    assert login.status_code == 200, login.text
    created = client.post(
        "/api/v1/auth/tokens",
        json={"name": "fuzz"},
        headers={"X-CSRF-Token": login.json()["csrf_token"]},
    )
    assert created.status_code == 201, created.text
    client.cookies.clear()  # from here on only the token authenticates
    return str(created.json()["token"])


def _fuzz_operation(operation: Any, client: asgi.ASGIClient, headers: dict[str, str]) -> None:
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        case.call_and_validate(session=client, headers=headers, checks=[not_a_server_error])

    run()


def test_no_operation_answers_with_a_server_error(db_url: str, tmp_path: Path) -> None:
    asyncio.run(_create_admin(db_url))
    # Hundreds of requests from one token: the rate limiter (tests/runtime/test_rate_limit.py)
    # would soon answer 429 instead of letting the operation under test run.
    app = create_app(make_settings(db_url, tmp_path, rate_limit_enabled=False))
    try:
        schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
        with asgi.get_client(app) as client:
            headers = {"Authorization": f"Bearer {_admin_token(client)}"}
            failures: dict[str, str] = {}
            tested = []
            for result in schema.get_all_operations():
                operation = result.ok()
                key = (operation.method.upper(), operation.path)
                if key in EXCLUDED:
                    continue
                tested.append(key)
                try:
                    _fuzz_operation(operation, client, headers)
                except (Exception, BaseExceptionGroup) as exc:  # collect them all, then report
                    failures[f"{key[0]} {key[1]}"] = f"{type(exc).__name__}: {exc}"
            # The token survived the run (otherwise most cases only exercised the 401 path).
            assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    finally:
        asgi.shutdown_lifespans()
        asyncio.run(_empty_tables(db_url))
    assert len(tested) >= 15, tested
    assert not failures, "server errors:\n\n" + "\n\n".join(
        f"{name}\n{text}" for name, text in failures.items()
    )
