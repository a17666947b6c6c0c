"""Flow webhooks through ``runtime.net``: signed with the installation's secret (or a named
one), every attempt in the delivery log (success, 500 then 200, a refusal by the egress policy
at run time), read through the administrators' API."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.config import Settings
from runtime.flows.service import SERVICE_JOB
from runtime.net.webhooks import signing_secret, verify_signature
from tests.conftest import Account, make_settings
from tests.runtime.flows.conftest import FlowApp, jobs_named, publish_flows, working
from tests.runtime.flows.test_services import (
    finished,
    service_flow,
    start,
    waiting_at_after,
    webhook,
)
from tests.support.servers import Received, http_server

pytestmark = pytest.mark.asyncio
CRM_SECRET = "crm-signing-secret-0123456789"
DELIVERIES = "/api/v1/webhook-deliveries"


@pytest.fixture
def settings(db_url: str, tmp_path) -> Settings:
    return make_settings(db_url, tmp_path, webhook_secrets={"crm": CRM_SECRET})


async def deliveries(app: FlowApp, **params: Any) -> list[dict]:
    got = await app.client.get(DELIVERIES, params=params, headers=app.admin.headers)
    assert got.status_code == 200, got.text
    return list(reversed(got.json()["items"]))  # oldest first


def signed_with(secret: str, request: Received) -> bool:
    headers = request.headers
    return verify_signature(
        secret, headers["X-Tangram-Timestamp"], request.raw, headers["X-Tangram-Signature"]
    )


async def test_delivery_is_signed_and_logged(client, admin, sessions, settings: Settings) -> None:
    with http_server((200, {"ticket": "T-1"})) as hook:
        app = await publish_flows(client, admin, [service_flow("hook", webhook(hook.url))])
        instance_id = await start(app, "hook", {"order": {"title": "printer"}})
        async with working(sessions, settings):
            await app.until(instance_id, waiting_at_after, "the webhook to succeed")
    [request] = hook.requests
    assert signed_with(signing_secret(settings), request)
    [job] = await jobs_named(sessions, SERVICE_JOB)
    [row] = await deliveries(app)
    assert row["outcome"] == "delivered" and row["status_code"] == 200
    assert (row["source_kind"], row["source_key"], row["source_id"], row["step"]) == (
        "flow",
        "desk/hook",
        instance_id,
        "act",
    )
    assert row["job_id"] == job.id and row["attempt"] == 1
    assert row["idempotency_key"] == request.headers["Idempotency-Key"]
    assert row["url"] == hook.url and row["method"] == "POST" and row["address"] == "127.0.0.1"
    assert (
        row["request_bytes"] == len(request.raw) and row["response_excerpt"] == '{"ticket": "T-1"}'
    )
    assert "X-Source" not in str(row)  # headers are not logged


async def test_a_named_secret_signs(client, admin, sessions, settings: Settings) -> None:
    with http_server() as hook:
        action = webhook(hook.url, secret="crm")
        app = await publish_flows(client, admin, [service_flow("hook", action)])
        instance_id = await start(app, "hook", {"order": {}})
        async with working(sessions, settings):
            await app.until(instance_id, waiting_at_after, "the webhook to succeed")
    [request] = hook.requests
    assert signed_with(CRM_SECRET, request)
    assert not signed_with(signing_secret(settings), request)


async def test_every_attempt_is_logged_retries_too(
    client, admin, sessions, settings: Settings
) -> None:
    with http_server((500, {"error": "busy"}), (200, {"ticket": "T-1"})) as hook:
        app = await publish_flows(client, admin, [service_flow("hook", webhook(hook.url))])
        instance_id = await start(app, "hook", {"order": {"n": 1}})
        async with working(sessions, settings):
            await app.until(instance_id, waiting_at_after, "the webhook to succeed")
    # (The first attempt's transaction rolled back; its log row stayed.)
    failed, delivered = await deliveries(app, source_kind="flow", source="desk/hook")
    assert (failed["outcome"], failed["status_code"], failed["attempt"]) == ("failed", 500, 1)
    assert '"busy"' in failed["response_excerpt"]
    assert (delivered["outcome"], delivered["status_code"], delivered["attempt"]) == (
        "delivered",
        200,
        2,
    )
    assert failed["job_id"] == delivered["job_id"]
    assert failed["idempotency_key"] == delivered["idempotency_key"]
    assert [signed_with(signing_secret(settings), r) for r in hook.requests] == [True, True]


async def test_a_forbidden_address_at_run_time_fails_the_instance_without_retries(
    client, admin, sessions, settings: Settings
) -> None:
    """``localhost`` passes at publish (no DNS then); the worker's policy denies loopback, so
    the name's addresses are refused when the step runs: nothing is sent, nothing retried."""
    with http_server() as hook:
        url = f"http://localhost:{hook.port}/hook"
        app = await publish_flows(client, admin, [service_flow("hook", webhook(url))])
        instance_id = await start(app, "hook", {"order": {}})
        async with working(sessions, settings, webhook_deny=["127.0.0.0/8", "::1/128"]):
            detail = await app.until(instance_id, finished, "the instance to fail")
    assert hook.requests == []
    assert detail["status"] == "failed"
    assert detail["error"]["code"] == "service_failed" and detail["error"]["node"] == "act"
    assert "may not be called" in detail["error"]["message"]
    assert "localhost resolves to" in detail["error"]["message"]
    [job] = await jobs_named(sessions, SERVICE_JOB)
    assert job.attempts == 1 and job.status == "done"
    [row] = await deliveries(app)
    assert row["outcome"] == "refused" and row["status_code"] is None
    assert row["error"].startswith("webhook_forbidden_address")
    assert row["address"] is None and row["url"] == url


