"""Intake mappings: where messages from the channels (mail, chat, WeChat, phone, web) land.

An app's ``intake`` lists mappings; each names the form of customers (and the fields that
identify one across channels: email, phone, WeChat openid), the form of tickets (its relation
to the customer, subject, status and which statuses count as open) and the form of messages
(its relation to the ticket, direction, channel and body). The channels (``runtime.channels``)
read only these names — never a form or field key of their own — so any app can take in
messages, and publish checks every name against the app's forms.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from builder.apps.selfservice import (
    DEFLECTION_SOURCES,
    DeflectionMap,
    KnowledgeMap,
    PortalMap,
    SurveyMap,
)
from engines.form.check import SchemaProblem
from engines.form.errors import SchemaError
from engines.form.registry import FIELD_TYPES
from engines.form.schema import KEY_PATTERN, FieldSpec, FormSchema, Labels

#: The channel kinds a message can come by; ``channels`` maps them to the forms' option values.
CHANNELS = ("email", "chat", "wechat", "phone", "web")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerMap(_Part):
    form: str = Field(pattern=KEY_PATTERN)
    #: The customer's display name (a new customer's name is the sender's, else its address).
    name: str = Field(pattern=KEY_PATTERN)
    email: str | None = Field(default=None, pattern=KEY_PATTERN)
    phone: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: The WeChat openid (unique per official account).
    openid: str | None = Field(default=None, pattern=KEY_PATTERN)


class TicketMap(_Part):
    form: str = Field(pattern=KEY_PATTERN)
    #: The ticket's relation to the customer form.
    customer: str = Field(pattern=KEY_PATTERN)
    subject: str = Field(pattern=KEY_PATTERN)
    description: str | None = Field(default=None, pattern=KEY_PATTERN)
    channel: str | None = Field(default=None, pattern=KEY_PATTERN)
    status: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: The status values of a ticket a new message joins (the customer's newest open one).
    open: list[str] = Field(default_factory=list, max_length=50)
    #: Statuses a reply in the ticket's thread still joins (the app's rules reopen it); a
    #: reply to a ticket in any other status (closed) opens a new ticket.
    reopen: list[str] = Field(default_factory=list, max_length=50)
    #: The ticket's number (an auto-number), recognised in mail subjects.
    number: str | None = Field(default=None, pattern=KEY_PATTERN)


class MessageMap(_Part):
    form: str = Field(pattern=KEY_PATTERN)
    #: The message's relation to the ticket form.
    ticket: str = Field(pattern=KEY_PATTERN)
    customer: str | None = Field(default=None, pattern=KEY_PATTERN)
    direction: str = Field(pattern=KEY_PATTERN)
    inbound: str = Field(default="inbound", min_length=1, max_length=100)
    outbound: str = Field(default="outbound", min_length=1, max_length=100)
    channel: str | None = Field(default=None, pattern=KEY_PATTERN)
    body: str = Field(pattern=KEY_PATTERN)
    attachments: str | None = Field(default=None, pattern=KEY_PATTERN)
    sender: str | None = Field(default=None, pattern=KEY_PATTERN)
    recipient: str | None = Field(default=None, pattern=KEY_PATTERN)


class IntakeSpec(_Part):
    key: str = Field(pattern=KEY_PATTERN)
    label: Labels = Field(default_factory=dict)
    customer: CustomerMap
    ticket: TicketMap
    message: MessageMap
    #: Channel kind → the option value of the ticket's and message's channel fields.
    channels: dict[str, str] = Field(default_factory=dict)
    #: Self-service (``builder.apps.selfservice``): the knowledge base, surveys, deflection
    #: sessions and the customer portal of this helpdesk.
    knowledge: KnowledgeMap | None = None
    survey: SurveyMap | None = None
    deflection: DeflectionMap | None = None
    portal: PortalMap = Field(default_factory=PortalMap)

    def channel_value(self, kind: str) -> str | None:
        return self.channels.get(kind)


#: Problem code → (en, zh-CN).
MESSAGES: dict[str, tuple[str, str]] = {
    "intake.unknown_form": ("no form {form!r} in this app", "此应用中没有表单 {form!r}"),
    "intake.unknown_field": (
        "form {form!r} has no field {name!r}",
        "表单 {form!r} 中没有字段 {name!r}",
    ),
    "intake.wrong_type": (
        "field {name!r} of form {form!r} cannot hold {what}",
        "表单 {form!r} 的字段 {name!r} 不能用作{what_zh}",
    ),
    "intake.wrong_target": (
        "the relation {name!r} of form {form!r} does not point at form {target!r}",
        "表单 {form!r} 的关联字段 {name!r} 没有关联到表单 {target!r}",
    ),
    "intake.not_an_option": (
        "{value!r} is not an option of field {name!r} of form {form!r}",
        "{value!r} 不是表单 {form!r} 字段 {name!r} 的选项",
    ),
    "intake.unknown_channel": (
        "unknown channel {value!r}: use email, chat, wechat, phone or web",
        "未知渠道 {value!r}：请使用 email、chat、wechat、phone 或 web",
    ),
    "intake.duplicate_key": ("the intake key {value!r} is used twice", "接入标识 {value!r} 重复"),
    "intake.no_identity": (
        "the customer form needs at least one of email, phone or openid",
        "客户表单至少需要邮箱、电话或 openid 之一",
    ),
    "intake.unknown_source": (
        "unknown self-service source {value!r}: use portal or web_form",
        "未知自助来源 {value!r}：请使用 portal 或 web_form",
    ),
}
#: What a field is used as, for the wrong-type message.
_WHAT = {
    "text": ("text", "文本"),
    "relation": ("a relation", "关联"),
    "choice": ("an option", "选项"),
    "files": ("attachments", "附件"),
    "number": ("a number", "数字"),
    "date": ("a date and time", "日期时间"),
}
#: Field-type families that can hold text, and files.
_TEXT = frozenset({"text", "contact"})
_FILES = frozenset({"file"})


def _message(code: str, locale: str, **params: Any) -> str:
    en, zh = MESSAGES[code]
    return (zh if locale == "zh-CN" else en).format(**params)


class _Checker:
    def __init__(self, forms: list[FormSchema], locale: str) -> None:
        self.forms = {form.key: form for form in forms}
        self.locale = locale
        self.problems: list[SchemaProblem] = []

    def add(self, path: str, code: str, **params: Any) -> None:
        self.problems.append(SchemaProblem(path, code, _message(code, self.locale, **params)))

    def form(self, path: str, key: str) -> FormSchema | None:
        form = self.forms.get(key)
        if form is None:
            self.add(f"{path}.form", "intake.unknown_form", form=key)
        return form

    def field(self, path: str, form: FormSchema, key: str | None, use: str) -> FieldSpec | None:
        if key is None:
            return None
        spec = form.find(key)
        if spec is None:
            self.add(path, "intake.unknown_field", form=form.key, name=key)
            return None
        field_type = FIELD_TYPES.find(spec.type)
        family = field_type.family if field_type is not None else None
        fits = {
            "text": family in _TEXT,
            "relation": field_type is not None and _reference(spec) is not None,
            "choice": field_type is not None and "enum" in field_type.value_schema(spec),
            "files": family in _FILES,
            "number": family == "number",
            "date": family == "date",
        }[use]
        if not fits:
            what, what_zh = _WHAT[use]
            self.add(path, "intake.wrong_type", form=form.key, name=key, what=what, what_zh=what_zh)
            return None
        return spec

    def relation(
        self, path: str, form: FormSchema, key: str | None, target: FormSchema | None
    ) -> None:
        spec = self.field(path, form, key, "relation")
        if spec is None or target is None:
            return
        if _reference(spec) != ("form", target.id):
            self.add(path, "intake.wrong_target", form=form.key, name=key, target=target.key)

    def options(self, path: str, form: FormSchema, spec: FieldSpec | None, values: list[str]):
        if spec is None:
            return
        allowed = FIELD_TYPES.get(spec.type).value_schema(spec).get("enum", [])
        for index, value in enumerate(values):
            if value not in allowed:
                where = f"{path}[{index}]" if len(values) > 1 else path
                self.add(where, "intake.not_an_option", value=value, name=spec.key, form=form.key)

    def spec(self, path: str, intake: IntakeSpec) -> None:
        c, t, m = intake.customer, intake.ticket, intake.message
        customer = self.form(f"{path}.customer", c.form)
        if customer is not None:
            self.field(f"{path}.customer.name", customer, c.name, "text")
            for name in ("email", "phone", "openid"):
                self.field(f"{path}.customer.{name}", customer, getattr(c, name), "text")
            if not (c.email or c.phone or c.openid):
                self.add(f"{path}.customer", "intake.no_identity")
        ticket = self.form(f"{path}.ticket", t.form)
        if ticket is not None:
            self.relation(f"{path}.ticket.customer", ticket, t.customer, customer)
            self.field(f"{path}.ticket.subject", ticket, t.subject, "text")
            self.field(f"{path}.ticket.description", ticket, t.description, "text")
            status = self.field(f"{path}.ticket.status", ticket, t.status, "choice")
            self.options(f"{path}.ticket.open", ticket, status, list(t.open))
            self.options(f"{path}.ticket.reopen", ticket, status, list(t.reopen))
            channel = self.field(f"{path}.ticket.channel", ticket, t.channel, "choice")
            self.options(f"{path}.channels", ticket, channel, sorted(set(intake.channels.values())))
            if t.number is not None and ticket.find(t.number) is None:
                self.add(
                    f"{path}.ticket.number", "intake.unknown_field", form=t.form, name=t.number
                )
        message = self.form(f"{path}.message", m.form)
        if message is not None:
            self.relation(f"{path}.message.ticket", message, m.ticket, ticket)
            self.relation(f"{path}.message.customer", message, m.customer, customer)
            direction = self.field(f"{path}.message.direction", message, m.direction, "choice")
            self.options(f"{path}.message.inbound", message, direction, [m.inbound])
            self.options(f"{path}.message.outbound", message, direction, [m.outbound])
            channel = self.field(f"{path}.message.channel", message, m.channel, "choice")
            self.options(
                f"{path}.channels", message, channel, sorted(set(intake.channels.values()))
            )
            self.field(f"{path}.message.body", message, m.body, "text")
            self.field(f"{path}.message.attachments", message, m.attachments, "files")
            self.field(f"{path}.message.sender", message, m.sender, "text")
            self.field(f"{path}.message.recipient", message, m.recipient, "text")
        for kind in sorted(intake.channels):
            if kind not in CHANNELS:
                self.add(f"{path}.channels.{kind}", "intake.unknown_channel", value=kind)
        article = self.knowledge(f"{path}.knowledge", intake.knowledge)
        self.survey(f"{path}.survey", intake.survey, ticket, customer)
        self.deflection(f"{path}.deflection", intake.deflection, article, ticket, customer)
        if intake.portal.reopen_to is not None and ticket is not None:
            status = self.field(f"{path}.ticket.status", ticket, t.status, "choice")
            self.options(f"{path}.portal.reopen_to", ticket, status, [intake.portal.reopen_to])
            self.options(
                f"{path}.portal.reopen_from", ticket, status, list(intake.portal.reopen_from)
            )
        if intake.portal.resolved_at is not None and ticket is not None:
            self.field(f"{path}.portal.resolved_at", ticket, intake.portal.resolved_at, "date")

    def knowledge(self, path: str, k: KnowledgeMap | None) -> FormSchema | None:
        if k is None:
            return None
        article = self.form(path, k.form)
        if article is None:
            return None
        for name in ("title", "body", "summary", "keywords"):
            self.field(f"{path}.{name}", article, getattr(k, name), "text")
        visibility = self.field(f"{path}.visibility", article, k.visibility, "choice")
        self.options(f"{path}.public", article, visibility, list(k.public))
        status = self.field(f"{path}.status", article, k.status, "choice")
        self.options(f"{path}.published", article, status, list(k.published))
        self.field(f"{path}.attachments", article, k.attachments, "files")
        for name in ("helpful", "not_helpful", "views"):
            self.field(f"{path}.{name}", article, getattr(k, name), "number")
        c = k.categories
        if c is not None:
            categories = self.form(f"{path}.categories", c.form)
            self.relation(f"{path}.category", article, k.category, categories)
            if categories is not None:
                where = f"{path}.categories"
                for name in ("name", "description", "icon"):
                    self.field(f"{where}.{name}", categories, getattr(c, name), "text")
                self.relation(f"{where}.parent", categories, c.parent, categories)
                self.field(f"{where}.position", categories, c.position, "number")
        return article

    def survey(
        self, path: str, s: SurveyMap | None, ticket: FormSchema | None, customer: FormSchema | None
    ) -> None:
        if s is None:
            return
        form = self.form(path, s.form)
        if form is None:
            return
        self.relation(f"{path}.ticket", form, s.ticket, ticket)
        self.relation(f"{path}.customer", form, s.customer, customer)
        self.field(f"{path}.score", form, s.score, "number")
        self.field(f"{path}.nps", form, s.nps, "number")
        self.field(f"{path}.comment", form, s.comment, "text")
        status = self.field(f"{path}.status", form, s.status, "choice")
        self.options(f"{path}.sent", form, status, [s.sent])
        self.options(f"{path}.answered", form, status, [s.answered])
        self.field(f"{path}.answered_at", form, s.answered_at, "date")

    def deflection(
        self,
        path: str,
        d: DeflectionMap | None,
        article: FormSchema | None,
        ticket: FormSchema | None,
        customer: FormSchema | None,
    ) -> None:
        if d is None:
            return
        form = self.form(path, d.form)
        if form is None:
            return
        self.field(f"{path}.query", form, d.query, "text")
        self.relation(f"{path}.article", form, d.article, article)
        outcome = self.field(f"{path}.outcome", form, d.outcome, "choice")
        self.options(f"{path}.deflected", form, outcome, [d.deflected])
        self.options(f"{path}.submitted", form, outcome, [d.submitted])
        source = self.field(f"{path}.source", form, d.source, "choice")
        self.options(f"{path}.sources", form, source, sorted(set(d.sources.values())))
        for name in sorted(d.sources):
            if name not in DEFLECTION_SOURCES:
                self.add(f"{path}.sources.{name}", "intake.unknown_source", value=name)
        self.relation(f"{path}.customer", form, d.customer, customer)
        self.relation(f"{path}.ticket", form, d.ticket, ticket)


def _reference(spec: FieldSpec) -> tuple[str, str | int] | None:
    field_type = FIELD_TYPES.find(spec.type)
    if field_type is None or not field_type.has_column:
        return None
    try:
        return field_type.reference(spec)
    except SchemaError:
        return None


def check_intake(
    intake: list[IntakeSpec], forms: list[FormSchema], locale: str = "en"
) -> list[SchemaProblem]:
    """Every problem of the app's intake mappings (paths like ``intake[0].ticket.status``)."""
    checker = _Checker(forms, locale)
    seen: set[str] = set()
    for index, spec in enumerate(intake):
        if spec.key in seen:
            checker.add(f"intake[{index}].key", "intake.duplicate_key", value=spec.key)
        seen.add(spec.key)
        checker.spec(f"intake[{index}]", spec)
    return checker.problems
