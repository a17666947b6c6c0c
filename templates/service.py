"""Templates: export an app, check a template, install it, and upgrade an app installed from
it (a three-way merge, conflicts decided by a person, then a normal publish).

Installing and upgrading run in the caller's transaction (the jobs' own): the app, its draft,
the published version, the seed rows and the install record commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps import service as apps
from builder.apps.definition import AppDefinition, load
from builder.apps.grantees import grantee_problems
from builder.apps.lifecycle import retarget
from builder.apps.models import App, FormRecord
from engines.form.registry import FIELD_TYPES
from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.jobs import queue
from runtime.kb import index as kb_index
from runtime.records.forms import published_form
from runtime.records.writer import RecordEvent, RecordWriter, commit_and_dispatch
from templates import demo_accounts, layout
from templates import org as orgs
from templates.layout import SEED_ID, Template, relation_targets
from templates.manifest import Manifest, Version
from templates.merge import Merge, merge
from templates.models import TemplateInstall
from templates.problems import TemplateProblem, invalid, problem, raw
from templates.seed import Converter
from templates.source import read_zip, write_zip

SEED_CHUNK = 500
#: Delivers the "created" events of seed rows with ``_events`` after their install committed.
EVENTS_JOB = "templates.seed_events"
#: Called with (percent, stage, params) as an install or upgrade goes on.
Progress = Callable[[float, str, dict[str, Any]], Awaitable[None]]


async def _quiet(percent: float, stage: str, params: dict[str, Any]) -> None:
    return None


# --- form ids --------------------------------------------------------------------------------


def to_space(document: dict[str, Any], form_ids: dict[int, int]) -> dict[str, Any]:
    """A definition document with its form ids (and relations) mapped by ``form_ids``; forms
    not in the map keep their ids."""
    forms = []
    for form in document.get("forms", []):
        mapped = dict(form)
        mapped["id"] = form_ids.get(form["id"], form["id"])
        mapped["fields"] = [retarget(f, form_ids) for f in form.get("fields", [])]
        mapped["archived"] = [retarget(f, form_ids) for f in form.get("archived", [])]
        forms.append(mapped)
    return {**document, "forms": forms}


async def _new_forms(
    db: AsyncSession, app_id: int, forms: list[dict[str, Any]], form_ids: dict[int, int]
) -> dict[int, int]:
    """``form_ids`` plus a fresh stable id for each template form not mapped yet."""
    mapped = dict(form_ids)
    for form in forms:
        if form["id"] not in mapped:
            record = FormRecord(app_id=app_id, key=form["key"])
            db.add(record)
            await db.flush()
            mapped[form["id"]] = record.id
    return mapped


# --- export ----------------------------------------------------------------------------------


async def _seed_rows(
    db: AsyncSession, definition: AppDefinition
) -> dict[str, list[dict[str, Any]]]:
    """The app's live records as seed rows: the form's own writable fields, relations by the
    rows' ids (``_id``); users, departments, attachments and sub-tables are left out."""
    seed: dict[str, list[dict[str, Any]]] = {}
    for form in definition.forms:
        handle = await published_form(db, form.id)
        if handle is None:
            continue
        keys = []
        for spec in handle.form.fields:
            field_type = FIELD_TYPES.get(spec.type)
            reference = field_type.reference(spec)
            if not field_type.client_writable or not field_type.has_column:
                continue
            if reference is not None and reference[0] != "form":
                continue
            if field_type.has_children or spec.type == "attachments":
                continue
            keys.append(spec.key)
        table = handle.table
        rows = (
            await db.execute(select(table).where(table.c.deleted_at.is_(None)).order_by(table.c.id))
        ).mappings()
        out = []
        for row in rows:
            shown = handle.to_api(row, keys)
            values = shown["values"]
            record = {SEED_ID: shown["id"]}
            for key in keys:
                if values.get(key) is not None:
                    record[key] = values[key]
            out.append(jsonable_encoder(record))
        if out:
            seed[form.key] = out
    return seed


