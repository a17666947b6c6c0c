"""The public pages (no sign-in): ``/p/{slug}`` — the form, with its challenge and a honeypot —
and ``/p/{slug}/t/{token}`` — the submission's tracking page. In the visitor's language
(``?lang=`` or Accept-Language); built for phones as well as desktops.

The form's fields are rendered by the record form's view-model (``runtime.web.record_form``)
with the link's fields as the only editable ones; posting checks the rate limit, the honeypot
and the challenge, then writes through :func:`runtime.publicforms.service.submit`.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from runtime.auth.principal import Principal
from runtime.deps import SessionDep
from runtime.errors import ProblemError, field_errors_from_pydantic
from runtime.i18n import LOCALES, current_locale
from runtime.publicforms import challenge, limits, service
from runtime.publicforms.routes import accept, secret, success_text
from runtime.publicforms.schemas import Contact
from runtime.web.deps import page_time_zone
from runtime.web.forms import FormErrors
from runtime.web.record_form import FormView
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)
HONEYPOT = "website"


def _language(request: Request) -> str:
    """``?lang=`` overrides Accept-Language; the links keep it."""
    lang = request.query_params.get("lang")
    if lang in LOCALES:
        current_locale.set(lang)
        return f"?{urlencode({'lang': lang})}"
    return ""


async def _view(
    db: Any, request: Request, pub: service.Published, values: dict[str, Any] | None = None
) -> FormView:
    shown = set(pub.shown)
    overrides = {
        spec.key: ("editable" if spec.key in shown else "hidden") for spec in pub.handle.form.fields
    }
    view = await FormView.build(
        db,
        pub.handle,
        cast(Principal, None),  # the public: no user, nothing but the link's fields
        overrides=overrides,
        values=values,
        time_zone=page_time_zone(request),
    )
    for key in shown:  # the form's own requirements hold (the writer checks them again)
        if key in view.fields and pub.handle.spec(key).required:
            view.fields[key].required = True
    view.fields = {k: view.fields[k] for k in pub.shown if k in view.fields}
    for section in view.sections:
        section.fields = [f for f in section.fields if f.key in view.fields]
    view.sections = [s for s in view.sections if s.fields]
    return view


def _page(
    request: Request,
    pub: service.Published,
    view: FormView,
    *,
    lang: str,
    errors: FormErrors | None = None,
    contact: Contact | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    made = challenge.make(secret(request), pub.row.id)
    errors = errors or FormErrors()
    own = {"contact.name", "contact.email", "contact.phone", "challenge_answer"}
    placed = {f.name for f in view.all_fields() if not f.hidden}
    unplaced = [m for name, ms in errors.fields.items() if name not in own | placed for m in ms]
    return render(
        request,
        "pages/public_form.html",
        status_code=status_code,
        headers={"Cache-Control": "no-store", **(headers or {})},
        pub=pub,
        view=view,
        errors=errors,
        unplaced=unplaced,
        contact=contact or Contact(),
        contact_fields=service.contact_fields(pub),
        challenge=made,
        action_url=f"/p/{pub.row.slug}{lang}",
        lang_query=lang,
    )


def _text(value: Any) -> str | None:
    return (value if isinstance(value, str) else "").strip()[:500] or None


@router.get("/p/{slug}", response_class=HTMLResponse)
async def public_form(slug: str, request: Request, db: SessionDep) -> Response:
    lang = _language(request)
    try:
        pub = await service.load(db, slug)
    except ProblemError as exc:
        return _missing(request, exc)
    return _page(request, pub, await _view(db, request, pub), lang=lang)


def _missing(request: Request, exc: ProblemError) -> HTMLResponse:
    return render(
        request,
        "pages/public_missing.html",
        status_code=exc.status,
        errors=FormErrors.from_problem(exc),
    )


@router.post("/p/{slug}", response_class=HTMLResponse)
async def post_public_form(slug: str, request: Request, db: SessionDep) -> Response:
    lang = _language(request)
    try:
        pub = await service.load(db, slug)
    except ProblemError as exc:
        return _missing(request, exc)
    view = await _view(db, request, pub)
    contact = Contact()
    values: dict[str, Any] = {}
    raw: dict[str, str | None] = {}
    try:
        await limits.check(request, pub.row)
        form = await request.form()
        values = view.parse(form)
        raw = {k: _text(form.get(f"contact.{k}")) for k in ("name", "email", "phone")}
        try:
            contact = Contact.model_validate(
                {k: v for k, v in raw.items() if k in service.contact_fields(pub)}
            )
        except ValidationError as exc:
            problems = field_errors_from_pydantic(exc.errors())
            for problem in problems:
                problem.field = f"contact.{problem.field}"
            raise ProblemError("validation_failed", errors=problems) from None
        submitted = await accept(
            request,
            db,
            pub,
            values=values,
            contact=contact,
            token=str(form.get("challenge_token") or ""),
            answer=str(form.get("challenge_answer") or ""),
            honeypot=str(form.get(HONEYPOT) or "") or None,
        )
    except ProblemError as exc:
        await db.rollback()  # nothing of it is kept; the rows read before are expired
        pub = await service.load(db, slug)
        errors = FormErrors.from_problem(exc)
        if exc.code in ("public_form_challenge", "public_form_challenge_used"):
            errors.add("challenge_answer", errors.form or "")
        shown = await _view(db, request, pub, values=values)
        contact = Contact.model_construct(  # as typed, to correct
            name=raw.get("name"), email=raw.get("email"), phone=raw.get("phone")
        )
        return _page(
            request,
            pub,
            shown,
            lang=lang,
            errors=errors,
            contact=contact,
            status_code=exc.status,
            headers=exc.headers,
        )
    sep = "&" if lang else "?"
    target = f"/p/{slug}/t/{submitted.token}{lang}{sep}new=1"
    return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


@router.get("/p/{slug}/t/{token}", response_class=HTMLResponse)
async def tracking_page(slug: str, token: str, request: Request, db: SessionDep) -> Response:
    lang = _language(request)
    try:
        seen = await service.tracking(db, slug, token)
    except ProblemError as exc:
        return _missing(request, exc)
    pub: service.Published = seen["pub"]
    view = await _view(db, request, pub, values=seen["values"])
    for f in view.fields.values():
        f.readonly = True  # shown as values
    return render(
        request,
        "pages/public_tracking.html",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        pub=pub,
        seen=seen,
        view=view,
        fresh=request.query_params.get("new") == "1",
        success=pub.text("success") or success_text(),
        form_url=f"/p/{slug}{lang}",
    )
