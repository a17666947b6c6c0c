"""Self-service parts of an intake mapping: knowledge base, surveys, deflection, the portal.

An intake mapping (``builder.apps.intake``) may also name the app's **knowledge** form (the
articles: title, body, category, visibility, review status, attachments, feedback counters) and
its category form, the **survey** form (CSAT score, NPS, comment — one record per survey sent
after a ticket is resolved), the **deflection** form (one record per self-service session in
the portal or a public form: what the customer looked for, which article they opened, and
whether they still submitted a ticket) and the **portal**'s settings. ``runtime.kb``,
``runtime.portal`` and ``runtime.surveys`` read only these names, like the channels.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from engines.form.schema import KEY_PATTERN, Labels


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryMap(_Part):
    form: str = Field(pattern=KEY_PATTERN)
    name: str = Field(pattern=KEY_PATTERN)
    description: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: The parent category (a relation to the same form): categories make a tree.
    parent: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: Sort order among siblings (an integer).
    position: str | None = Field(default=None, pattern=KEY_PATTERN)
    icon: str | None = Field(default=None, pattern=KEY_PATTERN)


class KnowledgeMap(_Part):
    form: str = Field(pattern=KEY_PATTERN)
    title: str = Field(pattern=KEY_PATTERN)
    #: Rich text (HTML, sanitised by the field type) or plain text.
    body: str = Field(pattern=KEY_PATTERN)
    summary: str | None = Field(default=None, pattern=KEY_PATTERN)
    keywords: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: A relation to the category form.
    category: str | None = Field(default=None, pattern=KEY_PATTERN)
    categories: CategoryMap | None = None
    #: Who may read an article: an option field; ``public`` lists the values customers see
    #: (without the field every published article is internal).
    visibility: str | None = Field(default=None, pattern=KEY_PATTERN)
    public: list[str] = Field(default_factory=lambda: ["public"], max_length=20)
    #: The review status (draft → in review → published → archived); ``published`` lists the
    #: values search and the portal show (without the field every article is published).
    status: str | None = Field(default=None, pattern=KEY_PATTERN)
    published: list[str] = Field(default_factory=lambda: ["published"], max_length=20)
    attachments: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: Integer counters kept by the knowledge base (feedback and reads).
    helpful: str | None = Field(default=None, pattern=KEY_PATTERN)
    not_helpful: str | None = Field(default=None, pattern=KEY_PATTERN)
    views: str | None = Field(default=None, pattern=KEY_PATTERN)


class SurveyMap(_Part):
    form: str = Field(pattern=KEY_PATTERN)
    #: Relations to the ticket and customer forms of the intake.
    ticket: str = Field(pattern=KEY_PATTERN)
    customer: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: CSAT, an integer 1–5.
    score: str = Field(pattern=KEY_PATTERN)
    #: Net Promoter Score, an integer 0–10.
    nps: str | None = Field(default=None, pattern=KEY_PATTERN)
    comment: str | None = Field(default=None, pattern=KEY_PATTERN)
    status: str | None = Field(default=None, pattern=KEY_PATTERN)
    sent: str = Field(default="sent", min_length=1, max_length=100)
    answered: str = Field(default="answered", min_length=1, max_length=100)
    answered_at: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: Days a survey link stays valid.
    valid_days: int = Field(default=30, ge=1, le=365)


class DeflectionMap(_Part):
    form: str = Field(pattern=KEY_PATTERN)
    #: What the customer typed (the ticket subject they began).
    query: str = Field(pattern=KEY_PATTERN)
    #: A relation to the knowledge form: the article opened from the suggestions.
    article: str | None = Field(default=None, pattern=KEY_PATTERN)
    outcome: str = Field(pattern=KEY_PATTERN)
    #: The outcome values: the customer was helped (no ticket), or submitted a ticket anyway.
    deflected: str = Field(default="deflected", min_length=1, max_length=100)
    submitted: str = Field(default="submitted", min_length=1, max_length=100)
    #: An option field naming where it happened; ``sources`` maps portal/web_form to its values.
    source: str | None = Field(default=None, pattern=KEY_PATTERN)
    sources: dict[str, str] = Field(default_factory=dict)
    customer: str | None = Field(default=None, pattern=KEY_PATTERN)
    ticket: str | None = Field(default=None, pattern=KEY_PATTERN)


class PortalMap(_Part):
    enabled: bool = True
    title: Labels = Field(default_factory=dict)
    #: Days after resolving within which a customer may reopen a ticket from the portal.
    reopen_days: int = Field(default=7, ge=0, le=365)
    #: The ticket statuses a reopened ticket gets, and those the customer may reopen from.
    reopen_to: str | None = Field(default=None, min_length=1, max_length=100)
    reopen_from: list[str] = Field(default_factory=list, max_length=50)
    #: The ticket's date-time field stamped when it was resolved (the reopen window's start).
    resolved_at: str | None = Field(default=None, pattern=KEY_PATTERN)


#: Where a deflection session can happen.
DEFLECTION_SOURCES = ("portal", "web_form")
