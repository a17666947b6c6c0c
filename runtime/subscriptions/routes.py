"""/api/v1/apps/{app_id}/webhook-subscriptions: an app's outbound webhooks and their delivery
log, for its designers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from builder.apps.designers import Designer
from runtime.deps import MAX_ID, IdPath, SessionDep, SettingsDep
from runtime.net.models import WebhookDelivery
from runtime.net.routes import Outcome
from runtime.net.schemas import DeliveryOut, DeliveryPage
from runtime.subscriptions import delivery, service
from runtime.subscriptions.models import SOURCE_KIND, WebhookSubscription
from runtime.subscriptions.schemas import (
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionPatch,
)

router = APIRouter(prefix="/api/v1/apps/{app_id}/webhook-subscriptions", tags=["webhooks"])


@router.get("", response_model=SubscriptionList)
async def list_subscriptions(
    app_id: IdPath, designer: Designer, db: SessionDep
) -> SubscriptionList:
    rows = await service.list_subscriptions(db, app_id)
    return SubscriptionList(items=[service.out(s) for s in rows])


@router.post("", response_model=SubscriptionOut, status_code=status.HTTP_201_CREATED)
async def create_subscription(
    app_id: IdPath, body: SubscriptionIn, designer: Designer, db: SessionDep
) -> SubscriptionOut:
    """A generated secret (none given) is in this answer only."""
    subscription, generated = await service.create_subscription(db, designer, app_id, body)
    await db.commit()
    return service.out(subscription, generated)


# Before "/{subscription_id}" so that "deliveries" is not taken for an id.
@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    app_id: IdPath,
    designer: Designer,
    db: SessionDep,
    subscription: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    outcome: Outcome | None = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Every attempt of the app's subscriptions (or one's), newest first; ``before``: the
    ``next_cursor`` of the previous page."""
    return await deliveries_page(db, app_id, subscription, outcome, before, limit)


async def deliveries_page(
    db: SessionDep,
    app_id: int,
    subscription: int | None,
    outcome: str | None,
    before: int | None,
    limit: int,
) -> DeliveryPage:
    ids = select(WebhookSubscription.id).where(WebhookSubscription.app_id == app_id)
    if subscription is not None:
        ids = ids.where(WebhookSubscription.id == subscription)
    query = select(WebhookDelivery).where(
        WebhookDelivery.source_kind == SOURCE_KIND, WebhookDelivery.source_id.in_(ids)
    )
    if outcome is not None:
        query = query.where(WebhookDelivery.outcome == outcome)
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    rows = list(
        (await db.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1))).scalars()
    )
    items = [DeliveryOut.model_validate(r) for r in rows[:limit]]
    return DeliveryPage(items=items, next_cursor=str(items[-1].id) if len(rows) > limit else None)


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
async def replay(
    app_id: IdPath,
    delivery_id: IdPath,
    designer: Designer,
    db: SessionDep,
    settings: SettingsDep,
) -> DeliveryOut:
    """Send the delivery again now (same body and idempotency key); the answer is the new
    attempt's log row, whatever its outcome."""
    row = await delivery.replay(db, settings, app_id, delivery_id)
    await db.commit()
    return DeliveryOut.model_validate(row)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(
    app_id: IdPath, subscription_id: IdPath, designer: Designer, db: SessionDep
) -> SubscriptionOut:
    return service.out(await service.get_subscription(db, app_id, subscription_id))


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
async def update_subscription(
    app_id: IdPath,
    subscription_id: IdPath,
    body: SubscriptionPatch,
    designer: Designer,
    db: SessionDep,
) -> SubscriptionOut:
    subscription = await service.update_subscription(db, designer, app_id, subscription_id, body)
    await db.commit()
    return service.out(subscription)


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    app_id: IdPath, subscription_id: IdPath, designer: Designer, db: SessionDep
) -> Response:
    await service.delete_subscription(db, designer, app_id, subscription_id)
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
