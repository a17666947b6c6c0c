"""POST /api/v1/hooks/{app_key}/{channel_key}: the public endpoint of an inbound webhook.

No session or token: the request is authenticated by its HMAC-SHA256 signature alone
(``X-Tangram-Signature`` over ``"<X-Tangram-Timestamp>.<body>"``, 5-minute window)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from runtime.channels.webhook import intake
from runtime.deps import SessionDep

router = APIRouter(prefix="/api/v1/hooks", tags=["channels"])
Key = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]


class HookResult(BaseModel):
    record_id: int
    message_id: int
    #: True: a repeat of a delivery taken in before (nothing was written).
    duplicate: bool


@router.post(
    "/{app_key}/{channel_key}",
    response_model=HookResult,
    status_code=201,
    responses={200: {"description": "A repeated delivery: the first result"}},
)
async def receive(app_key: Key, channel_key: Key, request: Request, db: SessionDep):
    channel = await intake.find_channel(db, app_key, channel_key)
    raw = await request.body()
    taken = await intake.take(db, channel, request.headers, raw)
    result = HookResult(
        record_id=taken.record_id, message_id=taken.message_id, duplicate=taken.duplicate
    )
    return JSONResponse(result.model_dump(), status_code=200 if taken.duplicate else 201)