async def test_the_log_api_filters_pages_and_is_for_administrators(
    client, admin, user: Account, sessions, settings: Settings
) -> None:
    with http_server((503, {"error": "down"})) as hook:
        action = webhook(hook.url)
        app = await publish_flows(client, admin, [service_flow("hook", action, max_attempts=3)])
        instance_id = await start(app, "hook", {"order": {}})
        async with working(sessions, settings):
            await app.until(instance_id, finished, "the instance to fail")
    every = await deliveries(app)
    assert [r["attempt"] for r in every] == [1, 2, 3]
    assert await deliveries(app, source="desk/other") == []
    assert await deliveries(app, source_kind="rule") == []
    assert len(await deliveries(app, source_id=instance_id, outcome="failed")) == 3

    first = await client.get(DELIVERIES, params={"limit": 2}, headers=admin.headers)
    page = first.json()
    assert [r["attempt"] for r in page["items"]] == [3, 2] and page["next_cursor"]
    rest = await client.get(
        DELIVERIES, params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin.headers
    )
    assert [r["attempt"] for r in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None

    bad = await client.get(DELIVERIES, params={"cursor": "%%%"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert bad.json()["errors"][0]["code"] == "invalid_cursor"
    wrong = await client.get(DELIVERIES, params={"source_kind": "mail"}, headers=admin.headers)
    assert wrong.status_code == 422

    denied = await client.get(DELIVERIES, headers=user.headers)
    assert denied.status_code == 403 and denied.json()["code"] == "admin_required"
    anonymous = await client.get(DELIVERIES)
    assert anonymous.status_code == 401


async def test_the_log_api_is_in_the_openapi_schema(client) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    operation = schema["paths"][DELIVERIES]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {
        "source_kind",
        "source",
        "limit",
        "cursor",
    }


async def test_a_secret_gone_from_the_settings_fails_the_instance(
    client, admin, sessions, settings: Settings
) -> None:
    with http_server() as hook:
        action = webhook(hook.url, secret="crm")
        app = await publish_flows(client, admin, [service_flow("hook", action)])
        instance_id = await start(app, "hook", {"order": {}})
        async with working(sessions, settings, webhook_secrets={}):
            detail = await app.until(instance_id, finished, "the instance to fail")
    assert hook.requests == []
    assert "no webhook secret 'crm'" in detail["error"]["message"]
    [row] = await deliveries(app)
    assert row["outcome"] == "refused" and row["error"].startswith("webhook_secret_unknown")
