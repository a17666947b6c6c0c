"""CSV/XLSX import and export of records — on both databases."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import zipfile
from datetime import datetime

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from runtime.jobs.context import JobContext
from runtime.jobs.models import DONE, Job
from runtime.jobs.worker import Worker
from runtime.records import import_job, importer, io_routes, tabular, writer
from runtime.records.models import RecordHistory
from runtime.records.writer import RecordEvent
from tests.runtime.records.conftest import TICKET, publish_form
from tests.support.jobs import eventually, job, running

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def upload(client, account, content: bytes, name="tickets.csv", ctype="text/csv") -> int:
    response = await client.post(
        "/api/v1/files", files={"file": (name, content, ctype)}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def start_import(client, url, account, file_id, lang="en", **body):
    return await client.post(
        f"{url}/imports",
        json={"file_id": file_id, **body},
        headers={**account.headers, "Accept-Language": lang},
    )


async def records(client, url, account, **params) -> list[dict]:
    response = await client.get(url, params={"limit": 500, **params}, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def total(client, url, account) -> int:
    response = await client.get(url, params={"total": "true"}, headers=account.headers)
    return int(response.json()["total"])


# --- mapping ----------------------------------------------------------------------------------


async def test_chinese_labels_keys_and_english_labels_map_and_unknown_columns_are_reported(
    client, admin, tickets
):
    content = csv_bytes(
        [
            ["主题", "category", "Amount", "电话 *", "备注"],
            ["打印机坏了", "报修", "1,200.50", "138 1234 5678", "ignored"],
            ["咨询发票", "Consulting", "", "", ""],
        ]
    )
    file_id = await upload(client, admin, content)
    dry = await start_import(client, tickets, admin, file_id, dry_run=True)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["ok"] and report["dry_run"] and report["rows"] == 2
    assert report["valid_rows"] == 2 and report["created"] == 0
    assert report["unknown_columns"] == ["备注"]
    assert {c["column"]: c["field"] for c in report["columns"]} == {
        "主题": "subject",
        "category": "category",
        "Amount": "amount",
        "电话 *": "contact_phone",
        "备注": None,
    }
    assert await total(client, tickets, admin) == 0

    done = await start_import(client, tickets, admin, file_id)
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 2
    items = sorted(await records(client, tickets, admin), key=lambda r: r["id"])
    first, second = (item["values"] for item in items)
    assert first["subject"] == "打印机坏了" and first["category"] == "repair"
    assert first["amount"] == "1200.50" and first["contact_phone"] == "+8613812345678"
    assert second["category"] == "consult" and second["amount"] is None
    assert second["quantity"] == 1  # an empty cell is no value: the default applies
    assert items[0]["created_by"] == admin.id
    timeline = await client.get(f"{tickets}/{items[0]['id']}/timeline", headers=admin.headers)
    assert timeline.json()[0]["source"] == "import"


async def test_explicit_mapping_and_skipped_columns(client, admin, tickets):
    content = csv_bytes([["Betreff", "Kategorie", "Notiz"], ["Drucker", "repair", "x"]])
    file_id = await upload(client, admin, content)
    response = await start_import(
        client,
        tickets,
        admin,
        file_id,
        mapping={"Betreff": "subject", "Kategorie": "category", "Notiz": None},
    )
    assert response.status_code == 200, response.text
    assert response.json()["skipped_columns"] == ["Notiz"]
    assert response.json()["unknown_columns"] == []
    [item] = await records(client, tickets, admin)
    assert item["values"]["subject"] == "Drucker"


async def test_column_problems_are_named_before_anything_runs(client, admin, tickets):
    duplicate = await upload(client, admin, csv_bytes([["subject", "主题"], ["a", "b"]]))
    response = await start_import(client, tickets, admin, duplicate)
    assert response.status_code == 422
    assert [e["code"] for e in response.json()["errors"]] == ["duplicate_column"]
    mapped = await start_import(
        client, tickets, admin, duplicate, mapping={"nope": "subject", "主题": "bogus"}
    )
    assert {(e["field"], e["code"]) for e in mapped.json()["errors"]} == {
        ("mapping.nope", "unknown_column"),
        ("mapping.主题", "unknown_field"),
    }
    nothing = await upload(client, admin, csv_bytes([["foo", "bar"], ["1", "2"]]))
    response = await start_import(client, tickets, admin, nothing)
    assert response.status_code == 422
    assert response.json()["code"] == "import_no_columns"
    assert response.json()["unknown_columns"] == ["foo", "bar"]


# --- validation -------------------------------------------------------------------------------


async def test_dry_run_lists_every_bad_row_in_the_callers_language(client, admin, tickets):
    content = csv_bytes(
        [
            ["主题", "分类", "金额", "数量", "邮箱", "处理人", "退货原因", "", "下单日期"],
            ["ok", "报修", "10", "1", "a@example.com", "", "", "", "2026-01-02"],  # row 2
            ["bad category", "修理", "10", "1", "", "", "", "", ""],  # row 3
            ["bad amount", "报修", "ten", "1", "", "", "", "", ""],  # row 4
            ["", "报修", "", "", "", "", "", "", ""],  # row 5: subject missing
            ["too many", "报修", "", "5000", "", "", "", "", ""],  # row 6
            ["same mail", "报修", "", "", "a@example.com", "", "", "", ""],  # row 7
            ["ghost", "报修", "", "", "", "99999", "", "", ""],  # row 8
            ["return", "退货", "", "", "", "", "", "", ""],  # row 9: reason required
            ["shifted", "报修", "", "", "", "", "", "stray", "bad date"],  # row 10
        ]
    )
    file_id = await upload(client, admin, content)
    response = await start_import(client, tickets, admin, file_id, lang="zh-CN", dry_run=True)
    assert response.status_code == 200, response.text
    report = response.json()
    assert not report["ok"] and report["rows"] == 9
    assert report["invalid_rows"] == 8 and report["valid_rows"] == 1
    found = {(e["row"], e["field"], e["code"]) for e in report["errors"]}
    assert found == {
        (3, "category", "not_an_option"),
        (4, "amount", "invalid_number"),
        (5, "subject", "required"),
        (6, "quantity", "too_large"),
        (7, "contact_email", "not_unique"),
        (8, "assignee", "unknown_reference"),
        (9, "return_reason", "required"),
        (10, None, "cell_without_header"),
        (10, "order_date", "invalid_date"),
    }
    messages = {e["code"]: e["message"] for e in report["errors"]}
    assert messages["not_an_option"] == "请从列表中选择。"
    assert messages["required"] == "此字段为必填项。"
    assert next(e for e in report["errors"] if e["row"] == 3)["column"] == "分类"
    assert next(e for e in report["errors"] if e["row"] == 10 and not e["field"])["column"] == "H"
    assert await total(client, tickets, admin) == 0


async def test_one_bad_row_writes_nothing(client, admin, tickets, sessions):
    rows = [["subject", "category", "contact_email"]]
    rows += [[f"ticket {n}", "repair", f"u{n}@example.com"] for n in range(1500)]
    rows[1201][1] = "nope"  # spreadsheet row 1202, in the second chunk of 1,000
    file_id = await upload(client, admin, csv_bytes(rows))
    response = await start_import(client, tickets, admin, file_id)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "import_invalid" and body["invalid_rows"] == 1
    assert body["errors"] == [
        {
            "row": 1202,
            "column": "category",
            "field": "category",
            "code": "not_an_option",
            "message": "Choose one of the listed options.",
        }
    ]
    assert await total(client, tickets, admin) == 0
    async with sessions() as db:
        assert (await db.execute(select(RecordHistory.id))).first() is None


# --- files ------------------------------------------------------------------------------------


async def test_gb18030_and_bom_csv(client, admin, tickets):
    rows = [["主题", "分类", "标签"], ["发票抬头错误", "咨询", "vip，urgent"]]
    gbk = await upload(client, admin, csv_bytes(rows, "gb18030"))
    response = await start_import(client, tickets, admin, gbk)
    assert response.status_code == 200, response.text
    bom = await upload(
        client, admin, b"\xef\xbb\xbf" + csv_bytes([["主题", "分类"], ["二", "投诉"]])
    )
    assert (await start_import(client, tickets, admin, bom)).status_code == 200
    values = {r["values"]["subject"]: r["values"] for r in await records(client, tickets, admin)}
    assert values["发票抬头错误"]["category"] == "consult"
    assert values["发票抬头错误"]["tags"] == ["vip", "urgent"]
    assert values["二"]["category"] == "complaint"


async def test_xlsx_cells_are_read_as_text(client, admin, tickets):
    content = xlsx_bytes(
        [
            ["Subject", "Category", "Quantity", "Order date", "VIP", "Amount", "Phone"],
            ["typed cells", "repair", 3, datetime(2026, 3, 4), True, 12.5, 13812345678],
            [None, None, None, None, None, None, None],
            ["text cells", "Return", 2.0, "2026-03-05", False, 7, None],
        ]
    )
    file_id = await upload(client, admin, content, "t.xlsx", XLSX)
    response = await start_import(client, tickets, admin, file_id, dry_run=True)
    report = response.json()
    assert report["rows"] == 2 and report["columns"][4] == {"column": "VIP", "field": "vip"}
    assert [(e["row"], e["field"]) for e in report["errors"]] == [(4, "return_reason")]
    file_id = await upload(client, admin, xlsx_bytes(_drop_row(content, 4)), "t.xlsx", XLSX)
    assert (await start_import(client, tickets, admin, file_id)).status_code == 200
    [item] = await records(client, tickets, admin)
    assert item["values"]["quantity"] == 3 and item["values"]["order_date"] == "2026-03-04"
    assert (
        item["values"]["amount"] == "12.50" and item["values"]["contact_phone"] == "+8613812345678"
    )


def _drop_row(content: bytes, number: int) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [list(r) for n, r in enumerate(sheet.iter_rows(values_only=True), 1) if n != number]


def test_csv_cells_that_look_like_formulas_are_neutralised_and_restored(tmp_path):
    values = ["=cmd|' /C calc'!A0", "'=x", "-minus", "@sum", "-12.50", "+8613812345678", "ok"]
    content = tabular.csv_bytes([values], bom=True)
    written = next(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert written[:4] == ["'=cmd|' /C calc'!A0", "''=x", "'-minus", "'@sum"]
    assert written[4:] == ["-12.50", "+8613812345678", "ok"]
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert list(tabular.read_table(path, "csv")) == [(1, values)]
    path.write_bytes("主题;分类\r\n一;二\r\n".encode("gb18030"))
    assert list(tabular.read_table(path, "csv")) == [(1, ["主题", "分类"]), (2, ["一", "二"])]


async def test_bad_files_are_clear_422s_and_404s(client, admin, user, tickets):
    async def code(file_id, account=admin):
        response = await start_import(client, tickets, account, file_id)
        assert response.headers["content-type"] == "application/problem+json", response.text
        return response.status_code, response.json()["code"]

    assert await code(999999) == (404, "not_found")
    theirs = await upload(client, admin, csv_bytes([["subject"], ["x"]]))
    assert await code(theirs, user) == (404, "not_found")
    png = await upload(client, admin, b"\x89PNG\r\n\x1a\n....", "a.png", "image/png")
    assert await code(png) == (422, "unsupported_file_type")
    xls = await upload(client, admin, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "a.xls")
    assert await code(xls) == (422, "unsupported_file_type")
    junk = io.BytesIO()
    with zipfile.ZipFile(junk, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    broken = await upload(client, admin, junk.getvalue(), "a.xlsx", XLSX)
    assert await code(broken) == (422, "unreadable_file")
    truncated = await upload(client, admin, xlsx_bytes([["subject"], ["x"]])[:300], "b.xlsx", XLSX)
    assert await code(truncated) == (422, "unreadable_file")
    binary = await upload(client, admin, b"subject\n\x00\x01\x02", "c.csv")
    assert await code(binary) == (422, "unreadable_file")
    empty = await upload(client, admin, b"\n\n", "d.csv")
    assert await code(empty) == (422, "empty_file")
    assert await total(client, tickets, admin) == 0


async def test_row_limit(client, admin, tickets, monkeypatch):
    rows = [["subject", "category"]] + [[f"t{n}", "repair"] for n in range(12)]
    file_id = await upload(client, admin, csv_bytes(rows))
    monkeypatch.setattr(io_routes, "INLINE_ROWS", 5)
    monkeypatch.setattr(io_routes, "MAX_ROWS", 10)
    response = await start_import(client, tickets, admin, file_id)
    assert response.status_code == 422 and response.json()["code"] == "too_many_rows"
    monkeypatch.setattr(io_routes, "INLINE_ROWS", 2000)
    monkeypatch.setattr(importer, "MAX_ROWS", 10)
    response = await start_import(client, tickets, admin, file_id)
    assert response.status_code == 422 and response.json()["code"] == "too_many_rows"
    assert await total(client, tickets, admin) == 0


# --- jobs -------------------------------------------------------------------------------------


def ticket_rows(count: int, bad_row: int | None = None) -> bytes:
    rows = [["subject", "category", "amount", "quantity", "tags", "order_date"]]
    for n in range(count):
        rows.append(
            [f"ticket {n}", "repair", f"{n % 5000}.25", str(n % 900 + 1), "vip", "2026-05-01"]
        )
    if bad_row is not None:
        rows[bad_row - 1][3] = "many"
    return csv_bytes(rows)


async def test_large_files_import_as_a_job_with_progress(
    client, admin, tickets, app, sessions, settings
):
    file_id = await upload(client, admin, ticket_rows(2500))
    response = await start_import(client, tickets, admin, file_id)
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.json()["url"] == f"/api/v1/jobs/{job_id}"
    async with running(Worker(sessions, settings)):
        await eventually(
            lambda: _status_is(app, job_id, DONE), timeout=60, message="import job done"
        )
    shown = (await client.get(f"/api/v1/jobs/{job_id}", headers=admin.headers)).json()
    assert shown["progress_percent"] == 100.0
    assert shown["progress_message"] == "2,500 of 2,500 rows checked"
    stored = await job(sessions, job_id)
    assert stored.result["ok"] and stored.result["created"] == 2500
    assert await total(client, tickets, admin) == 2500


async def test_a_job_with_a_bad_row_writes_nothing_and_reports_it(
    client, admin, tickets, app, sessions, settings
):
    file_id = await upload(client, admin, ticket_rows(2100, bad_row=2050))
    response = await start_import(client, tickets, admin, file_id, lang="zh-CN")
    job_id = response.json()["job_id"]
    async with running(Worker(sessions, settings)):
        await eventually(lambda: _status_is(app, job_id, DONE), timeout=60)
    result = (await job(sessions, job_id)).result
    assert not result["ok"] and result["created"] == 0 and result["invalid_rows"] == 1
    assert result["errors"][0]["row"] == 2050
    assert result["errors"][0]["message"] == "请输入整数。"
    assert await total(client, tickets, admin) == 0


async def test_the_job_reports_progress_as_it_goes(client, admin, tickets, sessions, settings):
    file_id = await upload(client, admin, ticket_rows(2500))
    calls: list[tuple[float, str | None]] = []

    async def record(_ctx, percent, message):
        calls.append((percent, message))

    payload = {"app": "helpdesk", "form": "ticket", "file_id": file_id, "user_id": admin.id}
    async with sessions() as db:
        ctx = JobContext(1, import_job.IMPORT_JOB, payload, 1, "token", db, settings, record)
        result = await import_job.import_records(ctx)
        await db.commit()
    assert result["created"] == 2500
    percents = [p for p, _ in calls]
    assert percents == sorted(percents) and percents[0] == 0.0 and percents[-1] == 100.0
    assert 40.0 in percents and calls[1][1] == "1,000 of 2,500 rows checked"
    assert await total(client, tickets, admin) == 2500


async def test_record_events_are_delivered_after_the_jobs_commit(
    client, admin, tickets, sessions, settings
):
    file_id = await upload(client, admin, ticket_rows(3))
    seen: list[RecordEvent] = []

    async def listen(event: RecordEvent) -> None:
        seen.append(event)

    async def ignore(*_args):
        return None

    payload = {"app": "helpdesk", "form": "ticket", "file_id": file_id, "user_id": admin.id}
    writer._listeners.append(listen)
    try:
        async with sessions() as db:
            ctx = JobContext(1, import_job.IMPORT_JOB, payload, 1, "token", db, settings, ignore)
            await import_job.import_records(ctx)
            await asyncio.sleep(0)
            assert seen == []  # nothing is announced before the job's transaction commits
            await db.commit()
        await eventually(lambda: _async(len(seen) == 3), message="3 events")
    finally:
        writer._listeners.remove(listen)
    assert {e.kind for e in seen} == {"created"} and seen[0].actor_id == admin.id


async def _async(value):
    return value


async def test_a_job_for_a_file_that_went_bad_ends_with_the_problem(
    client, admin, tickets, sessions, settings
):
    file_id = await upload(client, admin, b"\x00binary", "x.csv")
    payload = {"app": "helpdesk", "form": "ticket", "file_id": file_id, "user_id": admin.id}

    async def ignore(*_args):
        return None

    async with sessions() as db:
        ctx = JobContext(1, import_job.IMPORT_JOB, payload, 1, "token", db, settings, ignore)
        result = await import_job.import_records(ctx)
    assert result["ok"] is False and result["problem"]["code"] == "unreadable_file"


async def _status_is(app, job_id, status) -> bool:
    # A read session: on SQLite the import holds the only write lock until it commits.
    async with app.state.read_sessions() as db:
        return (await db.get(Job, job_id)).status == status


# --- export -----------------------------------------------------------------------------------


async def bulk_create(client, url, account, items):
    for start in range(0, len(items), 1000):
        response = await client.post(
            f"{url}/bulk", json={"create": items[start : start + 1000]}, headers=account.headers
        )
        assert response.status_code == 200, response.text


def parse_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


async def test_export_honours_filter_sort_fields_and_locale(client, admin, tickets):
    items = [
        {"subject": f"t{n}", "category": "repair" if n % 2 else "consult", "amount": str(n)}
        for n in range(1, 1201)
    ]
    await bulk_create(client, tickets, admin, items)
    response = await client.get(
        f"{tickets}/export",
        params={
            "filter": json.dumps({"==": [{"var": "category"}, "repair"]}),
            "sort": "-amount",
            "fields": "subject,amount,category,website",
        },
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = parse_csv(response.content)
    assert rows[0] == ["主题", "金额", "分类", "Website"]
    assert len(rows) == 1 + 600  # two keyset pages of 500 and one of 100
    assert rows[1] == ["t1199", "1199.00", "repair", ""]
    assert [float(r[1]) for r in rows[1:]] == sorted((float(r[1]) for r in rows[1:]), reverse=True)
    keys = await client.get(
        f"{tickets}/export", params={"header": "key", "fields": "subject"}, headers=admin.headers
    )
    assert parse_csv(keys.content)[:2] == [["subject"], ["t1"]]


async def test_export_refuses_bad_queries_with_422(client, admin, tickets):
    for params in (
        {"filter": "{not json"},
        {"filter": json.dumps({"nope": [1]})},
        {"sort": "description"},
        {"fields": "bogus"},
        {"format": "pdf"},
    ):
        response = await client.get(f"{tickets}/export", params=params, headers=admin.headers)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    anonymous = await client.get(f"{tickets}/export")
    assert anonymous.status_code == 401


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_exports_import_again_unchanged(client, admin, tickets, fmt):
    copy = await publish_form(client, admin, "helpdesk_copy", TICKET)
    items = [
        {
            "subject": '=HYPERLINK("http://x")',
            "description": "plain words",
            "category": "return",
            "return_reason": "line one\nline two, with comma",
            "amount": "4999.99",
            "quantity": 7,
            "tags": ["urgent", "vip"],
            "contact_phone": "+442079460958",
            "contact_email": "Zhang.San@Example.COM",
            "website": "https://example.com/a?b=1",
            "due_at": "2026-11-23T18:00:00+08:00",
            "order_date": "2026-11-20",
            "assignee": admin.id,
            "discount": "12.5",
        },
        {"subject": "-minus and 中文", "category": "consult"},
    ] + [{"subject": f"bulk {n}", "category": "repair"} for n in range(700)]
    await bulk_create(client, tickets, admin, items)
    exported = await client.get(
        f"{tickets}/export",
        params={"format": fmt},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert exported.status_code == 200, exported.text
    if fmt == "xlsx":
        assert int(exported.headers["content-length"]) == len(exported.content)
        sheet = load_workbook(io.BytesIO(exported.content), read_only=True).worksheets[0]
        header = next(sheet.iter_rows(values_only=True))
        assert header[:3] == ("主题", "描述", "分类")
    name, ctype = ("e.xlsx", XLSX) if fmt == "xlsx" else ("e.csv", "text/csv")
    file_id = await upload(client, admin, exported.content, name, ctype)
    response = await start_import(client, copy, admin, file_id)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == len(items) and response.json()["unknown_columns"] == []

    def values(rows):
        return sorted((r["values"] for r in rows), key=lambda v: json.dumps(v, sort_keys=True))

    original = await records(client, tickets, admin)
    original += await records(client, tickets, admin, cursor=await _cursor(client, tickets, admin))
    again = await records(client, copy, admin)
    again += await records(client, copy, admin, cursor=await _cursor(client, copy, admin))
    assert len(again) == len(items)
    assert values(again) == values(original)


async def _cursor(client, url, account) -> str:
    response = await client.get(url, params={"limit": 500}, headers=account.headers)
    return str(response.json()["next_cursor"])


# --- scale ------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_large_import_streams_through_in_one_transaction(
    client, admin, tickets, app, sessions, settings, backend
):
    count = 20_000
    file_id = await upload(client, admin, ticket_rows(count))
    response = await start_import(client, tickets, admin, file_id)
    job_id = response.json()["job_id"]
    started = time.perf_counter()
    async with running(Worker(sessions, settings)):
        await eventually(lambda: _status_is(app, job_id, DONE), timeout=600)
    seconds = time.perf_counter() - started
    assert (await job(sessions, job_id)).result["created"] == count
    assert await total(client, tickets, admin) == count
    print(f"\n{backend}: imported {count} rows in {seconds:.1f} s = {count / seconds:.0f} rows/s")
