"""Local file storage, content-addressed: each distinct content is stored once, by its SHA-256.

A blob lives at ``<root>/ab/cd/<sha256>`` (the first two pairs of hex digits fan the files out
over directories). Uploading bytes that are already stored adds a metadata row (``files``)
and no new blob; a blob may be deleted only when no metadata row names it
(:func:`runtime.files.service.release`). Files stored before content addressing keep their
random 32-character keys and paths (``<root>/ab/<key>``).

An upload is streamed into a staging file while it is hashed (:meth:`LocalStorage.stage`), then
published under its hash (:meth:`LocalStorage.publish`) by a hard link, so the staging file
stays until the metadata row is committed: publishing again after the commit repairs a blob
that a concurrent release removed in between. Staging files are always removed
(:meth:`LocalStorage.discard`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import UploadFile

CHUNK = 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_LEGACY = re.compile(r"^[0-9a-f]{32}$")


class FileTooLarge(Exception):
    pass


@dataclass(frozen=True)
class Staged:
    """An upload written to a staging file: its size and SHA-256 (hex, also its key)."""

    path: Path
    size: int
    sha256: str

    @property
    def key(self) -> str:
        return self.sha256


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, key: str) -> Path:
        """Where the blob of a storage key is (content hash, or a legacy random key)."""
        if _SHA256.match(key):
            return self.root / key[:2] / key[2:4] / key
        if _LEGACY.match(key):
            return self.root / key[:2] / key
        raise ValueError("bad storage key")

    async def stage(self, upload: UploadFile, max_bytes: int) -> Staged:
        """Stream an upload to a staging file, hashing it; nothing is left on failure."""
        staging = self.root / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        path = staging / f"{secrets.token_hex(16)}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("wb") as out:
                while chunk := await upload.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Staged(path, size, digest.hexdigest())

    def stage_bytes(self, data: bytes) -> Staged:
        """Write bytes that are already in memory (a mail's attachment) to a staging file."""
        staging = self.root / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        path = staging / f"{secrets.token_hex(16)}.part"
        try:
            path.write_bytes(data)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Staged(path, len(data), hashlib.sha256(data).hexdigest())

    def publish(self, staged: Staged) -> bool:
        """Make the staged content the blob of its hash; True if the blob was not there yet."""
        target = self.path_for(staged.key)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(staged.path, target)
        except FileExistsError:
            return False  # a concurrent upload of the same bytes published it
        except OSError:  # no hard links here: copy, then move into place atomically
            partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")
            try:
                shutil.copyfile(staged.path, partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
        return True

    def discard(self, staged: Staged) -> None:
        staged.path.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def delete(self, key: str) -> None:
        """Remove a blob (callers check first that no metadata row names it)."""
        self.path_for(key).unlink(missing_ok=True)


_active: LocalStorage | None = None


def use_storage(storage: LocalStorage) -> None:
    """Make ``storage`` the one code without a request or job context stores into (the
    channels' intake): the running app's (``runtime.app.create_app``)."""
    global _active
    _active = storage


def active_storage() -> LocalStorage:
    """The running app's file store, else the configured one."""
    if _active is not None:
        return _active
    from runtime.config import get_settings

    return LocalStorage(get_settings().storage_dir)
