"""The demo accounts the sign-in page offers: one per role of a template's demo data
(``show_on_sign_in`` in ``demo/users.json``), while the app they came with exists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.auth.models import User
from runtime.i18n import current_locale
from templates.models import DemoAccount

if TYPE_CHECKING:
    from templates.layout import Template


@dataclass(frozen=True)
class Shown:
    role: str
    username: str
    password: str


async def record(
    db: AsyncSession, app_id: int, template: Template, ids: dict[str, int], signs_in: set[str]
) -> None:
    """Keep the demo users marked ``show_on_sign_in`` whose demo password works (with their
    first role's labels)."""
    roles = {role.key: role for role in template.definition.roles}
    for position, demo in enumerate(u for u in template.users if u.show_on_sign_in):
        if demo.username.strip().lower() not in signs_in:
            continue
        key = demo.roles[0] if demo.roles else ""
        label: dict[str, Any] = dict(roles[key].name) if key in roles else {}
        db.add(
            DemoAccount(
                app_id=app_id,
                user_id=ids[demo.username.strip().lower()],
                role_key=key,
                role_label=label,
                password=demo.password,
                position=position,
            )
        )
    await db.flush()


def _label(labels: dict[str, Any], fallback: str, locale: str) -> str:
    return str(labels.get(locale) or labels.get("en") or next(iter(labels.values()), fallback))


async def shown(db: AsyncSession, locale: str | None = None) -> list[Shown]:
    """The accounts to offer: of live apps, active users, in the template's order."""
    locale = locale or current_locale.get()
    rows = await db.execute(
        select(DemoAccount, User.username)
        .join(App, App.id == DemoAccount.app_id)
        .join(User, User.id == DemoAccount.user_id)
        .where(App.deleted_at.is_(None), User.is_active.is_(True))
        .order_by(DemoAccount.app_id, DemoAccount.position, DemoAccount.id)
    )
    return [
        Shown(_label(account.role_label, account.role_key, locale), username, account.password)
        for account, username in rows
    ]
