"""Local file storage: bytes under the storage directory, named by a random key."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from starlette.datastructures import UploadFile

CHUNK = 1024 * 1024


class FileTooLarge(Exception):
    pass


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, key: str) -> Path:
        if not key.isalnum():
            raise ValueError("bad storage key")
        return self.root / key[:2] / key

    async def save(self, upload: UploadFile, max_bytes: int) -> tuple[str, int, str]:
        """Stream an upload to disk; returns (key, size, sha256). Nothing is left on failure."""
        key = secrets.token_hex(16)
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with partial.open("wb") as out:
                while chunk := await upload.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge
                    digest.update(chunk)
                    out.write(chunk)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return key, size, digest.hexdigest()

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)
