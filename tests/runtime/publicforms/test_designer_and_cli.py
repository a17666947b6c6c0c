"""The "Public link" page of the form designer, and publishing a form from the command line
(the Customer Center's "提交工单 / Submit a ticket")."""

from __future__ import annotations

import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.runtime.test_cli import tangram
from tests.runtime.web.pages import field_errors, hidden, sign_in

pytestmark = pytest.mark.asyncio


async def test_the_designer_page_publishes_and_refuses_stale_saves(center):
    client = center.client
    csrf = await sign_in(client, "admin", ADMIN_PASSWORD)
    designer = await client.get("/build/apps/customer_center/forms/ticket")
    assert designer.status_code == 200 and "/forms/ticket/public" in designer.text
    url = "/build/apps/customer_center/forms/ticket/public"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    assert 'value="subject" checked' in page.text and 'value="status"' not in page.text
    form = {
        "csrf_token": csrf,
        "enabled": "on",
        "slug": "Bad Slug",
        "fields": ["subject", "description", "priority"],
        "title_zh": "提交工单",
        "title_en": "Submit a ticket",
        "collect_email": "on",
        "rate_limit": "10/hour",
    }
    bad = await client.post(url, data=form)
    assert bad.status_code == 422 and field_errors(bad.text, "slug")
    form["slug"] = "submit-ticket"
    saved = await client.post(url, data=form)
    assert saved.status_code == 303, saved.text
    shown = await client.get(saved.headers["location"])
    assert "http://testserver/p/submit-ticket" in shown.text and "data-copy-link" in shown.text
    assert 'value="priority" checked' in shown.text
    version = hidden(shown.text, "row_version")
    again = await client.post(url, data={**form, "row_version": version, "title_en": "Tickets"})
    assert again.status_code == 303
    stale = await client.post(url, data={**form, "row_version": version})
    assert stale.status_code == 409
    public = await client.get("/p/submit-ticket?lang=en")
    assert public.status_code == 200 and "Tickets" in public.text
    assert 'name="priority"' in public.text


async def test_the_command_line_publishes_the_ticket_form(center, settings):
    done = tangram(
        [
            "public-form",
            "customer_center",
            "ticket",
            "submit-ticket",
            "--title-zh",
            "提交工单",
            "--title-en",
            "Submit a ticket",
        ],
        settings.database_url,
        settings.var_dir,
    )
    assert done.returncode == 0, done.stderr
    page = await center.client.get("/p/submit-ticket", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "提交工单" in page.text
    twice = tangram(
        ["public-form", "customer_center", "ticket", "other"],
        settings.database_url,
        settings.var_dir,
    )
    assert twice.returncode == 1 and "already_exists" in twice.stderr