async def export_app(
    db: AsyncSession,
    actor: Principal,
    app_id: int,
    *,
    with_data: bool = False,
    version: str | None = None,
    locales: list[str] | None = None,
) -> tuple[App, bytes]:
    """The app's draft as a template .zip (with its records as seed data on request)."""
    app = await apps.get_app(db, app_id)
    draft = await apps.get_draft(db, app_id)
    definition = load(draft.definition)
    install = await installed(db, app_id)
    seed = await _seed_rows(db, definition) if with_data else {}
    if version is None:
        version = install.version if install is not None else "1.0.0"
    locales = locales or layout.locales_of(definition, ("zh-CN", "en"))
    org = await orgs.export_org(db, definition, locales[0])
    manifest = Manifest(
        key=install.template_key if install is not None else app.key,
        name=app.name or {"en": app.key},
        version=version,
        min_platform=layout.platform_version(),
        description=app.description or {},
        icon=app.icon,
        locales=locales,
        parts=layout.parts_of(definition, seed, org),  # type: ignore[arg-type]
    )
    files = layout.to_files(Template(manifest, definition, seed, org=org))
    audit.record(db, actor, "template.export", "app", app_id, {"with_data": with_data})
    return app, write_zip(files)


# --- checking ------------------------------------------------------------------------------


def check_files(files: dict[str, bytes], settings: Settings | None = None) -> Template:
    """The checked template, or ``template_invalid`` listing every problem."""
    template, problems = layout.from_files(files, settings)
    if template is None or problems:
        raise invalid(problems)
    return template


def check_zip(
    data: bytes, settings: Settings | None = None, max_bytes: int | None = None
) -> Template:
    from templates.source import MAX_TOTAL_BYTES, SourceError

    try:
        files = read_zip(data, max_total=max_bytes or MAX_TOTAL_BYTES)
    except SourceError as exc:
        raise invalid([exc.problem]) from None
    return check_files(files, settings)


async def installed(db: AsyncSession, app_id: int) -> TemplateInstall | None:
    return (
        await db.execute(select(TemplateInstall).where(TemplateInstall.app_id == app_id))
    ).scalar_one_or_none()


async def installed_from(db: AsyncSession, template_key: str) -> TemplateInstall | None:
    """The (live) app installed from the template ``template_key``, if any."""
    return (
        await db.execute(
            select(TemplateInstall)
            .join(App, App.id == TemplateInstall.app_id)
            .where(TemplateInstall.template_key == template_key, App.deleted_at.is_(None))
            .order_by(TemplateInstall.id)
            .limit(1)
        )
    ).scalar_one_or_none()


async def install_problems(
    db: AsyncSession, template: Template, key: str | None, *, demo: bool = True
) -> list[TemplateProblem]:
    """What stops installing here and now: the app key is taken; grants and flow assignees
    name groups, departments, users or roles neither this installation nor the template's
    ``org.json`` has; with demo data, the demo users and seed rows name users, departments
    or groups that exist nowhere."""
    found: list[TemplateProblem] = []
    app_key = key or template.manifest.key
    if (await db.execute(select(App.id).where(App.key == app_key))).first():
        found.append(problem("manifest.json", "key", "app_exists", key=app_key))
    found.extend(await _grantee_problems(db, 0, template))
    found.extend(await orgs.missing(db, template.org_refs))
    if demo:
        found.extend(await orgs.missing(db, template.demo_refs))
    return found


async def _grantee_problems(
    db: AsyncSession, app_id: int, template: Template
) -> list[TemplateProblem]:
    provided = template.org.provided() if template.org is not None else None
    problems = await grantee_problems(db, app_id, template.definition, provided)
    out = []
    for found in problems:
        file, path = layout.locate(template.definition, found.path)
        out.append(raw(file, path, found.code, found.message))
    return out


# --- install -------------------------------------------------------------------------------


