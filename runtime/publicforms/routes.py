"""/api/v1/apps/{app_id}/public-forms: an app's public links, for its designers;
/api/v1/public/forms/{slug}: the public side (no sign-in) — the form with a challenge, and
submitting it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from builder.apps.designers import Designer
from engines.form.registry import FIELD_TYPES
from runtime.deps import IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.i18n import pick
from runtime.publicforms import challenge, limits, service
from runtime.publicforms.schemas import (
    ChallengeOut,
    FieldOut,
    PublicFormIn,
    PublicFormList,
    PublicFormOut,
    PublicFormPatch,
    PublicFormView,
    SubmissionIn,
    SubmissionOut,
    TrackingOut,
)
from runtime.records.writer import commit_and_dispatch

router = APIRouter(prefix="/api/v1/apps/{app_id}/public-forms", tags=["public forms"])
public_router = APIRouter(prefix="/api/v1/public/forms", tags=["public forms"])


@router.get("", response_model=PublicFormList)
async def list_public_forms(app_id: IdPath, designer: Designer, db: SessionDep) -> PublicFormList:
    published = await service.published_of(db, app_id)
    return PublicFormList(
        items=[service.out(row, published) for row in await service.list_forms(db, app_id)]
    )


@router.post("", response_model=PublicFormOut, status_code=status.HTTP_201_CREATED)
async def create_public_form(
    app_id: IdPath, body: PublicFormIn, designer: Designer, db: SessionDep
) -> PublicFormOut:
    row = await service.create_form(db, designer, app_id, body)
    result = service.out(row, await service.published_of(db, app_id))
    await db.commit()
    return result


@router.get("/{public_form_id}", response_model=PublicFormOut)
async def get_public_form(
    app_id: IdPath, public_form_id: IdPath, designer: Designer, db: SessionDep
) -> PublicFormOut:
    row = await service.get_form(db, app_id, public_form_id)
    return service.out(row, await service.published_of(db, app_id))


@router.patch("/{public_form_id}", response_model=PublicFormOut)
async def update_public_form(
    app_id: IdPath,
    public_form_id: IdPath,
    body: PublicFormPatch,
    designer: Designer,
    db: SessionDep,
) -> PublicFormOut:
    row = await service.update_form(db, designer, app_id, public_form_id, body)
    result = service.out(row, await service.published_of(db, app_id))
    await db.commit()
    return result


@router.delete("/{public_form_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_public_form(
    app_id: IdPath, public_form_id: IdPath, designer: Designer, db: SessionDep
) -> Response:
    await service.delete_form(db, designer, app_id, public_form_id)
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{public_form_id}/tracking/{record_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_tracking(
    app_id: IdPath, public_form_id: IdPath, record_id: IdPath, designer: Designer, db: SessionDep
) -> Response:
    """Revoke the tracking links of the submissions that made record ``record_id``."""
    if await service.revoke(db, designer, app_id, public_form_id, record_id) == 0:
        raise ProblemError("tracking_not_found")
    await db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- public ---------------------------------------------------------------------------------------


def field_outs(pub: service.Published) -> list[FieldOut]:
    items = []
    for key in pub.shown:
        spec = pub.handle.spec(key)
        options = getattr(FIELD_TYPES.get(spec.type).settings(spec), "options", None) or []
        items.append(
            FieldOut(
                key=key,
                type=spec.type,
                label=spec.label,
                required=spec.required,
                options=[{"value": o.value, "label": o.label or {}} for o in options],
            )
        )
    return items


def secret(request: Request) -> str:
    return str(request.app.state.settings.resolved_secret())


@public_router.get("/{slug}", response_model=PublicFormView)
async def describe(slug: str, request: Request, db: SessionDep) -> PublicFormView:
    """The form's fields and a fresh challenge to answer with the submission."""
    pub = await service.load(db, slug)
    made = challenge.make(secret(request), pub.row.id)
    return PublicFormView(
        slug=pub.row.slug,
        title=pub.title(),
        intro=pub.text("intro"),
        fields=field_outs(pub),
        contact=service.contact_fields(pub),
        challenge=ChallengeOut(question=made.question, token=made.token),
    )


async def accept(
    request: Request,
    db: Any,
    pub: service.Published,
    *,
    values: dict[str, Any],
    contact: Any,
    token: str,
    answer: str,
    honeypot: str | None,
) -> service.Submitted:
    """Checks shared by the page and the API, then the write (committed here)."""
    if honeypot:
        raise ProblemError("public_form_spam")
    verdict = challenge.check(secret(request), pub.row.id, token, answer)
    if not verdict.ok:
        raise ProblemError("public_form_challenge")
    submitted = await service.submit(
        db, pub, values, contact, nonce=verdict.nonce, base_url=str(request.base_url)
    )
    await commit_and_dispatch(db)
    return submitted


@public_router.post("/{slug}", response_model=SubmissionOut, status_code=status.HTTP_201_CREATED)
async def submit(slug: str, body: SubmissionIn, request: Request, db: SessionDep) -> SubmissionOut:
    pub = await service.load(db, slug)
    await limits.check(request, pub.row)
    submitted = await accept(
        request,
        db,
        pub,
        values=body.values,
        contact=body.contact,
        token=body.challenge.token,
        answer=body.challenge.answer,
        honeypot=body.website,
    )
    number = None
    if pub.intake is not None and pub.intake.ticket.number:
        seen = await service.tracking(db, slug, submitted.token)
        number = seen["number"]
    return SubmissionOut(
        record_id=submitted.record_id,
        token=submitted.token,
        tracking_url=f"{str(request.base_url).rstrip('/')}/p/{slug}/t/{submitted.token}",
        message=pub.text("success") or success_text(),
        ticket_number=number,
    )


def success_text() -> str:
    return pick({"en": "Thank you, we received it.", "zh-CN": "感谢您的提交，我们已收到。"})


@public_router.get("/{slug}/tracking/{token}", response_model=TrackingOut)
async def track(slug: str, token: str, db: SessionDep) -> TrackingOut:
    seen = await service.tracking(db, slug, token)
    return TrackingOut(
        title=seen["pub"].title(),
        record_id=seen["record_id"],
        created_at=seen["created_at"],
        status=seen["status"],
        number=seen["number"],
        values=seen["values"],
        replies=seen["replies"],
    )
