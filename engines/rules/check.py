"""Publish-time checks of an app's rules against its forms and flows.

Every problem comes back at once, with a path naming the rule (``rules[escalate].actions[1]
.values.status``), a stable code and a message: unknown forms, fields, flows and variables,
fields an action cannot write, invalid JsonLogic, templates that do not parse, webhook URLs
that are not http(s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from engines.form.check import SchemaProblem, rule_var_paths
from engines.form.errors import InvalidValue
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.validate import to_storage
from engines.logic import iter_errors
from engines.rules.calendar import shipped_calendars
from engines.rules.sla import SlaPolicy
from engines.rules.spec import (
    Assign,
    CallWebhook,
    Comment,
    CreateRecord,
    FieldChanged,
    FlowEvent,
    Notify,
    RecordTrigger,
    Rule,
    ScheduleTrigger,
    SendMail,
    SetFields,
    StartFlow,
    TimeTrigger,
    UpdateRelated,
)
from engines.urls import HttpUrl, UrlProblem, header_problem, parse_http_url

#: Columns every record has, readable as ``record.<name>``.
SYSTEM_FIELDS = frozenset(
    {"id", "row_version", "created_at", "created_by", "updated_at", "updated_by", "owner_id"}
    | {"department_id"}
)
#: What ``event.<name>`` holds.
EVENT_FIELDS = frozenset({"kind", "actor_id", "rule", "depth", "sla", "flow"})
#: Field types an action cannot write (their values are computed).
COMPUTED_TYPES = frozenset({"autonumber", "formula", "lookup"})
TEXT_TYPES = frozenset({"text", "textarea", "richtext", "email", "phone", "url"})

TEMPLATES = SandboxedEnvironment(autoescape=False)
#: Field types a relation action follows to one record or several.
RELATION_TYPES = frozenset({"relation", "multirelation"})

#: Message key → (en, zh-CN) of the problems given in the caller's language.
MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_field": ("no field {field!r} in form {form!r}", "表单 {form!r} 中没有字段 {field!r}"),
    "not_a_relation": (
        "{field!r} is not a relation to another record",
        "{field!r} 不是关联到其他记录的关联字段",
    ),
    "unknown_form": ("no form {form!r} in this app", "此应用中没有表单 {form!r}"),
    "relation_form": (
        "relation {field!r} points at form id {form!r}, which is not in this app",
        "关联字段 {field!r} 指向的表单（id {form!r}）不在此应用中",
    ),
    "type_mismatch": (
        "the value does not fit field {field!r} ({type}) of form {form!r}",
        "该值与表单 {form!r} 的字段 {field!r}（{type}）的类型不符",
    ),
    "unknown_var": (
        "{var!r} is not a field of the record, the related record or the event",
        "{var!r} 不是本记录、关联记录或事件的字段",
    ),
    "group_field": (
        "a group picked per field needs a select, text or user field; {field!r} is not one",
        "按字段选择用户组需要表单的选择、文本或用户字段；{field!r} 不是",
    ),
    "unknown_option": ("{field!r} has no option {value!r}", "字段 {field!r} 没有选项 {value!r}"),
}


def message(key: str, locale: str, **params: Any) -> str:
    en, zh = MESSAGES[key]
    return (zh if locale == "zh-CN" else en).format(**params)


@dataclass
class RuleContext:
    """What rules may refer to: the app's forms and, per flow key, the form it runs on."""

    forms: dict[str, FormSchema] = field(default_factory=dict)
    flows: dict[str, str | None] = field(default_factory=dict)
    #: The installation's egress policy for webhook URLs (None: syntax only).
    url_check: Callable[[HttpUrl], UrlProblem | None] | None = None
    #: Keys of the app's own calendars (beside the shipped ones).
    calendars: list[str] = field(default_factory=list)
    #: Names of the installation's webhook signing secrets (None: not checked).
    webhook_secrets: set[str] | None = None
    #: The language of the messages of relation actions and per-field group picks.
    locale: str = "en"


def check_rules(rules: Iterable[Rule], context: RuleContext) -> list[SchemaProblem]:
    rules = list(rules)
    problems: list[SchemaProblem] = []
    for key, count in Counter(r.key for r in rules).items():
        if count > 1:
            problems.append(
                SchemaProblem(f"rules[{key}]", "duplicate_key", "a rule key is used twice")
            )
    for rule in rules:
        problems.extend(_Checker(rule, context).run())
    return problems