def _seed_order(definition: AppDefinition, seed: dict[str, Any]) -> list[str]:
    """Forms whose rows others refer to first."""
    order: list[str] = []

    def visit(key: str, path: set[str]) -> None:
        if key in order or key in path or key not in seed:
            return
        form = definition.form(key)
        for target in relation_targets(definition, form).values() if form else []:
            visit(target, {*path, key})
        order.append(key)

    for key in seed:
        visit(key, set())
    return order


async def _ids(db: AsyncSession, column: Any, names: set[str]) -> dict[str, int]:
    """Name → id for the names that exist (``column``: a username or department code)."""
    found: dict[str, int] = {}
    ordered = sorted(names)
    for begin in range(0, len(ordered), 1000):
        chunk = ordered[begin : begin + 1000]
        rows = await db.execute(select(column, column.class_.id).where(column.in_(chunk)))
        found.update({name: int(ident) for name, ident in rows})
    return found


async def load_seed(
    db: AsyncSession,
    definition: AppDefinition,
    seed: dict[str, list[dict[str, Any]]],
    progress: Progress,
    start: float,
    end: float,
    *,
    lines: dict[str, list[int]] | None = None,
    events: list[RecordEvent] | None = None,
    settings: Settings | None = None,
    names: dict[str, set[str]] | None = None,
) -> int:
    """Write the seed rows through the records writer, in chunks; relations follow ``_id``,
    users and departments are named, times may be relative to now (:mod:`templates.seed`).
    Rows are written quietly; the "created" events of rows with ``_events`` are added to
    ``events`` (for the caller to deliver once the install has committed)."""
    from runtime.auth.models import User
    from runtime.config import get_settings
    from runtime.org.models import Department

    time_zone = (settings or get_settings()).time_zone
    now = utcnow()
    total = sum(len(rows) for rows in seed.values()) or 1
    # The users and departments the rows name (``names``: known from the check), looked up
    # once.
    wanted: dict[str, set[str]] = names or {"user": set(), "department": set()}
    for form_key, rows in seed.items() if names is None else ():
        form = definition.form(form_key)
        assert form is not None
        scout = Converter(
            f"seed/{form_key}.jsonl",
            now=now,
            time_zone=time_zone,
            users={},
            departments={},
            strict=False,
        )
        for row in rows:
            for kind, key, _path in scout.row(form, row, 0).refs:
                wanted[kind].add(key)
    users = await _ids(db, User.username, wanted["user"])
    departments = await _ids(db, Department.code, wanted["department"])
    done = 0
    new_ids: dict[str, dict[Any, int]] = {}
    queued: list[RecordEvent] = db.info.setdefault("record_events", [])
    for form_key in _seed_order(definition, seed):
        form = definition.form(form_key)
        assert form is not None
        handle = await published_form(db, form.id)
        if handle is None:
            raise ProblemError("form_not_published", params={"form": form_key})
        targets = relation_targets(definition, form)
        writer = RecordWriter(db, handle, None, source="template", time_zone=time_zone)
        converter = Converter(
            f"seed/{form_key}.jsonl",
            now=now,
            time_zone=time_zone,
            users=users,
            departments=departments,
            strict=True,
        )
        rows = seed[form_key]
        numbers = (lines or {}).get(form_key) or list(range(1, len(rows) + 1))
        new_ids[form_key] = {}
        for begin in range(0, len(rows), SEED_CHUNK):
            chunk = rows[begin : begin + SEED_CHUNK]
            items, stamps, problems = [], [], []
            for row, number in zip(chunk, numbers[begin : begin + SEED_CHUNK], strict=True):
                converted = converter.row(form, row, number)
                problems.extend(converted.problems)
                values = converted.values
                for key, target in targets.items():
                    value = values.get(key)
                    mapped = new_ids.get(target, {})
                    if isinstance(value, list):
                        values[key] = [mapped[v] for v in value if v in mapped]
                    elif value is not None:
                        values[key] = mapped.get(value)
                items.append(values)
                stamps.append(converted.stamp)
            if problems:
                raise invalid(problems)
            before = len(queued)
            try:
                created = await writer.create_many(items, system=stamps)
            except ProblemError as exc:
                raise _seed_problem(exc, form_key, numbers[begin:]) from None
            if events is not None:
                events.extend(queued[before:])
            del queued[before:]
            for row, record in zip(chunk, created, strict=True):
                if row.get(SEED_ID) is not None:
                    new_ids[form_key][row[SEED_ID]] = record["id"]
            done += len(chunk)
            await progress(
                start + (end - start) * done / total, "seed", {"done": done, "total": total}
            )
    return done


