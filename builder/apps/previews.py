"""Previews for designers: try a draft's rule, widget, flow or form without writing anything.

Rules and widgets run against the *published* tables (the draft's tables do not exist yet):
a rule test is the runtime's dry run (``runtime.rules.service.test_run``: actions run in a
savepoint that is rolled back, no mail or webhook leaves), a widget preview is the report
engine run for the designer with no cache. Flow and form checks are the engines' validations,
every problem with its path; flow problems also name the node or edge they are about, so the
designer can mark it on the diagram.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps import form_messages, service
from builder.apps.definition import AppDefinition
from engines.flow.bpmn import from_bpmn
from engines.flow.check import CheckContext, check_flow
from engines.flow.messages import FlowProblem
from engines.flow.model import Flow
from engines.form.check import SchemaProblem, check_form, check_relations
from engines.form.overview import check_overviews
from engines.form.schema import FormSchema
from engines.report.spec import Dashboard, Widget
from engines.rules.check import check_rules
from engines.rules.spec import Rule
from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.errors import FieldError, ProblemError, field_errors_from_pydantic
from runtime.flows import definitions
from runtime.i18n import current_locale
from runtime.records.forms import PublishedApp, resolve_app
from runtime.reports import service as reports
from runtime.reports.cache import ResultCache
from runtime.rules import service as rules

M = TypeVar("M", bound=BaseModel)
_ELEMENT = re.compile(r"(nodes|edges)\[([^\]]+)\]")
#: The leading ``rules[key].`` of a problem path of one checked item.
_ITEM = re.compile(r"^[a-z_]+\[[^\]]*\]\.?")


def parse(model: type[M], document: Any, prefix: str, code: str = "validation_failed") -> M:
    """``document`` as ``model``; a 422 ``code`` naming every bad field under ``prefix``."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ProblemError(code, errors=field_errors(exc, prefix)) from exc


def field_errors(exc: ValidationError, prefix: str) -> list[FieldError]:
    """Pydantic's errors as field errors, their paths under ``prefix`` (none when empty)."""
    errors = field_errors_from_pydantic(exc.errors())
    for error in errors:
        if prefix:
            error.field = f"{prefix}.{error.field}" if error.field else prefix
    return errors


# --- rules -----------------------------------------------------------------------------------


async def _published(db: AsyncSession, app_id: int) -> tuple[int, AppDefinition]:
    app = await service.get_app(db, app_id)
    if app.published_version_id is None:
        raise ProblemError("app_not_published")
    return app.published_version_id, await definitions.definition(db, app.published_version_id)


async def test_rule(
    db: AsyncSession,
    app_id: int,
    rule: Rule,
    record_id: int,
    kind: str | None,
    changes: dict[str, list[Any]] | None,
    settings: Settings | None,
) -> dict[str, Any]:
    """What ``rule`` (from the draft or the designer's editor) would do on a published record,
    as if it were published beside the app's published rules. Nothing is written."""
    version_id, published = await _published(db, app_id)
    if published.form(rule.form) is None:
        raise ProblemError("form_not_published", params={"form": rule.form})
    problems = check_rules([rule], service.rule_context(published, settings))
    if problems:
        raise ProblemError("rule_invalid", errors=_item_errors(problems, "rule"))
    others = [r for r in published.rules if r.key != rule.key]
    definition = published.model_copy(update={"rules": [*others, rule]})
    try:
        return await rules.test_run(
            db, app_id, version_id, definition, rule, record_id, kind, changes
        )
    finally:
        await db.rollback()


def _item_errors(problems: list[SchemaProblem], prefix: str) -> list[FieldError]:
    """Problems of one item checked as ``rules[key]``/``flows[key]`` …, under ``prefix``."""
    errors = []
    for problem in problems:
        path = _ITEM.sub("", problem.path, count=1)
        errors.append(
            FieldError(f"{prefix}.{path}" if path else prefix, problem.code, problem.message)
        )
    return errors


# --- widgets ---------------------------------------------------------------------------------


async def _published_app(db: AsyncSession, app_id: int, form: str) -> PublishedApp:
    app = await service.get_app(db, app_id)
    try:
        published = await resolve_app(db, app.key)
    except ProblemError as exc:
        raise ProblemError("form_not_published", params={"form": form}) from exc
    if form not in published.handles:
        raise ProblemError("form_not_published", params={"form": form})
    return published


async def preview_widget(
    db: AsyncSession,
    principal: Principal,
    app_id: int,
    board: Dashboard,
    widget: Widget,
    filters: dict[str, Any],
    settings: Settings,
) -> dict[str, Any]:
    """``widget`` (on ``board``, for its runtime filters and time zone) run against the
    published tables with the designer's own rights, bypassing the result cache."""
    published = await _published_app(db, app_id, widget.form)
    dialect = (await db.connection()).dialect
    context = reports.ReportContext(
        published, principal, settings, ResultCache(0, 0), dialect, use_cache=False
    )
    board = board.model_copy(update={"widgets": [widget]})
    outcome = await reports.run_widget(db, context, board, widget, filters)
    return reports.outcomes_json([outcome])[0]


