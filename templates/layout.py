"""The on-disk layout of a template, both ways: an app definition (and optional seed rows) to
``{path: bytes}``, and files back to a checked :class:`Template` — every problem of every file
at once (see README.md for the layout).

Forms keep the ids they had in the exported app ("template ids"); installing gives them fresh
ids of the target installation and points relations at those (``templates.install``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from builder.apps.dashboards import check_dashboards
from builder.apps.definition import AppDefinition
from builder.apps.intake import IntakeSpec
from builder.apps.permissions import AppRole, Grant
from builder.apps.service import validate_definition
from engines.flow.bpmn.exporter import to_bpmn
from engines.flow.bpmn.importer import from_bpmn
from engines.flow.model import Flow
from engines.form.errors import render_message
from engines.form.schema import FormSchema
from engines.form.validate import FormValidator
from engines.report.spec import Dashboard
from engines.rules.calendar import BusinessCalendar
from engines.rules.sla import SlaPolicy
from engines.rules.spec import Rule
from runtime.config import Settings
from runtime.errors import field_errors_from_pydantic
from runtime.i18n import current_locale
from templates import labels
from templates.manifest import Manifest, Version
from templates.org import ORG_FILE, USERS_FILE, DemoUser, Org
from templates.problems import TemplateProblem, problem, raw
from templates.seed import PLACEHOLDER, SEED_ID, Converter
from templates.source import MANIFEST

__all__ = [
    "SEED_ID",
    "Template",
    "check_dashboards",
    "from_files",
    "platform_version",
    "to_files",
]

#: A reference the template does not define itself: ``(file, kind, key, path)`` — a user,
#: department or group that must exist in the installation.
Ref = tuple[str, str, str, str]
_FILE = re.compile(
    r"^(?:(?P<dir>forms|rules|dashboards)/(?P<key>[a-z][a-z0-9_]{0,62})\.json"
    r"|flows/(?P<flow>[a-z][a-z0-9_]{0,62})\.bpmn"
    r"|seed/(?P<seed>[a-z][a-z0-9_]{0,62})\.jsonl"
    r"|locales/(?P<locale>[A-Za-z0-9-]+)\.json"
    r"|(?P<single>sla/policies\.json|sla/calendars\.json|roles\.json|permissions\.json|intake\.json)"
    r"|(?P<org>org\.json)|(?P<users>demo/users\.json))$"
)
#: Files any template may carry that are not read (documentation, a licence).
_IGNORED = re.compile(r"^(README|LICENSE|CHANGELOG)(\.[A-Za-z]+)?$")
_SINGLE_PART = {
    "sla/policies.json": "sla",
    "sla/calendars.json": "calendars",
    "roles.json": "roles",
    "permissions.json": "permissions",
    "intake.json": "intake",
}
_PART_FILE = {part: name for name, part in _SINGLE_PART.items()}
_MODELS: dict[str, type[BaseModel]] = {
    "forms": FormSchema,
    "rules": Rule,
    "dashboards": Dashboard,
    "sla": SlaPolicy,
    "calendars": BusinessCalendar,
    "roles": AppRole,
    "permissions": Grant,
    "intake": IntakeSpec,
}


def platform_version() -> str:
    from runtime.app import VERSION

    return VERSION


@dataclass
class Template:
    """A checked template: its manifest, the app definition (template form ids, labels merged
    back) and seed rows by form key (each with its ``_id``)."""

    manifest: Manifest
    definition: AppDefinition
    seed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Departments and groups (``org.json``), installed with or without demo data.
    org: Org | None = None
    #: Demo people (``demo/users.json``), installed with the demo data.
    users: list[DemoUser] = field(default_factory=list)
    #: The line of each seed row in its file, by form key (for problems found installing).
    seed_lines: dict[str, list[int]] = field(default_factory=dict)
    #: What the org needs from the installation (parent departments it does not define).
    org_refs: list[Ref] = field(default_factory=list)
    #: What the demo users and seed rows need from it (users, departments, groups).
    demo_refs: list[Ref] = field(default_factory=list)

    def content(self) -> dict[str, Any]:
        """What an install keeps as the base of later upgrades (no seed rows)."""
        content = {
            "manifest": self.manifest.model_dump(mode="json"),
            "definition": self.definition.model_dump(mode="json"),
        }
        if self.org is not None:
            content["org"] = self.org.model_dump(mode="json")
        return content


# --- writing -------------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()


def to_files(template: Template) -> dict[str, bytes]:
    """The template as files: parts without their labels, translations per locale."""
    definition = template.definition
    files: dict[str, bytes] = {}
    found: dict[str, dict[str, dict[str, str]]] = {}

    def part(name: str, document: Any) -> None:
        stripped, pulled = labels.extract(document)
        if pulled:
            found[name] = pulled
        files[name] = _json(stripped)

    for form in definition.forms:
        part(f"forms/{form.key}.json", form.model_dump(mode="json"))
    for flow in definition.flows:
        files[f"flows/{flow.key}.bpmn"] = to_bpmn(flow).encode()
    for rule in definition.rules:
        part(f"rules/{rule.key}.json", rule.model_dump(mode="json"))
    for dashboard in definition.dashboards:
        part(f"dashboards/{dashboard.key}.json", dashboard.model_dump(mode="json"))
    for name, key in _SINGLE_PART.items():
        items = getattr(definition, key)
        if items:
            part(name, [item.model_dump(mode="json") for item in items])
    if template.org is not None:
        part(ORG_FILE, template.org.model_dump(mode="json", exclude_defaults=True))
    if template.users:
        files[USERS_FILE] = _json([u.model_dump(mode="json") for u in template.users])
    for form_key, rows in template.seed.items():
        lines = (json.dumps(row, ensure_ascii=False, default=str) for row in rows)
        files[f"seed/{form_key}.jsonl"] = ("\n".join(lines) + "\n").encode()
    per_locale: dict[str, dict[str, dict[str, str]]] = {}
    for name, pulled in found.items():
        for locale, texts in labels.by_locale(pulled).items():
            per_locale.setdefault(locale, {})[name] = texts
    for locale in template.manifest.locales:
        files[f"locales/{locale}.json"] = _json(per_locale.get(locale, {}))
    files[MANIFEST] = _json(template.manifest.model_dump(mode="json", exclude_none=True))
    return files


def parts_of(definition: AppDefinition, seed: dict[str, Any], org: Org | None = None) -> list[str]:
    present = [
        p
        for p in ("forms", "flows", "rules", "sla", "calendars", "dashboards")
        if getattr(definition, p)
    ]
    present += [p for p in ("roles", "permissions", "intake") if getattr(definition, p)]
    return present + (["org"] if org is not None else []) + (["seed"] if seed else [])


def locales_of(definition: AppDefinition, preferred: Iterable[str]) -> list[str]:
    """The locales the definition's labels use, ``preferred`` ones first."""
    _, pulled = labels.extract(definition.model_dump(mode="json"))
    used = {locale for texts in pulled.values() for locale in texts}
    ordered = [locale for locale in preferred if locale in used or not used]
    return ordered + sorted(used - set(ordered))