def _seed_problem(exc: ProblemError, form_key: str, numbers: list[int]) -> ProblemError:
    """A writer's refusal of a chunk (``[3].customer``) as template problems by line."""
    import re as _re

    if exc.code != "validation_failed" or not exc.errors:
        return exc
    found = []
    for error in exc.errors:
        match = _re.match(r"^\[(\d+)\]\.(.*)$", error.field)
        index, rest = (int(match[1]), match[2]) if match else (0, error.field)
        line = numbers[index] if index < len(numbers) else index + 1
        found.append(
            raw(f"seed/{form_key}.jsonl", f"line {line}.{rest}", error.code, error.message)
        )
    return invalid(found)


async def deliver_events(db: AsyncSession, events: list[RecordEvent]) -> None:
    """Deliver seed rows' "created" events after their install committed: the in-transaction
    hooks (rules fire, flows start, SLA clocks) run in ``db``'s transaction, which this
    commits, then the after-commit listeners."""
    db.info.setdefault("record_events", []).extend(events)
    await commit_and_dispatch(db)


def events_payload(events: list[RecordEvent]) -> list[list[Any]]:
    return [
        [e.app_id, e.form_id, e.record_id, e.actor_id, e.version_id, jsonable_encoder(e.changes)]
        for e in events
    ]


def events_from(payload: list[list[Any]]) -> list[RecordEvent]:
    return [
        RecordEvent("created", app_id, form_id, record_id, actor_id, changes or {}, version_id)
        for app_id, form_id, record_id, actor_id, version_id, changes in payload
    ]


def _names(template: Template) -> dict[str, set[str]]:
    """Every username and department code the seed rows may name: the template's own demo
    users and departments, and those the check found it lacks."""
    names = {
        "user": {u.username.strip().lower() for u in template.users},
        "department": template.org.department_codes() if template.org else set(),
    }
    for _file, kind, key, _path in template.demo_refs:
        if kind in names:
            names[kind].add(key)
    return names