# --- flows -----------------------------------------------------------------------------------


def _element(path: str, document: dict[str, Any] | None) -> dict[str, str]:
    """The node or edge a problem path is about (``nodes[approve]`` or ``nodes[2]``)."""
    found = _ELEMENT.search(path)
    if found is None:
        return {"element_type": "flow"}
    collection, ident = found.group(1), found.group(2)
    if ident.isdigit() and document is not None:
        items = document.get(collection)
        if (
            isinstance(items, list)
            and int(ident) < len(items)
            and isinstance(items[int(ident)], dict)
        ):
            ident = str(items[int(ident)].get("id", ident))
    return {"element_type": collection[:-1], "element_id": ident}


def _flow_problem(
    path: str, code: str, message: str, document: Any, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    raw = document if isinstance(document, dict) else None
    entry = {"path": path, "code": code, "message": message, **_element(path, raw)}
    if params:
        entry["params"] = params
    return entry


def _checked(problem: SchemaProblem, document: Any) -> dict[str, Any]:
    """One of the engine's findings (its message already in the caller's language)."""
    params = problem.params if isinstance(problem, FlowProblem) else None
    return _flow_problem(problem.path, problem.code, problem.message, document, params)


def check_flow_document(document: Any, context: CheckContext) -> dict[str, Any]:
    """Every problem of a flow given as JSON (model errors first, then the engine's checks)."""
    try:
        flow = Flow.model_validate(document)
    except ValidationError as exc:
        problems = [
            _flow_problem(e.field, e.code, e.message, document) for e in field_errors(exc, "")
        ]
        return {"ok": False, "flow": document, "problems": problems}
    found = check_flow(flow, context)
    problems = [_checked(p, document) for p in found]
    return {"ok": not problems, "flow": flow.model_dump(mode="json"), "problems": problems}


def check_flow_xml(xml: bytes, context: CheckContext) -> dict[str, Any]:
    """Every problem of a flow given as BPMN 2.0 XML: what the import could not take (named by
    BPMN element id and type) and the engine's checks of what it took."""
    result = from_bpmn(xml, check=True, context=context)
    problems: list[dict[str, Any]] = []
    for problem in result.problems:
        entry: dict[str, Any] = {"path": "bpmn", "code": problem.code, "message": problem.message}
        if problem.element_id:
            entry |= {"element_id": problem.element_id, "bpmn_type": problem.element_type}
            entry["element_type"] = (
                "edge" if problem.element_type == "bpmn:sequenceFlow" else "node"
            )
        else:
            entry["element_type"] = "flow"
        if problem.line is not None:
            entry |= {"line": problem.line, "column": problem.column}
        problems.append(entry)
    for check in result.check_problems:
        problems.append(_checked(check, result.document))
    return {"ok": result.ok, "flow": result.document, "problems": problems}


# --- forms -----------------------------------------------------------------------------------


def _field_key(path: str, document: Any) -> str | None:
    found = re.match(r"form\.fields\[(\d+)\]", path)
    if found is None or not isinstance(document, dict):
        return None
    fields = document.get("fields")
    index = int(found.group(1))
    if isinstance(fields, list) and index < len(fields) and isinstance(fields[index], dict):
        key = fields[index].get("key")
        return key if isinstance(key, str) else None
    return None


def _form_problem(path: str, code: str, message: str, document: Any) -> dict[str, Any]:
    shown = form_messages.localise(code, message)
    entry: dict[str, Any] = {"path": path, "code": code, "message": shown}
    if shown != message:
        entry["detail"] = message
    key = _field_key(path, document)
    if key is not None:
        entry["field"] = key
    return entry


def check_form_document(document: Any, draft: AppDefinition) -> dict[str, Any]:
    """Every problem of a form given as JSON, checked as one form of the draft (its relations
    and lookups against the draft's other forms)."""
    try:
        form = FormSchema.model_validate(document)
    except ValidationError as exc:
        problems = [
            _form_problem(e.field, e.code, e.message, document) for e in field_errors(exc, "form")
        ]
        return {"ok": False, "problems": problems}
    found = list(check_form(form, "form."))
    others = [f for f in draft.forms if f.id != form.id]
    index = len(others)
    for problem in check_relations([*others, form]):
        if problem.path.startswith(f"forms[{index}]."):
            path = "form." + problem.path.removeprefix(f"forms[{index}].")
            found.append(SchemaProblem(path, problem.code, problem.message))
    for problem in check_overviews([*others, form], current_locale.get()):
        if problem.path.startswith(f"forms[{index}]."):
            path = "form." + problem.path.removeprefix(f"forms[{index}].")
            found.append(SchemaProblem(path, problem.code, problem.message))
    if any(f.key == form.key for f in others):
        found.append(
            SchemaProblem("form.key", "already_exists", "another form of the app has this key")
        )
    problems = [_form_problem(p.path, p.code, p.message, document) for p in found]
    return {"ok": not problems, "problems": problems}