# --- reading -------------------------------------------------------------------------------


def _pydantic_problems(file: str, exc: ValidationError, prefix: str = "") -> list[TemplateProblem]:
    found = []
    for error in field_errors_from_pydantic(exc.errors()):
        path = error.field
        if prefix:
            path = f"{prefix}{'.' if path and not path.startswith('[') else ''}{path}"
        found.append(raw(file, path, error.code, error.message))
    return found


class _Reader:
    def __init__(self, files: dict[str, bytes], settings: Settings | None) -> None:
        self.files = files
        self.settings = settings
        self.problems: list[TemplateProblem] = []

    def text(self, name: str) -> str | None:
        try:
            return self.files[name].decode("utf-8")
        except UnicodeDecodeError:
            self.problems.append(problem(name, "", "malformed_text"))
            return None

    def json(self, name: str) -> Any:
        text = self.text(name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            self.problems.append(
                problem(name, f"line {exc.lineno}", "malformed_json", error=exc.msg)
            )
            return None

    def manifest(self) -> Manifest | None:
        if MANIFEST not in self.files:
            self.problems.append(problem(MANIFEST, "", "missing_file"))
            return None
        document = self.json(MANIFEST)
        if document is None:
            return None
        try:
            manifest = Manifest.model_validate(document)
        except ValidationError as exc:
            self.problems.extend(_pydantic_problems(MANIFEST, exc))
            return None
        current = platform_version()
        if Version(manifest.min_platform) > Version(current):
            self.problems.append(
                problem(
                    MANIFEST,
                    "min_platform",
                    "platform_too_old",
                    needed=manifest.min_platform,
                    current=current,
                )
            )
        return manifest

    def read(self) -> Template | None:
        manifest = self.manifest()
        listed = set(manifest.parts) if manifest else None
        locales = list(manifest.locales) if manifest else []
        documents: dict[str, Any] = {}
        bpmn: dict[str, str] = {}
        seeds: dict[str, str] = {}
        translations: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name in sorted(self.files):
            if name == MANIFEST or _IGNORED.match(name):
                continue
            match = _FILE.match(name)
            if match is None:
                self.problems.append(problem(name, "", "unknown_file"))
                continue
            part = (
                match["dir"]
                or ("flows" if match["flow"] else None)
                or ("seed" if match["seed"] or match["users"] else None)
                or ("org" if match["org"] else None)
                or _SINGLE_PART.get(match["single"] or "")
            )
            if part is not None and listed is not None and part not in listed:
                self.problems.append(problem(name, "", "part_not_listed", part=part))
                continue
            if match["locale"]:
                if manifest and match["locale"] not in locales:
                    self.problems.append(
                        problem(name, "", "unknown_locale", locale=match["locale"])
                    )
                    continue
                translations[match["locale"]] = self.json(name)
            elif match["flow"]:
                text = self.text(name)
                if text is not None:
                    bpmn[name] = text
            elif match["seed"]:
                text = self.text(name)
                if text is not None:
                    seeds[match["seed"]] = text
            elif match["users"]:
                extra[name] = self.json(name)
            else:
                document = self.json(name)
                if document is not None:
                    documents[name] = document
        for locale in locales:
            if f"locales/{locale}.json" not in self.files:
                self.problems.append(problem(f"locales/{locale}.json", "", "missing_file"))
        self.merge_labels(documents, translations)
        definition = self.definition(documents, bpmn)
        if definition is None:
            return None
        org = self.org(documents.get(ORG_FILE))
        users = self.users(extra.get(USERS_FILE), org, definition)
        seed, lines = self.seed(definition, seeds, org, users)
        if manifest is None or self.problems:
            return None
        return Template(
            manifest,
            definition,
            seed,
            org=org,
            users=users,
            seed_lines=lines,
            org_refs=self.org_refs,
            demo_refs=self.demo_refs,
        )

    def org(self, document: Any) -> Org | None:
        from templates import org as orgs

        self.org_refs: list[Ref] = []
        if document is None:
            return None
        if not isinstance(document, dict):
            self.problems.append(raw(ORG_FILE, "", "dict_type", "Enter an object."))
            return None
        unknown = set(document) - {"departments", "groups"}
        for key in sorted(unknown):
            self.problems.append(raw(ORG_FILE, key, "extra_forbidden", "Unknown field."))
        parts: dict[str, list[Any]] = {}
        for part, model in (("departments", orgs.OrgDepartment), ("groups", orgs.OrgGroup)):
            items = document.get(part) or []
            if not isinstance(items, list):
                self.problems.append(raw(ORG_FILE, part, "list_type", "Enter a list."))
                items = []
            parts[part] = []
            for index, item in enumerate(items):  # each on its own: every problem at once
                try:
                    parts[part].append(model.model_validate(item))
                except ValidationError as exc:
                    self.problems.extend(_pydantic_problems(ORG_FILE, exc, f"{part}[{index}]"))
        org = Org(**parts)
        self.problems.extend(orgs.check_org(org))
        self.org_refs = [(ORG_FILE, *ref) for ref in orgs.parent_refs(org)]
        return org

    def users(self, document: Any, org: Org | None, definition: AppDefinition) -> list[DemoUser]:
        from templates import org as orgs

        self.demo_refs: list[Ref] = []
        if document is None:
            return []
        if not isinstance(document, list):
            self.problems.append(raw(USERS_FILE, "", "list_type", "Enter a list."))
            return []
        users = []
        for index, item in enumerate(document):
            try:
                users.append(DemoUser.model_validate(item))
            except ValidationError as exc:
                self.problems.extend(_pydantic_problems(USERS_FILE, exc, f"[{index}]"))
        self.problems.extend(orgs.check_users(users, org, definition))
        self.demo_refs = [(USERS_FILE, *ref) for ref in orgs.user_refs(users, org)]
        return users

    def merge_labels(self, documents: dict[str, Any], translations: dict[str, Any]) -> None:
        for locale, per_file in translations.items():
            where = f"locales/{locale}.json"
            if per_file is None:
                continue
            if not isinstance(per_file, dict):
                self.problems.append(raw(where, "", "dict_type", "Enter an object."))
                continue
            for file, texts in per_file.items():
                if file not in documents:
                    if file not in self.files:
                        self.problems.append(problem(where, file, "missing_file"))
                    continue
                if not isinstance(texts, dict):
                    self.problems.append(raw(where, file, "dict_type", "Enter an object."))
                    continue
                for path, text in texts.items():
                    if not isinstance(text, str) or not labels.put(
                        documents[file], path, locale, text
                    ):
                        self.problems.append(
                            problem(where, f"{file}.{path}", "unknown_label", label=path)
                        )

    def items(self, documents: dict[str, Any], part: str) -> list[tuple[str, str, Any]]:
        """``(file, path prefix, document)`` of each item of ``part``."""
        if part in _PART_FILE:
            name = _PART_FILE[part]
            document = documents.get(name)
            if document is None:
                return []
            if not isinstance(document, list):
                self.problems.append(raw(name, "", "list_type", "Enter a list."))
                return []
            return [(name, f"[{i}]", item) for i, item in enumerate(document)]
        prefix = f"{part}/"
        return [(n, "", d) for n, d in documents.items() if n.startswith(prefix)]

    def definition(self, documents: dict[str, Any], bpmn: dict[str, str]) -> AppDefinition | None:
        parts: dict[str, list[Any]] = {}
        self.origin: dict[tuple[str, str], tuple[str, str]] = {}
        for part, model in _MODELS.items():
            parts[part] = []
            seen: set[str] = set()
            for name, prefix, document in self.items(documents, part):
                try:
                    item = model.model_validate(document)
                except ValidationError as exc:
                    self.problems.extend(_pydantic_problems(name, exc, prefix))
                    continue
                ident = str(item.id if part == "permissions" else item.key)  # type: ignore[attr-defined]
                if not prefix and name != f"{part}/{ident}.json":
                    self.problems.append(problem(name, "key", "key_mismatch", name=name, key=ident))
                    continue
                if ident in seen:
                    self.problems.append(problem(name, prefix, "duplicate", what=part, key=ident))
                    continue
                seen.add(ident)
                self.origin[(part, ident)] = (name, prefix)
                self.origin[(part, str(len(parts[part])))] = (name, prefix)
                parts[part].append(item)
        parts["flows"] = []
        for name, text in bpmn.items():
            flow = self.flow(name, text)
            if flow is not None:
                self.origin[("flows", flow.key)] = (name, "")
                self.origin[("flows", str(len(parts["flows"])))] = (name, "")
                parts["flows"].append(flow)
        ids = [form.id for form in parts["forms"]]
        for form in parts["forms"]:
            if ids.count(form.id) > 1:
                name = self.origin[("forms", form.key)][0]
                self.problems.append(
                    problem(name, "id", "duplicate", what="form id", key=str(form.id))
                )
        try:
            definition = AppDefinition(**parts)
        except ValidationError as exc:
            self.problems.extend(_pydantic_problems("", exc))
            return None
        for found in validate_definition(definition, self.settings):
            file, path = self.locate(found.path)
            self.problems.append(raw(file, path, found.code, found.message))
        return definition

    def flow(self, name: str, text: str) -> Flow | None:
        result = from_bpmn(text)
        for found in result.problems:
            where = found.element_id or ""
            if found.line is not None:
                where = f"line {found.line}"
            self.problems.append(raw(name, where, found.code, found.message))
        if result.flow is None:
            if not result.problems:
                self.problems.append(problem(name, "", "bpmn", message="not a valid flow"))
            return None
        if name != f"flows/{result.flow.key}.bpmn":
            self.problems.append(problem(name, "", "key_mismatch", name=name, key=result.flow.key))
            return None
        return result.flow

    def locate(self, path: str) -> tuple[str, str]:
        """An engine's path (``forms[0].fields[2].type``) as a file and a path in it."""
        match = re.match(r"^([a-z]+)\[([^\]]+)\]\.?(.*)$", path)
        if match is None:
            return "", path
        origin = self.origin.get((match[1], match[2]))
        if origin is None:
            return "", path
        name, prefix = origin
        rest = match[3]
        return name, f"{prefix}.{rest}" if prefix and rest else (prefix or rest)

    def seed(
        self,
        definition: AppDefinition,
        seeds: dict[str, str],
        org: Org | None,
        users: list[DemoUser],
    ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[int]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        numbers: dict[str, list[int]] = {}
        from runtime.db import utcnow

        usernames = {u.username.strip().lower(): PLACEHOLDER for u in users}
        codes = dict.fromkeys(org.department_codes() if org else (), PLACEHOLDER)
        time_zone = self.settings.time_zone if self.settings else "UTC"
        ids: dict[str, set[Any]] = {}
        parsed: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        locale = current_locale.get()
        for form_key, text in seeds.items():
            name = f"seed/{form_key}.jsonl"
            form = definition.form(form_key)
            broken = {p.file for p in self.problems}
            if f"forms/{form_key}.json" in broken:
                continue  # the form's own problems come first
            if form is None:
                self.problems.append(problem(name, "", "unknown_form", form=form_key))
                continue
            rows: list[tuple[int, dict[str, Any]]] = []
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    self.problems.append(
                        problem(name, f"line {number}", "malformed_json", error=exc.msg)
                    )
                    continue
                if not isinstance(row, dict):
                    self.problems.append(
                        raw(name, f"line {number}", "dict_type", "Enter an object.")
                    )
                    continue
                rows.append((number, row))
            parsed[form_key] = rows
            ids[form_key] = {row.get(SEED_ID) for _, row in rows if row.get(SEED_ID) is not None}
        for form_key, rows in parsed.items():
            name = f"seed/{form_key}.jsonl"
            form = definition.form(form_key)
            assert form is not None
            validator = FormValidator(form)
            targets = relation_targets(definition, form)
            converter = Converter(
                name,
                now=utcnow(),
                time_zone=time_zone,
                users=usernames,
                departments=codes,
                strict=False,
            )
            for number, row in rows:
                converted = converter.row(form, row, number)
                self.problems.extend(converted.problems)
                for kind, key, path in converted.refs:
                    if key not in (usernames if kind == "user" else codes):
                        self.demo_refs.append((name, kind, key, path))
                values = converted.values
                # Relations hold seed ``_id`` s (numbers or strings), checked below.
                checked = {
                    k: (
                        [PLACEHOLDER] * len(v)
                        if isinstance(v, list)
                        else PLACEHOLDER
                        if k in targets and v is not None
                        else v
                    )
                    if k in targets
                    else v
                    for k, v in values.items()
                }
                result = validator.check(checked)
                for found in result.problems:
                    if found.code == "unknown_reference":
                        continue
                    self.problems.append(
                        raw(
                            name,
                            f"line {number}.{found.field}",
                            found.code,
                            render_message(found.code, locale, found.params),
                        )
                    )
                for key, target in targets.items():
                    for ref in _as_list(values.get(key)):
                        if ref not in ids.get(target, set()):
                            self.problems.append(
                                problem(
                                    name,
                                    f"line {number}.{key}",
                                    "seed_invalid",
                                    message=f"no {SEED_ID} {ref!r} in seed/{target}.jsonl",
                                )
                            )
            out[form_key] = [row for _, row in rows]
            numbers[form_key] = [number for number, _ in rows]
        return out, numbers


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def relation_targets(definition: AppDefinition, form: FormSchema) -> dict[str, str]:
    """Field key → the form key its relation points at (relation fields of ``form``)."""
    from engines.form.registry import FIELD_TYPES

    out = {}
    for spec in form.fields:
        reference = FIELD_TYPES.get(spec.type).reference(spec)
        if reference is not None and reference[0] == "form":
            target = definition.form_by_id(int(reference[1]))
            if target is not None:
                out[spec.key] = target.key
    return out


def locate(definition: AppDefinition, path: str) -> tuple[str, str]:
    """An engine's path over a whole definition (``permissions[2].grantee.key``) as a file of
    the template and a path in it."""
    match = re.match(r"^([a-z]+)\[([^\]]+)\]\.?(.*)$", path)
    if match is None or not hasattr(definition, match[1]):
        return "", path
    part, selector, rest = match[1], match[2], match[3]
    items = list(getattr(definition, part))
    if selector.isdigit() and int(selector) < len(items):
        item = items[int(selector)]
        index = int(selector)
    else:
        found = [i for i, x in enumerate(items) if getattr(x, "key", None) == selector]
        if not found:
            return "", path
        index, item = found[0], items[found[0]]
    if part in _PART_FILE:
        prefix = f"[{index}]"
        return _PART_FILE[part], f"{prefix}.{rest}" if rest else prefix
    suffix = "bpmn" if part == "flows" else "json"
    return f"{part}/{item.key}.{suffix}", rest


def from_files(
    files: dict[str, bytes], settings: Settings | None = None
) -> tuple[Template | None, list[TemplateProblem]]:
    """The template the files hold, or None and every problem found."""
    reader = _Reader(files, settings)
    template = reader.read()
    return template, reader.problems


Check = Callable[[Template], list[TemplateProblem]]