async def install(
    db: AsyncSession,
    actor: Principal,
    template: Template,
    *,
    key: str | None = None,
    demo: bool = True,
    settings: Settings | None = None,
    progress: Progress = _quiet,
    events: list[RecordEvent] | None = None,
    locale: str | None = None,
) -> tuple[App, int]:
    """Create, publish and fill an app from ``template``; (the app, seed rows written).

    The org (departments, groups) is created before publishing, named in ``locale`` (the
    administrator's language) if the template has it; with ``demo``, the demo users
    and the seed rows after it. The events of seed rows with ``_events`` are added to
    ``events`` when a list is given (the caller delivers them after committing, see
    :func:`deliver_events`); otherwise a ``templates.seed_events`` job is queued in the same
    transaction to deliver them."""
    manifest = template.manifest
    await progress(10.0, "create", {})
    problems = await install_problems(db, template, key, demo=demo)
    if problems:
        raise invalid(problems)
    app = await apps.create_app(
        db,
        actor,
        key=key or manifest.key,
        name=dict(manifest.name),
        description=dict(manifest.description),
        icon=manifest.icon,
    )
    locales = orgs.name_locales(actor, list(manifest.locales), locale)
    if template.org is not None:
        await orgs.install_org(db, actor, template.org, locales)
    document = template.definition.model_dump(mode="json")
    form_ids = await _new_forms(db, app.id, document["forms"], {})
    draft = await apps.get_draft(db, app.id)
    draft.definition = load(to_space(document, form_ids)).model_dump(mode="json")
    await db.flush()

    async def publishing(stage: str) -> None:
        percent = {"validate": 20.0, "plan": 30.0, "migrate": 40.0, "apply": 50.0}[stage]
        await progress(percent, "publish", {})

    await apps.publish(
        db,
        actor,
        app.id,
        draft.row_version,
        f"template {manifest.key} {manifest.version}",
        set(),
        settings,
        publishing,
    )
    written = 0
    if demo and template.users:
        await progress(55.0, "users", {"count": len(template.users)})
        ids, signs_in = await orgs.install_users(db, actor, app.id, template.users)
        await demo_accounts.record(db, app.id, template, ids, signs_in)
    if demo and template.seed:
        definition = load(to_space(document, form_ids))
        delivered: list[RecordEvent] = [] if events is None else events
        written = await load_seed(
            db,
            definition,
            template.seed,
            progress,
            60.0,
            95.0,
            lines=template.seed_lines,
            events=delivered,
            settings=settings,
            names=_names(template),
        )
        if events is None and delivered:
            await queue.enqueue(
                db,
                EVENTS_JOB,
                {"events": events_payload(delivered)},
                created_by=actor.user_id,
            )
    # Seed articles are written quietly: the knowledge base's search index is built here.
    await kb_index.reindex_app(db, app.key)
    db.add(
        TemplateInstall(
            app_id=app.id,
            template_key=manifest.key,
            version=manifest.version,
            base=template.content(),
            form_ids={str(k): v for k, v in form_ids.items()},
            installed_by=actor.user_id,
        )
    )
    audit.record(
        db,
        actor,
        "template.install",
        "app",
        app.id,
        {"template": manifest.key, "version": manifest.version, "seed_rows": written},
    )
    await db.flush()
    return app, written


# --- upgrade -------------------------------------------------------------------------------


def _form_ids(install: TemplateInstall, pending: dict[str, Any] | None = None) -> dict[int, int]:
    source = (pending or {}).get("form_ids") or install.form_ids
    return {int(k): int(v) for k, v in source.items()}


def _choices(conflicts: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(c["part"], c["element"]): c["choice"] for c in conflicts if c.get("choice")}


async def _merge(
    db: AsyncSession,
    install: TemplateInstall,
    theirs: dict[str, Any],
    form_ids: dict[int, int],
    choices: dict[tuple[str, str], str],
) -> Merge:
    draft = await apps.get_draft(db, install.app_id)
    base = to_space(install.base["definition"], _form_ids(install))
    return merge(base, draft.definition, to_space(theirs["definition"], form_ids), choices)


async def plan_upgrade(
    db: AsyncSession, actor: Principal, install: TemplateInstall, template: Template
) -> dict[str, Any]:
    """Merge the new version into the app's draft and keep the plan with its conflicts as
    the install's ``pending`` upgrade (nothing of the app changes yet)."""
    manifest = template.manifest
    if Version(manifest.version) <= Version(install.version):
        raise invalid(
            [
                problem(
                    "manifest.json",
                    "version",
                    "not_newer",
                    version=manifest.version,
                    installed=install.version,
                )
            ]
        )
    problems = await _grantee_problems(db, install.app_id, template)
    problems.extend(await orgs.missing(db, template.org_refs))
    if problems:
        raise invalid(problems)
    content = template.content()
    form_ids = await _new_forms(
        db, install.app_id, content["definition"]["forms"], _form_ids(install)
    )
    merged = await _merge(db, install, content, form_ids, {})
    install.pending = {
        "version": manifest.version,
        "content": content,
        "form_ids": {str(k): v for k, v in form_ids.items()},
        "conflicts": merged.conflicts,
        "planned_by": actor.user_id,
    }
    audit.record(
        db,
        actor,
        "template.upgrade_plan",
        "app",
        install.app_id,
        {"version": manifest.version, "conflicts": len(merged.conflicts)},
    )
    await db.flush()
    return upgrade_view(install)


