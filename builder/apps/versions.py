"""Reading versions of an app and comparing any two of them (or one with the draft)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition, load
from builder.apps.models import AppVersion
from builder.apps.parts import diff_definitions
from builder.apps.service import DRAFT_NUMBER, get_app, get_draft
from runtime.errors import ProblemError

DRAFT = "draft"


def version_number(ref: str) -> int:
    """``"draft"`` or ``"0"`` is the draft (0); otherwise the version's number."""
    return DRAFT_NUMBER if ref == DRAFT else int(ref)


async def get_version(db: AsyncSession, app_id: int, number: int) -> AppVersion:
    """Version ``number`` of the app (0: its draft); 404 when there is none."""
    if number == DRAFT_NUMBER:
        return await get_draft(db, app_id)
    await get_app(db, app_id)
    found = (
        await db.execute(
            select(AppVersion).where(AppVersion.app_id == app_id, AppVersion.number == number)
        )
    ).scalar_one_or_none()
    if found is None:
        raise ProblemError("not_found", detail=f"version {number}")
    return found


def _side(version: AppVersion) -> dict[str, Any]:
    return {"number": version.number, "status": version.status, "id": version.id}


async def diff_versions(db: AsyncSession, app_id: int, base: int, target: int) -> dict[str, Any]:
    """What changed from version ``base`` to version ``target`` (0: the draft), part by part."""
    before = await get_version(db, app_id, base)
    after = await get_version(db, app_id, target)
    old: AppDefinition = load(before.definition)
    new: AppDefinition = load(after.definition)
    return {"base": _side(before), "target": _side(after), **diff_definitions(old, new)}
