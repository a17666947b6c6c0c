"""The ``webhook`` channel kind: its settings (target form, field mapping, secret, idempotency
header) and the mapping of a JSON body onto the form's fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from runtime.auth.schemas import StrictModel
from runtime.channels.registry import ChannelKind
from runtime.errors import FieldError, ProblemError
from runtime.i18n import current_locale

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from runtime.channels.models import Channel

#: The largest body a hook takes by default (its ``max_body_bytes`` may lower or raise it).
DEFAULT_MAX_BODY = 256 * 1024
HARD_MAX_BODY = 5 * 1024 * 1024
_MISSING = object()


class FieldMap(StrictModel):
    """Where a form field's value comes from: a JSON pointer (RFC 6901) into the body, and a
    constant used when the pointer is absent or finds nothing."""

    pointer: str | None = Field(default=None, max_length=500)
    default: Any = None

    @field_validator("pointer")
    @classmethod
    def _pointer(cls, value: str | None) -> str | None:
        if value is not None and value != "" and not value.startswith("/"):
            raise ValueError("a JSON pointer is empty or starts with '/'")
        return value


class WebhookSettings(StrictModel):
    #: The key of the form the records are created in.
    form: str = Field(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")
    #: Form field key → where its value comes from.
    fields: dict[str, FieldMap] = Field(min_length=1, max_length=200)
    #: The HMAC-SHA256 signing secret the sender shares (sealed at rest, never shown).
    secret: str = Field(min_length=16, max_length=200)
    #: A request header carrying the sender's delivery id (a repeat is answered with the
    #: first result and writes nothing); None: every delivery is new.
    idempotency_header: str | None = Field(
        default=None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9-]+$"
    )
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY, ge=1, le=HARD_MAX_BODY)


def _message(en: str, zh: str) -> str:
    return zh if current_locale.get() == "zh-CN" else en


class WebhookKind(ChannelKind):
    type = "webhook"
    label = ("Inbound webhook", "入站 Webhook")
    settings_model = WebhookSettings
    secret_fields = ("secret",)

    async def reprocess(self, db: AsyncSession, channel: Channel, logged: Any) -> Any:
        from runtime.channels.webhook import intake

        return await intake.reprocess(db, channel, logged)

    async def saved(self, db: AsyncSession, channel: Channel) -> None:
        """The target form and the mapped fields exist in the app's published version."""
        from sqlalchemy import select

        from builder.apps.models import App
        from runtime.records.forms import resolve_app

        app_key = (await db.execute(select(App.key).where(App.id == channel.app_id))).scalar()
        try:
            app = await resolve_app(db, str(app_key))
        except ProblemError:
            return  # not published yet: checked again on every delivery
        handle = app.handles.get(channel.settings.get("form", ""))
        if handle is None:
            raise ProblemError(
                "validation_failed",
                errors=[
                    FieldError(
                        "settings.form",
                        "unknown_form",
                        _message("The app has no such form.", "此应用没有该表单。"),
                    )
                ],
            )
        known = {f.key for f in handle.form.fields}
        errors = [
            FieldError(
                f"settings.fields.{key}",
                "unknown_field",
                _message("The form has no such field.", "表单没有该字段。"),
            )
            for key in channel.settings.get("fields", {})
            if key not in known
        ]
        if errors:
            raise ProblemError("validation_failed", errors=errors)


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value ``pointer`` (RFC 6901) finds in ``document``, or ``_MISSING``."""
    if pointer == "":
        return document
    current = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict):
            if token not in current:
                return _MISSING
            current = current[token]
        elif isinstance(current, list):
            if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
                return _MISSING
            index = int(token)
            if index >= len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def map_values(settings: WebhookSettings, body: Any) -> tuple[dict[str, Any], list[FieldError]]:
    """The form values the body gives (pointer, else the constant); a field whose pointer
    finds nothing and that has no constant is an error."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, spec in settings.fields.items():
        found = _MISSING if spec.pointer is None else resolve_pointer(body, spec.pointer)
        if found is _MISSING or found is None:
            if spec.default is not None:
                values[key] = spec.default
            elif spec.pointer is not None:
                errors.append(
                    FieldError(
                        key,
                        "pointer_not_found",
                        _message(
                            f"The body has nothing at {spec.pointer}.",
                            f"请求体在 {spec.pointer} 处没有值。",
                        ),
                    )
                )
            continue
        values[key] = found
    return values, errors