def upgrade_view(install: TemplateInstall) -> dict[str, Any]:
    pending = install.pending
    if pending is None:
        raise ProblemError("no_upgrade")
    conflicts = pending["conflicts"]
    return {
        "app_id": install.app_id,
        "template": install.template_key,
        "from_version": install.version,
        "to_version": pending["version"],
        "conflicts": [{"index": i, **c} for i, c in enumerate(conflicts)],
        "unresolved": sum(1 for c in conflicts if not c.get("choice")),
        "row_version": install.row_version,
    }


async def pending_install(db: AsyncSession, app_id: int) -> TemplateInstall:
    install = await installed(db, app_id)
    if install is None or install.pending is None:
        raise ProblemError("no_upgrade")
    return install


async def resolve(
    db: AsyncSession, actor: Principal, app_id: int, index: int, choice: str
) -> dict[str, Any]:
    """Decide conflict ``index`` of the app's pending upgrade: keep ``local`` or take ``theirs``."""
    install = await pending_install(db, app_id)
    pending = dict(install.pending or {})
    conflicts = [dict(c) for c in pending["conflicts"]]
    if not 0 <= index < len(conflicts):
        raise ProblemError("not_found")
    conflicts[index]["choice"] = choice
    install.pending = {**pending, "conflicts": conflicts}
    audit.record(
        db,
        actor,
        "template.upgrade_resolve",
        "app",
        app_id,
        {"element": conflicts[index]["element"], "choice": choice},
    )
    await db.flush()
    return upgrade_view(install)


async def apply_upgrade(
    db: AsyncSession,
    actor: Principal,
    app_id: int,
    settings: Settings | None = None,
    progress: Progress = _quiet,
    locale: str | None = None,
) -> Any:
    """Merge again with the decisions (the draft may have changed since), save the merged
    draft and publish it through the normal migration plan; the app's data stays. The
    departments and groups a new ``org.json`` adds are created first (named in ``locale``
    when the template has it)."""
    await progress(10.0, "merge", {})
    install = await pending_install(db, app_id)
    pending = install.pending or {}
    form_ids = _form_ids(install, pending)
    merged = await _merge(db, install, pending["content"], form_ids, _choices(pending["conflicts"]))
    if merged.unresolved:
        install.pending = {**pending, "conflicts": merged.conflicts}
        await db.flush()
        raise ProblemError("upgrade_unresolved", extra={"upgrade": upgrade_view(install)})
    if pending["content"].get("org"):
        locales = orgs.name_locales(actor, list(pending["content"]["manifest"]["locales"]), locale)
        org = orgs.Org.model_validate(pending["content"]["org"])
        await orgs.install_org(db, actor, org, locales)
    draft = await apps.get_draft(db, app_id)
    previous = load(draft.definition)
    new = apps.parse_definition(merged.definition)
    draft.definition = apps._keep_removed_fields(previous, new).model_dump(mode="json")
    await db.flush()

    async def publishing(stage: str) -> None:
        percent = {"validate": 30.0, "plan": 45.0, "migrate": 60.0, "apply": 80.0}[stage]
        await progress(percent, "publish", {})

    version, ops = await apps.publish(
        db,
        actor,
        app_id,
        draft.row_version,
        f"template {install.template_key} {pending['version']}",
        set(),
        settings,
        publishing,
    )
    install.base = pending["content"]
    install.version = pending["version"]
    install.form_ids = {str(k): v for k, v in form_ids.items()}
    install.pending = None
    install.upgraded_at = utcnow()
    audit.record(
        db,
        actor,
        "template.upgrade",
        "app",
        app_id,
        {"version": install.version, "choices": len(_choices(merged.conflicts))},
    )
    await db.flush()
    return version, ops
