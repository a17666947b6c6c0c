"""Content-addressed storage: one blob per content, shared by files, released when unused."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from starlette.datastructures import UploadFile

from runtime.files import service
from runtime.files.models import StoredFile
from runtime.files.storage import FileTooLarge, LocalStorage


def upload_of(content: bytes) -> UploadFile:
    return UploadFile(io.BytesIO(content), filename="x.bin")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_same_content_is_one_blob(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    content = b"tangram" * 1000
    sha = hashlib.sha256(content).hexdigest()
    first = await storage.stage(upload_of(content), 10**6)
    second = await storage.stage(upload_of(content), 10**6)
    assert (first.key, first.size) == (sha, len(content)) and second.key == sha
    assert storage.publish(first) is True
    assert storage.publish(second) is False  # already there
    for staged in (first, second):
        storage.discard(staged)
    assert files_under(tmp_path) == [tmp_path / sha[:2] / sha[2:4] / sha]
    assert storage.path_for(sha).read_bytes() == content


async def test_publishing_again_repairs_a_released_blob(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    staged = await storage.stage(upload_of(b"abc"), 100)
    storage.publish(staged)
    storage.delete(staged.key)  # e.g. a failed upload of the same bytes released it
    assert storage.publish(staged) is True
    storage.discard(staged)
    assert storage.path_for(staged.key).read_bytes() == b"abc"


async def test_too_large_leaves_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(FileTooLarge):
        await storage.stage(upload_of(b"x" * 5000), 1000)
    assert files_under(tmp_path) == []


def test_storage_keys() -> None:
    storage = LocalStorage(Path("/srv/files"))
    legacy = "0123456789abcdef0123456789abcdef"
    assert storage.path_for(legacy) == Path("/srv/files/01") / legacy  # stored before hashing
    for bad in ("../etc/passwd", "ABC", "0" * 63, ""):
        with pytest.raises(ValueError):
            storage.path_for(bad)


async def test_release_keeps_a_blob_another_file_uses(client, user, admin, sessions, settings):
    content = b"shared bytes"
    ids = []
    for account in (user, admin):
        response = await client.post(
            "/api/v1/files",
            files={"file": ("same.txt", content, "text/plain")},
            headers=account.headers,
        )
        ids.append(response.json()["id"])
    storage = LocalStorage(settings.storage_dir)
    key = hashlib.sha256(content).hexdigest()
    async with sessions() as db:
        await db.execute(delete(StoredFile).where(StoredFile.id == ids[0]))
        await db.commit()
        assert await service.release(db, storage, key) is False
        assert storage.exists(key)
        other = await client.get(f"/api/v1/files/{ids[1]}/content", headers=admin.headers)
        assert other.content == content
        await db.execute(delete(StoredFile).where(StoredFile.id == ids[1]))
        await db.commit()
        assert await service.release(db, storage, key) is True
        assert not storage.exists(key)
        assert (await db.execute(select(StoredFile))).first() is None