class _Checker:
    def __init__(self, rule: Rule, context: RuleContext) -> None:
        self.rule = rule
        self.context = context
        self.where = f"rules[{rule.key}]"
        self.form = context.forms.get(rule.form)
        self.problems: list[SchemaProblem] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.problems.append(SchemaProblem(f"{self.where}.{path}", code, message))

    def run(self) -> list[SchemaProblem]:
        if self.form is None:
            self.add("form", "unknown_form", f"no form {self.rule.form!r} in this app")
            return self.problems
        trigger = self.rule.trigger
        if isinstance(trigger, FieldChanged) and trigger.field not in self.form.keys:
            self.add("trigger.field", "unknown_field", f"no field {trigger.field!r}")
        if isinstance(trigger, TimeTrigger):
            self._time(trigger)
        if isinstance(trigger, FlowEvent) and trigger.flow is not None:
            if trigger.flow not in self.context.flows:
                self.add("trigger.flow", "unknown_flow", f"no flow {trigger.flow!r} in this app")
            elif self.context.flows[trigger.flow] != self.rule.form:
                self.add("trigger.flow", "flow_form", "the flow runs on another form's records")
        if self.rule.condition is not None:
            self.logic(self.rule.condition, "condition")
            if isinstance(trigger, TimeTrigger | ScheduleTrigger):
                self._scannable(self.rule.condition)
        for index, action in enumerate(self.rule.actions):
            self.action(action, f"actions[{index}]")
        return self.problems

    def _time(self, trigger: TimeTrigger) -> None:
        form = self.form
        assert form is not None
        known = set(shipped_calendars()) | set(self.context.calendars)
        if trigger.after.business_hours and trigger.calendar not in known:
            self.add("trigger.calendar", "unknown_calendar", f"no calendar {trigger.calendar!r}")
        if trigger.field in ("created_at", "updated_at"):
            return
        spec = form.field(trigger.field) if trigger.field in form.keys else None
        if spec is None:
            self.add("trigger.field", "unknown_field", f"no field {trigger.field!r}")
        elif spec.type != "datetime":
            self.add("trigger.field", "not_a_datetime", f"{trigger.field!r} is not a date-time")

    def _scannable(self, condition: Any) -> None:
        """A scanned rule's condition becomes SQL: it reads the record, not changes/event."""
        for var in rule_var_paths(condition):
            if not var.startswith("record."):
                self.add(
                    "condition",
                    "not_scannable",
                    f"{var!r}: a time or schedule rule's condition reads only the record",
                )

    # --- pieces -------------------------------------------------------------------------------

    def said(self, path: str, code: str, key: str = "", **params: Any) -> None:
        """A problem with a message in the context's language."""
        self.add(path, code, message(key or code, self.context.locale, **params))

    def logic(
        self,
        rule: Any,
        path: str,
        form: FormSchema | None = None,
        related: FormSchema | None = None,
    ) -> None:
        """Valid JsonLogic whose variables are ``record.<field>``, ``changes.<field>`` or
        ``event.<name>`` of the rule's form (and ``related.<field>`` of a relation action's
        target form)."""
        form = form or self.form
        assert form is not None
        for error in iter_errors(rule):
            self.add(f"{path}{error.path[1:]}", error.code, error.message)
        for var in rule_var_paths(rule):
            head, _, rest = var.partition(".")
            name = rest.split(".")[0]
            if head == "record" and (name in form.keys or name in SYSTEM_FIELDS):
                continue
            if head == "changes" and name in form.keys:
                continue
            if head == "event" and name in EVENT_FIELDS:
                continue
            if related is not None and head == "related":
                if name in related.keys or name in SYSTEM_FIELDS:
                    continue
                self.said(path, "unknown_var", var=var)
                continue
            self.add(path, "unknown_var", f"{var!r} is not a field of the record or the event")

    def template(self, text: str, path: str) -> None:
        try:
            TEMPLATES.parse(text)
        except TemplateSyntaxError as exc:
            self.add(path, "bad_template", f"the template does not parse: {exc.message}")

    def writable(self, form: FormSchema, key: str, path: str) -> None:
        spec = form.field(key) if key in form.keys else None
        if spec is None:
            self.add(path, "unknown_field", f"no field {key!r} in form {form.key!r}")
            return
        field_type = FIELD_TYPES.find(spec.type)
        if spec.type in COMPUTED_TYPES or field_type is None or not field_type.has_column:
            self.add(path, "not_writable", f"field {key!r} is computed and cannot be set")

    def action(self, action: Any, path: str) -> None:
        form = self.form
        assert form is not None
        if isinstance(action, SetFields):
            for key, value in action.values.items():
                self.writable(form, key, f"{path}.values.{key}")
                self.logic(value, f"{path}.values.{key}")
        elif isinstance(action, Assign):
            self._assign(action, path)
        elif isinstance(action, Comment):
            self.template(action.body, f"{path}.body")
        elif isinstance(action, Notify):
            self.template(action.title, f"{path}.title")
            self.template(action.body, f"{path}.body")
            if action.rule is not None:
                self.logic(action.rule, f"{path}.rule")
        elif isinstance(action, SendMail):
            self.logic(action.to, f"{path}.to")
            self.template(action.subject, f"{path}.subject")
            self.template(action.body, f"{path}.body")
        elif isinstance(action, CallWebhook):
            self._webhook(action, path)
        elif isinstance(action, StartFlow):
            self._start_flow(action, path)
        elif isinstance(action, CreateRecord):
            self._create_record(action, path)
        elif isinstance(action, UpdateRelated):
            self._update_related(action, path)

    def _assign(self, action: Assign, path: str) -> None:
        form = self.form
        assert form is not None
        spec = form.field(action.field) if action.field in form.keys else None
        if spec is None:
            self.add(f"{path}.field", "unknown_field", f"no field {action.field!r}")
        elif spec.type != "user":
            self.add(f"{path}.field", "not_a_user_field", f"{action.field!r} is not a user field")
        if action.rule is not None:
            self.logic(action.rule, f"{path}.rule")
        picks = [(action.group, f"{path}.group")] + [
            (route.group, f"{path}.keywords[{n}].group")
            for n, route in enumerate(action.keywords or [])
        ]
        for pick, where in picks:
            if pick is not None and pick.open is not None:
                self._open_rule(pick.open, f"{where}.open")
            if pick is not None and pick.per is not None:
                self._per_field(pick.per, list(pick.groups), f"{where}.per")
        for index, key in enumerate(action.search or []):
            spec = form.field(key) if key in form.keys else None
            if spec is None or spec.type not in TEXT_TYPES:
                self.add(f"{path}.search[{index}]", "not_text", f"{key!r} is not a text field")

    def _per_field(self, key: str, values: list[str], path: str) -> None:
        """A group picked per field: a select, text or user field; mapped values are options."""
        form = self.form
        assert form is not None
        spec = form.find(key)
        if spec is None:
            self.said(path, "unknown_field", field=key, form=form.key)
            return
        if spec.type not in {"select", "user"} | TEXT_TYPES:
            self.said(path, "group_field", field=key)
            return
        if spec.type == "select":
            options = {str(o.get("value")) for o in spec.options.get("options", [])}
            for value in values:
                if value not in options:
                    self.said(
                        f"{path[: -len('.per')]}.groups.{value}",
                        "unknown_option",
                        field=key,
                        value=value,
                    )

    def _open_rule(self, rule: Any, path: str) -> None:
        """``open`` is a list filter: plain field names of the rule's form."""
        form = self.form
        assert form is not None
        for error in iter_errors(rule):
            self.add(f"{path}{error.path[1:]}", error.code, error.message)
        for var in rule_var_paths(rule):
            if var not in form.keys and var not in SYSTEM_FIELDS:
                self.add(path, "unknown_field", f"no field {var!r}")

    def _webhook(self, action: CallWebhook, path: str) -> None:
        parsed = parse_http_url(action.url)
        if isinstance(parsed, UrlProblem):
            self.add(f"{path}.url", parsed.code, parsed.message)
        elif self.context.url_check is not None:
            problem = self.context.url_check(parsed)
            if problem is not None:
                self.add(f"{path}.url", problem.code, problem.message)
        secrets = self.context.webhook_secrets
        if action.secret is not None and secrets is not None and action.secret not in secrets:
            self.add(
                f"{path}.secret", "webhook_secret_unknown", f"no webhook secret {action.secret!r}"
            )
        for name, value in action.headers.items():
            header = header_problem(name, value)
            if header is not None:
                self.add(f"{path}.headers.{name}", header.code, header.message)
        if action.body is not None:
            self.logic(action.body, f"{path}.body")

    def _start_flow(self, action: StartFlow, path: str) -> None:
        if action.flow not in self.context.flows:
            self.add(f"{path}.flow", "unknown_flow", f"no flow {action.flow!r} in this app")
        elif self.context.flows[action.flow] != self.rule.form:
            self.add(
                f"{path}.flow", "flow_form", f"flow {action.flow!r} runs on another form's records"
            )
        for key, value in action.variables.items():
            self.logic(value, f"{path}.variables.{key}")

    def _create_record(self, action: CreateRecord, path: str) -> None:
        target = self.context.forms.get(action.form)
        if target is None:
            self.add(f"{path}.form", "unknown_form", f"no form {action.form!r} in this app")
            return
        for key, value in action.values.items():
            self.writable(target, key, f"{path}.values.{key}")
            self.logic(value, f"{path}.values.{key}")
        for name in ("department", "owner"):
            value = getattr(action, name)
            if value is not None:
                self.logic(value, f"{path}.{name}")

    def _update_related(self, action: UpdateRelated, path: str) -> None:
        """The relation is a relation field of the rule's form whose target form is in the
        app; every value names a writable field of that form and fits its type; values and
        the condition read ``related.<field>`` of the target."""
        form = self.form
        assert form is not None
        spec = form.find(action.relation)
        if spec is None:
            self.said(f"{path}.relation", "unknown_field", field=action.relation, form=form.key)
            return
        if spec.type not in RELATION_TYPES:
            self.said(f"{path}.relation", "not_a_relation", field=action.relation)
            return
        form_id = spec.options.get("form_id")
        target = next((f for f in self.context.forms.values() if f.id == form_id), None)
        if target is None:
            self.said(f"{path}.relation", "relation_form", field=action.relation, form=form_id)
            return
        if action.condition is not None:
            self.logic(action.condition, f"{path}.condition", related=target)
        for key, value in action.values.items():
            where = f"{path}.values.{key}"
            target_spec = target.find(key)
            if target_spec is None:
                self.said(where, "unknown_field", field=key, form=target.key)
                continue
            self.writable(target, key, where)
            self.logic(value, where, related=target)
            if not self._fits(target_spec, value, target):
                self.said(where, "type_mismatch", field=key, type=target_spec.type, form=target.key)

    def _fits(self, spec: FieldSpec, value: Any, related: FormSchema) -> bool:
        """Whether a value can be written to ``spec``: a constant is converted as the form
        would convert it; a plain ``var`` of another field must be of the same kind; any
        other expression is checked when it runs."""
        field_type = FIELD_TYPES.find(spec.type)
        if field_type is None:
            return True
        if not isinstance(value, dict):
            if value is None:
                return True
            try:
                to_storage(spec, value)
            except InvalidValue:
                return False
            return True
        if set(value) != {"var"}:
            return True
        name = value["var"][0] if isinstance(value["var"], list) else value["var"]
        head, _, rest = str(name).partition(".")
        source = {"record": self.form, "related": related}.get(head)
        source_spec = source.find(rest) if source is not None else None
        source_type = FIELD_TYPES.find(source_spec.type) if source_spec is not None else None
        if source_spec is None or source_type is None:
            return True
        return bool(source_type.kind(source_spec) == field_type.kind(spec))


