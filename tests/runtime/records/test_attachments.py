"""Attachment fields: files checked and resolved by the write path, held by records, readable by
whoever can read the record — on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from runtime.files.models import StoredFile
from runtime.records.models import RecordFile
from tests.conftest import make_account
from tests.runtime.records.conftest import publish_app
from tests.runtime.records.test_import_export import csv_bytes, start_import

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 92


def case_forms(ids: dict[str, int], *, keep_files: bool = True) -> list[dict]:
    fields = [
        {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
        {
            "id": 2,
            "key": "files",
            "type": "attachments",
            "label": {"en": "Files", "zh-CN": "附件"},
            "options": {"max_files": 2, "max_size_bytes": 1000, "accept": ["image/*", ".pdf"]},
        },
        {"id": 3, "key": "docs", "type": "attachments", "label": {"en": "Documents"}},
    ]
    if not keep_files:
        fields = [f for f in fields if f["id"] != 2]
    return [{"id": ids["case"], "key": "case", "label": {"en": "Case"}, "fields": fields}]


@pytest.fixture
async def cases(client, admin):
    return await publish_app(client, admin, "support", ["case"], case_forms)


async def upload(client, account, name: str, content: bytes, content_type: str) -> dict:
    response = await client.post(
        "/api/v1/files", files={"file": (name, content, content_type)}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def shown(file: dict) -> dict:
    return {k: file[k] for k in ("id", "filename", "size", "content_type", "sha256")}


async def held_rows(sessions) -> list[tuple]:
    async with sessions() as db:
        rows = await db.execute(
            select(
                RecordFile.record_id, RecordFile.field_id, RecordFile.comment_id, RecordFile.file_id
            ).order_by(RecordFile.id)
        )
        return [tuple(r) for r in rows]


async def test_files_are_resolved_stored_and_shown(client, user, cases, sessions):
    photo = await upload(client, user, "photo.png", PNG, "image/png")
    report = await upload(client, user, "report.pdf", b"%PDF-1.7 tiny", "application/pdf")
    created = await client.post(
        cases.url("case"),
        json={"values": {"subject": "broken", "files": [photo["id"], report["id"]]}},
        headers=user.headers,
    )
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["values"]["files"] == [shown(photo), shown(report)]
    url = f"{cases.url('case')}/{record['id']}"
    assert (await client.get(url, headers=user.headers)).json()["values"] == record["values"]
    assert await held_rows(sessions) == [
        (record["id"], 2, None, photo["id"]),
        (record["id"], 2, None, report["id"]),
    ]

    # What a client read can be sent back as it is; reordering and removing are changes.
    same = await client.patch(
        url,
        json={"row_version": 1, "values": {"files": record["values"]["files"]}},
        headers=user.headers,
    )
    assert same.json()["row_version"] == 1 + 1
    moved = await client.patch(
        url,
        json={"row_version": 2, "values": {"files": [report["id"]], "docs": [photo]}},
        headers=user.headers,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["values"]["files"] == [shown(report)]
    assert moved.json()["values"]["docs"] == [shown(photo)]
    assert sorted(await held_rows(sessions)) == sorted(
        [(record["id"], 2, None, report["id"]), (record["id"], 3, None, photo["id"])]
    )
    timeline = (await client.get(f"{url}/timeline", headers=user.headers)).json()
    assert timeline[0]["changes"]["files"] == [None, [shown(photo), shown(report)]]
    assert timeline[-1]["changes"] == {
        "files": [[shown(photo), shown(report)], [shown(report)]],
        "docs": [None, [shown(photo)]],
    }

    found = await client.get(cases.url("case"), params={"q": "report"}, headers=user.headers)
    assert [r["id"] for r in found.json()["items"]] == [record["id"]]
    with_files = await client.post(
        f"{cases.url('case')}/query",
        json={
            "filter": {"and": [{"!!": {"var": "docs"}}, {"==": [{"length": {"var": "files"}}, 1]}]}
        },
        headers=user.headers,
    )
    assert [r["id"] for r in with_files.json()["items"]] == [record["id"]]


@pytest.mark.parametrize(
    ("name", "content", "content_type", "code", "message"),
    [
        ("big.png", PNG * 20, "image/png", "file_too_large", "big.png is larger than 1000 bytes."),
        (
            "setup.exe",
            b"MZ",
            "image/png",
            "file_type_refused",
            "setup.exe: files of type image/png are not accepted here.",
        ),
        (
            "notes.txt",
            b"hi",
            "text/plain",
            "file_type_refused",
            "notes.txt: files of type text/plain are not accepted here.",
        ),
    ],
)
async def test_limits_are_checked(
    client, user, cases, sessions, name, content, content_type, code, message
):
    file = await upload(client, user, name, content, content_type)
    response = await client.post(
        cases.url("case"), json={"values": {"files": [file["id"]]}}, headers=user.headers
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "files", "code": code, "message": message}]
    assert await held_rows(sessions) == []


async def test_bad_references_are_refused_per_field_and_nothing_is_written(
    client, user, admin, cases, sessions
):
    mine = [
        await upload(client, user, f"p{i}.png", PNG + bytes([i]), "image/png") for i in range(3)
    ]
    theirs = await upload(client, admin, "secret.pdf", b"%PDF secret", "application/pdf")
    cases_of = {
        "too many": ([m["id"] for m in mine], "files", "too_many_files"),
        "twice": ([mine[0]["id"], mine[0]["id"]], "files", "duplicate_reference"),
        "unknown": ([mine[0]["id"], 987654], "files[1]", "unknown_reference"),
        "someone else's": ([theirs["id"]], "files[0]", "unknown_reference"),
        "not an id": (["x"], "files[0]", "invalid_attachment"),
        "not a list": ("x", "files", "wrong_type"),
    }
    for label, (value, field, code) in cases_of.items():
        response = await client.post(
            cases.url("case"), json={"values": {"files": value}}, headers=user.headers
        )
        assert response.status_code == 422, label
        assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [(field, code)], (
            label
        )
    zh = await client.post(
        cases.url("case"),
        json={"values": {"docs": [theirs["id"]]}},
        headers={**user.headers, "Accept-Language": "zh-CN"},
    )
    assert zh.json()["errors"][0]["message"] == f"引用的对象（id {theirs['id']}）不存在。"
    listed = await client.get(cases.url("case"), params={"total": "true"}, headers=user.headers)
    assert listed.json()["total"] == 0
    assert await held_rows(sessions) == []


async def test_downloads_follow_the_records_that_hold_the_file(
    client, user, admin, cases, sessions
):
    bob = await make_account(client, sessions, "bob", "Bob-pass-2026")
    photo = await upload(client, user, "photo.png", PNG, "image/png")
    content = f"/api/v1/files/{photo['id']}/content"
    assert (await client.get(content, headers=bob.headers)).status_code == 404

    made = await client.post(
        cases.url("case"), json={"values": {"files": [photo["id"]]}}, headers=user.headers
    )
    url = f"{cases.url('case')}/{made.json()['id']}"
    download = await client.get(content, headers=bob.headers)
    assert download.status_code == 200 and download.content == PNG
    assert (await client.get(f"/api/v1/files/{photo['id']}", headers=bob.headers)).json()[
        "filename"
    ] == "photo.png"

    # Bob may keep the file on this record (it holds it) but not put it on another one.
    kept = await client.patch(
        url,
        json={"row_version": 1, "values": {"subject": "bob was here", "docs": [photo["id"]]}},
        headers=bob.headers,
    )
    assert kept.status_code == 200, kept.text
    elsewhere = await client.post(
        cases.url("case"), json={"values": {"docs": [photo["id"]]}}, headers=bob.headers
    )
    assert elsewhere.json()["errors"][0]["code"] == "unknown_reference"

    deleted = await client.delete(url, headers=user.headers)
    assert deleted.status_code == 200
    assert (await client.get(content, headers=bob.headers)).status_code == 404
    assert (await client.get(content, headers=user.headers)).status_code == 200  # the uploader
    assert (await client.get(content, headers=admin.headers)).status_code == 200
    await client.post(f"{url}/restore", headers=user.headers)
    assert (await client.get(content, headers=bob.headers)).status_code == 200


async def test_downloads_go_through_the_read_scope(client, user, cases, sessions):
    await cases.own_records_only()
    bob = await make_account(client, sessions, "bob", "Bob-pass-2026")
    photo = await upload(client, user, "photo.png", PNG, "image/png")
    await client.post(
        cases.url("case"), json={"values": {"files": [photo["id"]]}}, headers=user.headers
    )
    assert (
        await client.get(f"/api/v1/files/{photo['id']}", headers=bob.headers)
    ).status_code == 404


async def test_comment_attachments_are_readable_by_record_readers(
    client, user, admin, cases, sessions
):
    bob = await make_account(client, sessions, "bob", "Bob-pass-2026")
    made = await client.post(cases.url("case"), json={"values": {}}, headers=user.headers)
    url = f"{cases.url('case')}/{made.json()['id']}"
    log = await upload(client, user, "log.txt", b"trace", "text/plain")
    theirs = await upload(client, admin, "admin.txt", b"admin only", "text/plain")
    refused = await client.post(
        f"{url}/comments", json={"body": "see", "attachments": [theirs["id"]]}, headers=user.headers
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "unknown_file"
    comment = await client.post(
        f"{url}/comments",
        json={"body": "see log", "attachments": [log["id"]]},
        headers=user.headers,
    )
    assert comment.status_code == 201, comment.text
    assert comment.json()["attachments"] == [log["id"]]
    assert (
        await client.get(f"/api/v1/files/{log['id']}/content", headers=bob.headers)
    ).content == (b"trace")
    # A file the record holds may be attached again by any reader, in a comment or a field.
    again = await client.post(
        f"{url}/comments", json={"body": "same", "attachments": [log["id"]]}, headers=bob.headers
    )
    assert again.status_code == 201, again.text
    assert [row[2] is not None for row in await held_rows(sessions)] == [True, True]


async def test_archived_field_keeps_its_files(client, user, cases, sessions):
    bob = await make_account(client, sessions, "bob", "Bob-pass-2026")
    photo = await upload(client, user, "photo.png", PNG, "image/png")
    made = await client.post(
        cases.url("case"), json={"values": {"files": [photo["id"]]}}, headers=user.headers
    )
    url = f"{cases.url('case')}/{made.json()['id']}"
    archived = await cases.change(case_forms(cases.ids, keep_files=False))
    assert archived.status_code == 200, archived.text
    assert "files" not in (await client.get(url, headers=user.headers)).json()["values"]
    content = f"/api/v1/files/{photo['id']}/content"
    assert (await client.get(content, headers=user.headers)).status_code == 200
    assert (await client.get(content, headers=bob.headers)).status_code == 404  # not shown
    restored = await cases.change(case_forms(cases.ids))
    assert restored.status_code == 200, restored.text
    assert (await client.get(url, headers=user.headers)).json()["values"]["files"] == [shown(photo)]
    assert (await client.get(content, headers=bob.headers)).status_code == 200

    await cases.change(case_forms(cases.ids, keep_files=False))
    purged = await cases.publish(purge=[{"form_id": cases.ids["case"], "field_id": 2}])
    assert purged.status_code == 200, purged.text
    assert await held_rows(sessions) == []
    assert (await client.get(content, headers=user.headers)).status_code == 200  # still stored


async def test_import_and_export(client, user, cases):
    photo = await upload(client, user, "photo, 1.png", PNG, "image/png")
    report = await upload(client, user, "report.pdf", b"%PDF", "application/pdf")
    source = csv_bytes([["subject", "files"], ["one", f"{photo['id']}; {report['id']}"]])
    sheet = await upload(client, user, "cases.csv", source, "text/csv")
    imported = await start_import(client, cases.url("case"), user, sheet["id"])
    assert imported.status_code == 200, imported.text
    exported = await client.get(
        f"{cases.url('case')}/export", params={"header": "key"}, headers=user.headers
    )
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert lines[1] == f'one,"photo, 1.png (#{photo["id"]}), report.pdf (#{report["id"]})",'
    again = await upload(client, user, "again.csv", exported.content, "text/csv")
    dry = await start_import(client, cases.url("case"), user, again["id"], dry_run=True)
    assert dry.json()["ok"] is True, dry.text

    bad = csv_bytes([["files", "subject"], ["photo.png", "x"], ["987654", "y"]])
    sheet = await upload(client, user, "bad.csv", bad, "text/csv")
    report_json = (await start_import(client, cases.url("case"), user, sheet["id"])).json()
    assert [(e["row"], e["code"]) for e in report_json["errors"]] == [
        (2, "invalid_attachment"),
        (3, "unknown_reference"),
    ]


async def test_attachments_are_not_allowed_in_sub_tables(client, admin, cases):
    draft = await cases.draft()
    form = draft["definition"]["forms"][0]
    form["fields"].append(
        {
            "id": 4,
            "key": "lines",
            "type": "subtable",
            "label": {"en": "Lines"},
            "options": {
                "fields": [{"id": 1, "key": "scan", "type": "attachments", "label": {"en": "S"}}]
            },
        }
    )
    await cases.save(draft, draft["definition"]["forms"])
    report = (await client.post(f"{cases.base}/draft/validate", headers=admin.headers)).json()
    assert {(p["code"]) for p in report["problems"]} == {"not_in_subtable"}


async def test_the_same_bytes_share_one_blob(client, user, admin, settings, sessions):
    first = await upload(client, user, "a.png", PNG, "image/png")
    second = await upload(client, admin, "b.png", PNG, "image/png")
    assert first["sha256"] == second["sha256"] and first["id"] != second["id"]
    blobs = [p for p in settings.storage_dir.rglob("*") if p.is_file()]
    assert [p.name for p in blobs] == [first["sha256"]]
    assert blobs[0].relative_to(settings.storage_dir).parts[:2] == (
        first["sha256"][:2],
        first["sha256"][2:4],
    )
    async with sessions() as db:
        keys = (await db.execute(select(StoredFile.key).order_by(StoredFile.id))).scalars().all()
        assert keys == [first["sha256"]] * 2
        assert await db.scalar(select(func.count()).select_from(StoredFile)) == 2
    for account, file in ((user, first), (admin, second)):
        got = await client.get(f"/api/v1/files/{file['id']}/content", headers=account.headers)
        assert got.content == PNG and file["filename"] in got.headers["content-disposition"]
