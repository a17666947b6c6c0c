"""Whole-flow validation: one start, every node reachable, an end reachable from every node,
gateway conditions present, countersigns and timers valid, and every reference (forms,
fields, roles, other flows, business calendars) resolvable. Returns every problem at once;
each path names the flow and the node or edge (``flows[ticket].nodes[approve].assignee``),
each message is in the context's locale (:mod:`engines.flow.messages`: stable code + params)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from engines.flow.graph import Graph
from engines.flow.messages import problem
from engines.flow.model import (
    ACTIVITIES,
    GATEWAYS,
    Assignee,
    BoundaryTimer,
    CallActivity,
    CreateRecord,
    Flow,
    ScriptTask,
    SendMail,
    ServiceTask,
    SetFields,
    TimerEvent,
    UserTask,
    Webhook,
)
from engines.form.check import SchemaProblem, rule_var_paths, rule_vars
from engines.form.schema import FormSchema
from engines.logic import iter_errors
from engines.rules.calendar import shipped_calendars
from engines.urls import HttpUrl, UrlProblem, header_problem, parse_http_url

#: Record columns a rule may read besides the form's fields (``record.id`` …).
RECORD_SYSTEM_VARS = frozenset(
    {"id", "created_at", "updated_at", "created_by", "updated_by", "owner_id", "department_id"}
)
#: Variables every instance has.
BUILTIN_VARS = frozenset({"record", "instance", "starter", "outcome", "now", "current_user"})
#: Names the engine puts in every context over the flow's variables (a variable of that name
#: could never be read).
RESERVED_VARS = frozenset({"record", "instance", "starter"})


@dataclass
class CheckContext:
    """What a flow may refer to: the app's forms, app role keys and other flows' keys; and,
    from the installation, its check of webhook URLs (the egress policy, without DNS) and the
    names of its webhook signing secrets (None: not checked)."""

    forms: dict[str, FormSchema] = field(default_factory=dict)
    app_roles: set[str] | None = None
    flows: set[str] = field(default_factory=set)
    url_check: Callable[[HttpUrl], UrlProblem | None] | None = None
    webhook_secrets: set[str] | None = None
    #: Keys of the app's own business calendars (the shipped ones are always known).
    calendars: set[str] = field(default_factory=set)
    #: The language of the problems' messages (``en`` or ``zh-CN``; codes never change).
    locale: str = "en"


def check_flow(
    flow: Flow, context: CheckContext | None = None, prefix: str = ""
) -> list[SchemaProblem]:
    context = context or CheckContext()
    checker = _Checker(flow, context, prefix or f"flows[{flow.key}]")
    checker.run()
    return checker.problems


def check_flows(flows: list[Flow], context: CheckContext) -> list[SchemaProblem]:
    problems: list[SchemaProblem] = []
    keys = Counter(f.key for f in flows)
    for key, count in keys.items():
        if count > 1:
            problems.append(problem(f"flows[{key}]", "duplicate_key", context.locale))
    context = replace(context, flows=set(keys))
    for flow in flows:
        problems.extend(check_flow(flow, context))
    problems.extend(_call_cycles(flows, context.locale))
    return problems


def assignee_keys(flows: Iterable[Flow]) -> dict[str, set[str]]:
    """The keys each kind of assignee names across flows (to check against the database):
    ``{"user": {...}, "role": {...}, "group": {...}, "department": {...}}``."""
    wanted: dict[str, set[str]] = {}
    for flow in flows:
        for assignee in _assignees(flow):
            if assignee.kind in {"user", "role", "group", "department"} and assignee.key:
                wanted.setdefault(assignee.kind, set()).add(assignee.key)
    return wanted


def _assignees(flow: Flow) -> Iterable[Assignee]:
    if flow.fallback is not None:
        yield flow.fallback
    for node in flow.nodes:
        if isinstance(node, UserTask):
            yield node.assignee
            if node.fallback is not None:
                yield node.fallback
            yield from node.cc
            if node.countersign is not None:
                yield from node.countersign.also


def _call_cycles(flows: list[Flow], locale: str = "en") -> list[SchemaProblem]:
    calls = {f.key: {n.flow for n in f.nodes if isinstance(n, CallActivity)} for f in flows}
    problems: list[SchemaProblem] = []
    for key in calls:
        seen: set[str] = set()
        stack = list(calls[key])
        while stack:
            nxt = stack.pop()
            if nxt == key:
                problems.append(problem(f"flows[{key}]", "call_cycle", locale))
                break
            if nxt not in seen:
                seen.add(nxt)
                stack.extend(calls.get(nxt, ()))
    return problems


class _Checker:
    def __init__(self, flow: Flow, context: CheckContext, prefix: str) -> None:
        self.flow = flow
        self.context = context
        self.prefix = prefix
        self.problems: list[SchemaProblem] = []
        self.graph = Graph(flow)
        self.form = context.forms.get(flow.form) if flow.form else None

    def add(self, path: str, code: str, key: str = "", **params: Any) -> None:
        """The problem ``code`` at ``path`` (worded by message ``key``, default the code)."""
        where = f"{self.prefix}.{path}" if path else self.prefix
        self.problems.append(problem(where, code, self.context.locale, key, **params))

    def run(self) -> None:
        if self.flow.form is not None and self.form is None:
            self.add("form", "unknown_form", form=self.flow.form)
        self._ids()
        self._edges()
        self._shape()
        if self.graph.starts:
            self._reachability()
        self._gateways()
        for node in self.flow.nodes:
            self._node(node)
        for index, trigger in enumerate(self.flow.triggers):
            where = f"triggers[{index}]"
            if self.flow.form is None:
                self.add(where, "trigger_without_form")
            elif trigger.field is not None:
                self._field(f"{where}.field", trigger.field)
            if trigger.condition is not None:
                self._rule(f"{where}.condition", trigger.condition)
        if self.flow.fallback is not None:
            self._assignee("fallback", self.flow.fallback)

    # --- structure ---------------------------------------------------------------------------

    def _ids(self) -> None:
        counts = Counter([n.id for n in self.flow.nodes] + [e.id for e in self.flow.edges])
        for item, count in counts.items():
            if count > 1:
                self.add(f"ids[{item}]", "duplicate_id", item=item, count=count)

    def _edges(self) -> None:
        for edge in self.flow.edges:
            where = f"edges[{edge.id}]"
            for end in ("source", "target"):
                ref = getattr(edge, end)
                if ref not in self.graph.nodes:
                    self.add(f"{where}.{end}", "unknown_node", node=ref)
            if edge.condition is not None:
                self._rule(f"{where}.condition", edge.condition)
                source = self.graph.nodes.get(edge.source)
                if source is not None and source.type not in {
                    "exclusive_gateway",
                    "inclusive_gateway",
                }:
                    self.add(f"{where}.condition", "condition_not_allowed")

    def _shape(self) -> None:
        starts = self.graph.starts
        if not starts:
            self.add("nodes", "start_count", "start_count.none", count=0)
        elif len(starts) > 1:
            for start in starts:
                self.add(f"nodes[{start}]", "start_count", count=len(starts))
        if not any(n.type == "end" for n in self.flow.nodes):
            self.add("nodes", "no_end")
        for node in self.flow.nodes:
            where = f"nodes[{node.id}]"
            outs = self.graph.outgoing[node.id]
            ins = self.graph.incoming[node.id]
            if node.type in {"start", "boundary_timer"} and ins:
                self.add(where, "incoming_not_allowed", type=node.type)
            if node.type == "end":
                if outs:
                    self.add(where, "outgoing_not_allowed")
            elif node.type in GATEWAYS:
                if not outs:
                    self.add(where, "no_outgoing")
            elif len(outs) != 1:
                self.add(where, "outgoing_count", type=node.type, count=len(outs))

    def _reachability(self) -> None:
        reached: set[str] = set()
        for start in self.graph.starts:
            reached |= self.graph.reachable_from(start)
        ends = {n.id for n in self.flow.nodes if n.type == "end"}
        finishing = self.graph.reaching(ends)
        for node in self.flow.nodes:
            if node.id not in reached:
                self.add(f"nodes[{node.id}]", "unreachable")
            elif node.id not in finishing:
                self.add(f"nodes[{node.id}]", "no_way_out")

    def _gateways(self) -> None:
        for node in self.flow.nodes:
            if node.type not in GATEWAYS:
                continue
            where = f"nodes[{node.id}]"
            outs = self.graph.outgoing[node.id]
            if node.type == "parallel_gateway":
                continue
            default: str | None = getattr(node, "default", None)
            if default is not None and default not in {e.id for e in outs}:
                self.add(f"{where}.default", "unknown_edge", edge=default)
                continue
            if len(outs) <= 1 and default is None and all(e.condition is None for e in outs):
                continue
            for edge in outs:
                if edge.id == default:
                    if edge.condition is not None:
                        self.add(f"edges[{edge.id}].condition", "condition_on_default")
                elif edge.condition is None:
                    self.add(f"edges[{edge.id}].condition", "condition_missing")
            if default is None and not _exhaustive([e.condition for e in outs]):
                self.add(f"{where}.default", "default_missing")

    # --- nodes -------------------------------------------------------------------------------

    def _node(self, node: Any) -> None:
        where = f"nodes[{node.id}]"
        if isinstance(node, UserTask):
            self._user_task(node, where)
        elif isinstance(node, ScriptTask):
            for name, rule in node.assign.items():
                self._variable(f"{where}.assign.{name}", name)
                self._rule(f"{where}.assign.{name}", rule)
        elif isinstance(node, ServiceTask):
            self._service(node, where)
        elif isinstance(node, TimerEvent | BoundaryTimer):
            if node.timer.at is not None:
                self._rule(f"{where}.timer.at", node.timer.at)
            calendar = node.timer.calendar
            known = self.context.calendars | set(shipped_calendars())
            if calendar is not None and calendar not in known:
                self.add(
                    f"{where}.timer.calendar", "unknown_calendar", calendar=calendar, node=node.id
                )
            if isinstance(node, BoundaryTimer):
                host = self.graph.nodes.get(node.attached_to)
                if host is None:
                    self.add(f"{where}.attached_to", "unknown_node", node=node.attached_to)
                elif host.type not in ACTIVITIES:
                    self.add(f"{where}.attached_to", "not_an_activity")
        elif isinstance(node, CallActivity):
            if node.flow not in self.context.flows:
                self.add(f"{where}.flow", "unknown_flow", flow=node.flow)
            # Inputs read this flow's context (record included), outputs the child's variables.
            for name, rule in node.inputs.items():
                self._rule(f"{where}.inputs.{name}", rule)
            for name, rule in node.outputs.items():
                self._variable(f"{where}.outputs.{name}", name)
                self._rule(f"{where}.outputs.{name}", rule, record=False)

    def _user_task(self, node: UserTask, where: str) -> None:
        self._assignee(f"nodes[{node.id}].assignee", node.assignee)
        if node.fallback is not None:
            self._assignee(f"{where}.fallback", node.fallback)
        for index, cc in enumerate(node.cc):
            self._assignee(f"{where}.cc[{index}]", cc)
        for index, also in enumerate(node.countersign.also if node.countersign else []):
            self._assignee(f"{where}.countersign.also[{index}]", also)
        if node.fields and self.flow.form is None:
            self.add(f"{where}.fields", "fields_without_form", "fields_without_form.rights")
        for key in node.fields:
            self._field(f"{where}.fields.{key}", key)
        countersign = node.countersign
        n = countersign.n if countersign is not None else None
        single = node.assignee.kind in {"user", "starter"} and not (
            countersign and countersign.also
        )
        if n is not None and n > 1 and single:
            self.add(f"{where}.countersign.n", "countersign_n_too_large", n=n)
        for target in node.return_to:
            other = self.graph.nodes.get(target)
            if other is None:
                self.add(f"{where}.return_to", "unknown_node", node=target)
            elif other.type != "user_task":
                self.add(f"{where}.return_to", "not_a_user_task", node=target)
            elif target == node.id:
                self.add(f"{where}.return_to", "return_to_self")
            elif target not in self.graph.reaching({node.id}):
                self.add(f"{where}.return_to", "not_upstream", node=target)

    def _service(self, node: ServiceTask, where: str) -> None:
        action = node.action
        if isinstance(action, SetFields):
            if self.flow.form is None:
                self.add(f"{where}.action", "fields_without_form", "fields_without_form.set_fields")
            for key, rule in action.values.items():
                self._field(f"{where}.action.values.{key}", key)
                self._rule(f"{where}.action.values.{key}", rule)
        elif isinstance(action, CreateRecord):
            if action.result is not None:
                self._variable(f"{where}.action.result", action.result)
            target = self.context.forms.get(action.form)
            if target is None:
                self.add(f"{where}.action.form", "unknown_form", form=action.form)
            for key, rule in action.values.items():
                if target is not None and target.find(key) is None:
                    self.add(
                        f"{where}.action.values.{key}",
                        "unknown_field",
                        "unknown_field.in_form",
                        field=key,
                        form=action.form,
                    )
                self._rule(f"{where}.action.values.{key}", rule)
        elif isinstance(action, SendMail):
            self._rule(f"{where}.action.to", action.to)
            for name in ("subject", "body"):
                error = template_error(getattr(action, name))
                if error:
                    self.add(f"{where}.action.{name}", "template_invalid", detail=error)
        elif isinstance(action, Webhook):
            self._webhook(action, where)
            if action.result is not None:
                self._variable(f"{where}.action.result", action.result)
            if action.body is not None:
                self._rule(f"{where}.action.body", action.body)

    def _webhook(self, action: Webhook, where: str) -> None:
        parsed = parse_http_url(action.url)
        if isinstance(parsed, HttpUrl) and self.context.url_check is not None:
            parsed = self.context.url_check(parsed) or parsed
        if isinstance(parsed, UrlProblem):
            self.add(f"{where}.action.url", parsed.code, "url", detail=parsed.message)
        for name, value in action.headers.items():
            refused = header_problem(name, value)
            if refused is not None:
                self.add(
                    f"{where}.action.headers.{name}", refused.code, "url", detail=refused.message
                )
        known = self.context.webhook_secrets
        if action.secret is not None and known is not None and action.secret not in known:
            self.add(f"{where}.action.secret", "webhook_secret_unknown", secret=action.secret)

    def _assignee(self, where: str, assignee: Assignee) -> None:
        # Role keys may name app roles or global roles: both are checked against the database
        # (see assignee_keys), not here.
        if assignee.kind in {"field", "department_head"} and assignee.key is not None:
            wanted = "user" if assignee.kind == "field" else "department"
            if self.form is None:
                self.add(f"{where}.key", "fields_without_form", "fields_without_form.assignee")
            else:
                spec = self.form.find(assignee.key)
                if spec is None:
                    self.add(f"{where}.key", "unknown_field", field=assignee.key)
                elif spec.type != wanted:
                    self.add(f"{where}.key", "wrong_field_type", field=assignee.key, wanted=wanted)
        if assignee.rule is not None:
            self._rule(f"{where}.rule", assignee.rule)

    # --- references --------------------------------------------------------------------------

    def _variable(self, where: str, name: str) -> None:
        if name in RESERVED_VARS:
            self.add(where, "reserved_variable", name=name)

    def _field(self, where: str, key: str) -> None:
        if self.form is not None and self.form.find(key) is None:
            self.add(where, "unknown_field", "unknown_field.in_form", field=key, form=self.form.key)

    def _rule(self, where: str, rule: Any, *, record: bool = True) -> None:
        errors = list(iter_errors(rule))
        for error in errors:
            self.add(f"{where}{error.path[1:]}", error.code, "rule", detail=error.message)
        if errors or not record:
            return
        for name in _record_vars(rule):
            if self.form is None:
                self.add(where, "fields_without_form", "fields_without_form.rule", field=name)
            elif name not in RECORD_SYSTEM_VARS and self.form.find(name) is None:
                self.add(
                    where, "unknown_field", "unknown_field.in_form", field=name, form=self.form.key
                )


def _record_vars(rule: Any) -> set[str]:
    """Field keys a rule reads as ``record.<key>``."""
    names: set[str] = set()
    for path in rule_var_paths(rule):
        parts = path.split(".")
        if parts[0] == "record" and len(parts) > 1:
            names.add(parts[1])
    return names


def _exhaustive(conditions: list[Any]) -> bool:
    """Whether some condition always holds: a literal true, or a condition and its negation."""
    present = [c for c in conditions if c is not None]
    if len(present) < len(conditions):
        return True  # an unconditional edge
    if any(c is True for c in present):
        return True
    for cond in present:
        if isinstance(cond, dict) and len(cond) == 1 and "!" in cond:
            negated = cond["!"]
            negated = negated[0] if isinstance(negated, list) and len(negated) == 1 else negated
            if negated in present:
                return True
    return False


def template_error(text: str) -> str | None:
    """The error of a Jinja2 template (syntax, unknown filters and tests), or None."""
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        SandboxedEnvironment().from_string(text)
    except TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    return None


__all__ = [
    "BUILTIN_VARS",
    "RESERVED_VARS",
    "CheckContext",
    "assignee_keys",
    "check_flow",
    "check_flows",
    "rule_vars",
]