# --- SLA policies --------------------------------------------------------------------------------


def check_policies(policies: Iterable[SlaPolicy], context: RuleContext) -> list[SchemaProblem]:
    """Every SLA policy: its form, priority field and target keys, calendar, conditions and
    escalation actions (checked as rule actions are)."""
    policies = list(policies)
    problems: list[SchemaProblem] = []
    for key, count in Counter(p.key for p in policies).items():
        if count > 1:
            problems.append(
                SchemaProblem(f"sla[{key}]", "duplicate_key", "an SLA policy key is used twice")
            )
    known = set(shipped_calendars()) | set(context.calendars)
    for key, count in Counter(context.calendars).items():
        if count > 1:
            problems.append(
                SchemaProblem(f"calendars[{key}]", "duplicate_key", "a calendar key is used twice")
            )
    for policy in policies:
        rule = Rule.model_construct(
            key=policy.key, form=policy.form, trigger=RecordTrigger(on="updated"), actions=[]
        )
        checker = _Checker(rule, context)
        checker.where = f"sla[{policy.key}]"
        form = checker.form
        if form is None:
            checker.add("form", "unknown_form", f"no form {policy.form!r} in this app")
            problems.extend(checker.problems)
            continue
        if policy.calendar not in known:
            checker.add("calendar", "unknown_calendar", f"no calendar {policy.calendar!r}")
        options: set[str] | None = None
        if policy.priority_field is not None:
            spec = form.field(policy.priority_field) if policy.priority_field in form.keys else None
            if spec is None:
                checker.add(
                    "priority_field", "unknown_field", f"no field {policy.priority_field!r}"
                )
            elif spec.type != "select":
                checker.add("priority_field", "not_a_select", "the priority field is a select")
            else:
                options = {str(o.get("value")) for o in spec.options.get("options", [])}
        for value in policy.targets:
            if value != "*" and options is not None and value not in options:
                checker.add(f"targets.{value}", "unknown_option", f"no priority {value!r}")
            if value != "*" and policy.priority_field is None:
                checker.add(
                    f"targets.{value}",
                    "no_priority_field",
                    "targets per priority need a priority_field",
                )
        for name in ("condition", "responded_when", "resolved_when", "paused_when"):
            value = getattr(policy, name)
            if value is not None:
                checker.logic(value, name)
        for name in ("on_warning", "on_breach"):
            for index, action in enumerate(getattr(policy, name)):
                checker.action(action, f"{name}[{index}]")
        problems.extend(checker.problems)
    return problems
