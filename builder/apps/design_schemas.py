"""Bodies of the designer endpoints: app lifecycle, versions and diffs, previews, access
preview and publish jobs (see builder/README.md for the shapes with examples)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from builder.apps.schemas import StrictModel, VersionOut
from engines.form.schema import KEY_PATTERN, Labels, _check_labels

# --- lifecycle -------------------------------------------------------------------------------


class AppUpdateIn(StrictModel):
    """Fields left out stay as they are."""

    row_version: int = Field(description="The app's row_version you read (409 when stale)")
    name: Labels | None = None
    description: Labels | None = None
    icon: str | None = Field(default=None, max_length=64)

    _name = field_validator("name")(lambda v: v if v is None else _check_labels(v))
    _description = field_validator("description")(
        lambda v: v if v is None else _check_labels(v, required=False)
    )


class AppCopyIn(StrictModel):
    key: str = Field(pattern=KEY_PATTERN)
    name: Labels
    #: Default: the source app's description.
    description: Labels | None = None

    _name = field_validator("name")(_check_labels)
    _description = field_validator("description")(
        lambda v: v if v is None else _check_labels(v, required=False)
    )


class AppDeleteIn(StrictModel):
    confirm: str = Field(max_length=64, description="The app's key")


# --- versions --------------------------------------------------------------------------------


class VersionDetailOut(VersionOut):
    definition: dict[str, Any]


class Side(BaseModel):
    id: int
    number: int = Field(description="0 is the draft")
    status: str


class DiffOut(BaseModel):
    base: Side
    target: Side
    #: Part → {"added": [...], "removed": [...], "changed": [...]} (see builder/README.md).
    parts: dict[str, dict[str, list[dict[str, Any]]]]
    #: Every change in a sentence, in the caller's language, in part order.
    summary: list[str]
    identical: bool


# --- previews --------------------------------------------------------------------------------


class RuleTestIn(StrictModel):
    """Give ``rule_key`` (a rule of the draft) or ``rule`` (a rule definition)."""

    rule_key: str | None = Field(default=None, pattern=KEY_PATTERN)
    rule: dict[str, Any] | None = None
    record_id: int = Field(ge=1, le=2**63 - 1)
    kind: Literal["created", "updated", "deleted"] | None = None
    changes: dict[str, list[Any]] | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> RuleTestIn:
        if (self.rule_key is None) == (self.rule is None):
            raise ValueError("give either rule_key or rule")
        return self


class WidgetPreviewIn(StrictModel):
    """Give ``widget`` (a definition), or ``dashboard`` and ``widget_key`` (a widget of the
    draft), or ``dashboard`` and ``widget`` (a changed widget on a draft dashboard: its filters
    and time zone apply)."""

    widget: dict[str, Any] | None = None
    dashboard: str | None = Field(default=None, pattern=KEY_PATTERN)
    widget_key: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: Runtime filter values by filter key (the dashboard's declared filters).
    filters: dict[str, Any] = Field(default_factory=dict, max_length=50)

    @model_validator(mode="after")
    def _one_widget(self) -> WidgetPreviewIn:
        if self.widget is None and (self.dashboard is None or self.widget_key is None):
            raise ValueError("give widget, or dashboard and widget_key")
        return self


class FlowCheckIn(StrictModel):
    flow: dict[str, Any]


class FlowProblemOut(BaseModel):
    path: str
    code: str
    message: str
    #: node, edge or flow.
    element_type: str
    element_id: str | None = None
    #: The values the message names (a node id, a count …), to word it differently.
    params: dict[str, Any] | None = None
    #: For problems of a BPMN file: the element's BPMN type and where a parse error is.
    bpmn_type: str | None = None
    line: int | None = None
    column: int | None = None


class FlowCheckOut(BaseModel):
    ok: bool
    flow: dict[str, Any] | None
    problems: list[FlowProblemOut]


class FormCheckIn(StrictModel):
    form: dict[str, Any]


class FormProblemOut(BaseModel):
    path: str
    code: str
    message: str
    #: The key of the field the problem is about (when the path is under form.fields[i]).
    field: str | None = None
    #: The engine's English text, when ``message`` (the caller's language) says it otherwise.
    detail: str | None = None


class FormCheckOut(BaseModel):
    ok: bool
    problems: list[FormProblemOut]


# --- access preview and publish jobs ---------------------------------------------------------


class AccessPreviewOut(BaseModel):
    user: dict[str, Any]
    version_id: int
    forms: list[dict[str, Any]]
    dashboards: list[dict[str, Any]]
    flows: list[dict[str, Any]]


class PublishJobOut(BaseModel):
    job_id: int
    status: str = "queued"
    url: str = Field(description="Poll here; the job's result holds the version")
