"""Stored files: saving an upload (one blob per content) and releasing blobs no file uses."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.files.models import StoredFile
from runtime.files.storage import LocalStorage


async def in_use(db: AsyncSession, key: str) -> bool:
    """Does any file's metadata name the blob ``key``?"""
    return bool(await db.scalar(select(exists().where(StoredFile.key == key))))


async def release(db: AsyncSession, storage: LocalStorage, key: str) -> bool:
    """Delete the blob ``key`` unless a file still uses it (call it after the metadata row
    is gone, e.g. deleted or never committed); True if the blob was deleted."""
    if await in_use(db, key):
        return False
    storage.delete(key)
    return True
