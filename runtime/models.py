"""Every platform table, imported in one place for alembic and the test fixtures."""

from builder.apps.models import App, AppVersion, FormRecord
from runtime.audit.models import AuditEntry
from runtime.auth.models import ApiToken, AuthFailure, User, UserSession
from runtime.channels.chat.models import ChatConversation, ChatEvent
from runtime.channels.models import Channel, ChannelMessage
from runtime.db import Base
from runtime.files.models import StoredFile
from runtime.flows.models import (
    FlowCc,
    FlowHistory,
    FlowInstance,
    FlowTask,
    FlowTaskPool,
    FlowTimer,
    FlowToken,
)
from runtime.jobs.models import Job, WorkerProcess
from runtime.kb.models import KbEntry
from runtime.live.models import UserEvent
from runtime.net.models import WebhookDelivery
from runtime.org.models import (
    Department,
    DepartmentMember,
    Group,
    GroupMember,
    OrgVersion,
    Role,
    RoleMember,
)
from runtime.publicforms.models import PublicForm, PublicSubmission
from runtime.records.models import (
    AutoNumberCounter,
    FormDataVersion,
    RecordComment,
    RecordFile,
    RecordHistory,
    RecordMerge,
)
from runtime.rules.models import (
    Notification,
    RuleMark,
    RuleRun,
    RuleSwitch,
    RuleTurn,
    SlaState,
)
from runtime.subscriptions.models import WebhookSubscription
from runtime.views.models import SavedView
from templates.models import DefaultInstall, DemoAccount, TemplateInstall

metadata = Base.metadata

__all__ = [
    "ApiToken",
    "App",
    "AppVersion",
    "AuditEntry",
    "AuthFailure",
    "AutoNumberCounter",
    "Base",
    "Channel",
    "ChannelMessage",
    "ChatConversation",
    "ChatEvent",
    "DefaultInstall",
    "DemoAccount",
    "Department",
    "DepartmentMember",
    "FlowCc",
    "FlowHistory",
    "FlowInstance",
    "FlowTask",
    "FlowTaskPool",
    "FlowTimer",
    "FlowToken",
    "FormDataVersion",
    "FormRecord",
    "Group",
    "GroupMember",
    "Job",
    "KbEntry",
    "Notification",
    "OrgVersion",
    "PublicForm",
    "PublicSubmission",
    "RecordComment",
    "RecordFile",
    "RecordHistory",
    "RecordMerge",
    "Role",
    "RoleMember",
    "RuleMark",
    "RuleRun",
    "RuleSwitch",
    "RuleTurn",
    "SavedView",
    "SlaState",
    "StoredFile",
    "TemplateInstall",
    "User",
    "UserEvent",
    "UserSession",
    "WebhookDelivery",
    "WebhookSubscription",
    "WorkerProcess",
    "metadata",
]
