""" "View as user": what one user could see and do in the published app.

It asks the runtime's own rights functions (``runtime.permissions.access``, the dashboards'
``visible_dashboards``, the flows API's start rule) for that user, as the user — with their
roles, groups and departments as the organisation has them now — so the preview shows what
the records API, dashboards and inbox would actually allow, not a second reading of the grants.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps import service
from builder.apps.permissions import Grant
from builder.apps.wording import listing, name, say
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.permissions import load_membership
from runtime.permissions.access import Access, access, grantee_matches
from runtime.records.forms import PublishedApp, resolve_app
from runtime.reports.service import visible_dashboards

#: The record actions shown per form (``design`` is the app's, not a form's).
ACTIONS = ("read", "create", "update", "delete", "export", "import")
#: The actions whose rows are limited by a scope.
SCOPED = ("read", "update", "delete", "export")

_SCOPES: dict[str, tuple[str, str]] = {
    "all": ("all records", "全部记录"),
    "own": ("records they own", "本人负责的记录"),
    "department": ("records of their departments", "本部门的记录"),
    "department_tree": (
        "records of their departments and the departments below",
        "本部门及下级部门的记录",
    ),
    "rule": ("records matching a rule", "符合规则的记录"),
}


def _scope_words(grant: Grant) -> str:
    return say(*_SCOPES[grant.scope])


def _sql(condition: ColumnElement[bool], dialect: Any) -> str:
    """The row condition as SQL with its values written in (for reading, not for running)."""
    try:
        return str(condition.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    except Exception:  # a value type without a literal form: show the placeholders instead
        return str(condition.compile(dialect=dialect))


def _rows(rights: Access, action: str, dialect: Any) -> dict[str, Any]:
    if not rights.can(action):
        return {"summary": say("no records", "无"), "grants": [], "filter_sql": None}
    if rights.admin:
        grants: list[dict[str, Any]] = []
        summary = say("all records (administrator)", "全部记录（管理员）")
    else:
        granting = rights.granting(action)
        grants = [
            {"grant": g.id, "scope": g.scope, "rule": g.rule, "summary": _scope_words(g)}
            for g in granting
        ]
        summary = listing(sorted({_scope_words(g) for g in granting}))
    return {"summary": summary, "grants": grants, "filter_sql": _sql(rights.rows(action), dialect)}


def _field(rights: Access, key: str, label: str) -> dict[str, Any]:
    visibility = rights.field_visibility(key)
    read = "visible" if visibility is True else "hidden" if visibility is False else "some_rows"
    create = rights.can("create") and key not in rights.restricted_for_write("create")
    update = rights.can("update") and key not in rights.restricted_for_write("update")
    if read == "hidden":
        summary = say("hidden", "隐藏")
    elif read == "some_rows":
        summary = say("hidden on some records", "部分记录上隐藏")
    elif update and create:
        summary = say("editable", "可编辑")
    elif create:
        summary = say("editable when creating", "仅新建时可编辑")
    elif update:
        summary = say("editable when updating", "仅修改时可编辑")
    else:
        summary = say("read-only", "只读")
    return {
        "key": key,
        "name": label,
        "read": read,
        "create": create,
        "update": update,
        "summary": summary,
    }


def _form(
    published: PublishedApp, principal: Principal, form_key: str, dialect: Any
) -> dict[str, Any]:
    handle = published.handles[form_key]
    rights = access(handle, principal)
    actions = {action: rights.can(action) for action in ACTIONS}
    allowed = [action for action in ACTIONS if actions[action]]
    return {
        "key": form_key,
        "name": name(handle.form.label, form_key),
        "actions": actions,
        "summary": listing(allowed) if allowed else say("no access", "无权限"),
        "rows": {action: _rows(rights, action, dialect) for action in SCOPED},
        "fields": [_field(rights, f.key, name(f.label, f.key)) for f in handle.form.fields],
    }


def _flows(published: PublishedApp, principal: Principal) -> list[dict[str, Any]]:
    """The flows API's rule: administrators; anyone some grant of the app names; on a record
    of the flow's form only where they may read it."""
    named = principal.is_admin or any(
        grantee_matches(g.grantee, principal, published.app_id)
        for g in published.definition.permissions
    )
    flows = []
    for flow in published.definition.flows:
        if not named:
            summary = say("cannot start", "不能发起")
        elif flow.form is None:
            summary = say("can start", "可以发起")
        else:
            summary = say("can start on records they can read", "可对其可读的记录发起")
        flows.append(
            {
                "key": flow.key,
                "name": name(flow.name, flow.key),
                "form": flow.form,
                "can_start": named,
                "summary": summary,
            }
        )
    return flows


def _user(principal: Principal) -> dict[str, Any]:
    user, membership = principal.user, principal.membership
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "is_admin": user.is_admin,
        "is_active": user.is_active,
        "roles": sorted(key for _, key in membership.role_keys) if membership else [],
        "groups": sorted(membership.group_keys) if membership else [],
        "departments": sorted(membership.department_codes) if membership else [],
    }


async def access_preview(db: AsyncSession, app_id: int, user_id: int) -> dict[str, Any]:
    """What user ``user_id`` could see and do in the published version of app ``app_id``."""
    app = await service.get_app(db, app_id)
    if app.published_version_id is None:
        raise ProblemError("app_not_published")
    published = await resolve_app(db, app.key)
    user = await db.get(User, user_id)
    if user is None:
        raise ProblemError("not_found", detail=f"user {user_id}")
    principal = Principal(user, via="system")
    await load_membership(db, principal)
    dialect = (await db.connection()).dialect
    return {
        "user": _user(principal),
        "version_id": published.version_id,
        "forms": [_form(published, principal, f.key, dialect) for f in published.definition.forms],
        "dashboards": [
            {"key": d.key, "name": name(d.title, d.key)}
            for d in visible_dashboards(published, principal)
        ],
        "flows": _flows(published, principal),
    }
