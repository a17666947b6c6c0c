"""Write the Customer Center template (templates/customer_center/) from this description.
Its demo data is written by ``scripts/customer_center_demo.py`` (run at the end).

The template is data; this script is how it is kept: run it after changing the description
(``python scripts/customer_center.py``) and commit the files. Flows are built as
``engines.flow.model.Flow`` and written with the engine's BPMN exporter, so they round-trip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engines.flow.bpmn.exporter import to_bpmn
from engines.flow.model import Flow

ROOT = Path(__file__).resolve().parents[1] / "templates" / "customer_center"
IDS = {
    "customer": 1,
    "ticket": 2,
    "communication": 3,
    "article": 4,
    "return_request": 5,
    "survey": 6,
    "kb_category": 7,
    "deflection": 8,
}
DONE = ["resolved", "closed"]


def L(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


class Fields:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, key: str, type_: str, zh: str, en: str, **extra: Any) -> Fields:
        self.items.append(
            {"id": len(self.items) + 1, "key": key, "type": type_, "label": L(zh, en), **extra}
        )
        return self

    def select(
        self,
        key: str,
        zh: str,
        en: str,
        options: list[tuple[str, str, str]],
        multi: bool = False,
        **extra: Any,
    ) -> Fields:
        opts = [{"value": v, "label": L(z, e)} for v, z, e in options]
        return self.add(
            key, "multiselect" if multi else "select", zh, en, options={"options": opts}, **extra
        )


def form(key: str, zh: str, en: str, fields: Fields, title: str, sections=()) -> dict:
    out = {
        "id": IDS[key],
        "key": key,
        "label": L(zh, en),
        "fields": fields.items,
        "title_field": title,
    }
    if sections:
        out["sections"] = list(sections)
    return out


CHANNELS = [
    ("phone", "电话", "Phone"),
    ("email", "邮件", "Email"),
    ("wechat", "微信", "WeChat"),
    ("web", "网页", "Web"),
    ("chat", "在线客服", "Live chat"),
]
PRIORITIES = [
    ("urgent", "紧急", "Urgent"),
    ("high", "高", "High"),
    ("normal", "普通", "Normal"),
    ("low", "低", "Low"),
]
STATUSES = [
    ("new", "新建", "New"),
    ("triage", "分派中", "Triage"),
    ("in_progress", "处理中", "In progress"),
    ("waiting_customer", "等待客户", "Waiting on customer"),
    ("resolved", "已解决", "Resolved"),
    ("closed", "已关闭", "Closed"),
]
CATEGORIES = [
    ("consult", "咨询", "Enquiry"),
    ("repair", "报修", "Repair"),
    ("complaint", "投诉", "Complaint"),
    ("return", "退货", "Return"),
    ("other", "其他", "Other"),
]
TEAMS = [
    ("first_line", "一线支持", "First-line support"),
    ("finance", "财务", "Finance"),
    ("warehouse", "仓储", "Warehouse"),
]


def forms() -> list[dict]:
    customer = (
        Fields()
        .add("name", "text", "姓名", "Name", required=True, indexed=True)
        .add("company", "text", "公司", "Company", indexed=True)
        .add("phone", "phone", "电话", "Phone")
        .add("email", "email", "邮箱", "Email")
        .add("wechat_openid", "text", "微信 OpenID", "WeChat openid", unique=True)
        .select(
            "level",
            "客户等级",
            "Level",
            [("vip", "VIP", "VIP"), ("gold", "金牌", "Gold"), ("standard", "普通", "Standard")],
            default="standard",
        )
        .select(
            "tags",
            "标签",
            "Tags",
            [
                ("key_account", "大客户", "Key account"),
                ("new", "新客户", "New"),
                ("at_risk", "流失风险", "At risk"),
            ],
            multi=True,
        )
        .add("account_manager", "user", "客户经理", "Account manager")
    )
    ticket = (
        Fields()
        .add(
            "number", "autonumber", "工单号", "Number", options={"pattern": "TK-{yyyyMMdd}-{seq:4}"}
        )
        .add("subject", "text", "主题", "Subject", required=True)
        .add("description", "textarea", "描述", "Description")
        .select("channel", "渠道", "Channel", CHANNELS, default="web")
        .select("category", "类别", "Category", CATEGORIES, default="consult", indexed=True)
        .select("priority", "优先级", "Priority", PRIORITIES, default="normal", indexed=True)
        .select("status", "状态", "Status", STATUSES, default="new", indexed=True)
        .add("customer", "relation", "客户", "Customer", options={"form_id": IDS["customer"]})
        .add("assignee", "user", "处理人", "Assignee", indexed=True)
        .select("team", "团队", "Team", TEAMS, indexed=True)
        .add("escalated", "boolean", "已升级", "Escalated", default=False)
        .add("escalated_to", "user", "升级至", "Escalated to")
        .add("sla_warned", "boolean", "SLA 预警", "SLA warning", default=False)
        .add("sla_breached", "boolean", "SLA 超时", "SLA breached", default=False)
        .add("first_response_at", "datetime", "首次响应时间", "First response at", indexed=True)
        .add(
            "first_response_minutes", "integer", "首次响应用时（分钟）", "First response (minutes)"
        )
        .add("resolved_at", "datetime", "解决时间", "Resolved at", indexed=True)
        .add("resolution_minutes", "integer", "解决用时（分钟）", "Resolution (minutes)")
        .add("reopen_count", "integer", "重开次数", "Reopen count", default=0)
        .add("customer_replied_at", "datetime", "客户最近回复", "Customer last replied at")
        .add("first_contact_resolution", "boolean", "一次解决", "Resolved on first contact")
        .add("satisfaction", "integer", "满意度", "Satisfaction", options={"min": 1, "max": 5})
    )
    communication = (
        Fields()
        .add(
            "ticket",
            "relation",
            "工单",
            "Ticket",
            options={"form_id": IDS["ticket"]},
            required=True,
        )
        .add("customer", "relation", "客户", "Customer", options={"form_id": IDS["customer"]})
        .select(
            "direction",
            "方向",
            "Direction",
            [
                ("inbound", "客户来信", "Inbound"),
                ("outbound", "客服回复", "Outbound"),
                ("internal", "内部备注", "Internal note"),
            ],
            required=True,
        )
        .select("channel", "渠道", "Channel", CHANNELS)
        .add("body", "textarea", "内容", "Body", required=True)
        .add("attachments", "attachments", "附件", "Attachments")
        .add("sender", "text", "发件人", "From")
        .add("recipient", "text", "收件人", "To")
    )
    article = (
        Fields()
        .add("title", "text", "标题", "Title", required=True)
        .select("category", "工单类别", "Ticket type", CATEGORIES)
        .add("body", "richtext", "正文", "Body")
        .add("keywords", "text", "关键词", "Keywords")
        .select(
            "status",
            "审核状态",
            "Review status",
            [
                ("draft", "草稿", "Draft"),
                ("published", "已发布", "Published"),
                ("archived", "已归档", "Archived"),
                ("in_review", "待审核", "In review"),
            ],
            default="draft",
        )
        .add("views", "integer", "浏览次数", "Views", default=0)
        .add("summary", "textarea", "摘要", "Summary")
        .select(
            "visibility",
            "可见范围",
            "Visibility",
            [("internal", "仅内部", "Internal"), ("public", "公开", "Public")],
            default="internal",
        )
        .add(
            "section",
            "relation",
            "知识分类",
            "Category",
            options={"form_id": IDS["kb_category"]},
        )
        .add("attachments", "attachments", "附件", "Attachments")
        .add("helpful", "integer", "有帮助", "Helpful", default=0)
        .add("not_helpful", "integer", "没帮助", "Not helpful", default=0)
    )
    kb_category = (
        Fields()
        .add("name", "text", "名称", "Name", required=True)
        .add("description", "textarea", "说明", "Description")
        .add(
            "parent",
            "relation",
            "上级分类",
            "Parent category",
            options={"form_id": IDS["kb_category"]},
        )
        .add("position", "integer", "排序", "Position", default=0)
        .add("icon", "text", "图标", "Icon")
    )
    deflection = (
        Fields()
        .add("query", "text", "搜索内容", "What was looked for", required=True)
        .add(
            "article",
            "relation",
            "查看的文章",
            "Article opened",
            options={"form_id": IDS["article"]},
        )
        .select(
            "outcome",
            "结果",
            "Outcome",
            [
                ("pending", "未定", "Pending"),
                ("deflected", "自助解决", "Deflected"),
                ("submitted", "仍提交工单", "Ticket submitted"),
            ],
            default="pending",
        )
        .select(
            "source",
            "来源",
            "Source",
            [("portal", "客户门户", "Customer portal"), ("web_form", "网页表单", "Web form")],
        )
        .add("customer", "relation", "客户", "Customer", options={"form_id": IDS["customer"]})
        .add("ticket", "relation", "工单", "Ticket", options={"form_id": IDS["ticket"]})
    )
    line_fields = [
        {"id": 1, "key": "sku", "type": "text", "label": L("商品编码", "SKU"), "required": True},
        {"id": 2, "key": "product", "type": "text", "label": L("商品名称", "Product")},
        {
            "id": 3,
            "key": "quantity",
            "type": "integer",
            "label": L("数量", "Quantity"),
            "required": True,
            "options": {"min": 1},
        },
        {
            "id": 4,
            "key": "unit_price",
            "type": "currency",
            "label": L("单价", "Unit price"),
            "options": {"currency": "CNY"},
        },
    ]
    returns = (
        Fields()
        .add("order_number", "text", "订单号", "Order number", required=True, indexed=True)
        .add("ticket", "relation", "工单", "Ticket", options={"form_id": IDS["ticket"]})
        .add("customer", "relation", "客户", "Customer", options={"form_id": IDS["customer"]})
        .add("reason", "textarea", "退货原因", "Reason", required=True)
        .add(
            "amount",
            "currency",
            "退款金额",
            "Amount",
            required=True,
            options={"currency": "CNY", "min": "0"},
        )
        .add(
            "lines",
            "subtable",
            "订单明细",
            "Order lines",
            options={"fields": line_fields, "min_rows": 1},
        )
        .select(
            "status",
            "状态",
            "Status",
            [
                ("submitted", "已提交", "Submitted"),
                ("approved", "已批准", "Approved"),
                ("rejected", "已驳回", "Rejected"),
            ],
            default="submitted",
        )
    )
    survey = (
        Fields()
        .add(
            "ticket",
            "relation",
            "工单",
            "Ticket",
            options={"form_id": IDS["ticket"]},
            required=True,
        )
        .add("customer", "relation", "客户", "Customer", options={"form_id": IDS["customer"]})
        .add("agent", "user", "处理人", "Agent")
        .add("score", "integer", "满意度评分", "Score (1–5)", options={"min": 1, "max": 5})
        .add("resolved_first_time", "boolean", "一次解决", "Solved on first contact")
        .add("comment", "textarea", "意见", "Comment")
        .select(
            "status",
            "状态",
            "Status",
            [("sent", "已发送", "Sent"), ("answered", "已回复", "Answered")],
            default="sent",
        )
        .add(
            "nps",
            "integer",
            "推荐意愿（NPS）",
            "Likely to recommend (0–10)",
            options={"min": 0, "max": 10},
        )
        .add("answered_at", "datetime", "回复时间", "Answered at")
    )
    return [
        {**form("customer", "客户", "Customer", customer, "name"), "overview": customer_overview()},
        form("ticket", "工单", "Ticket", ticket, "subject"),
        form("communication", "沟通记录", "Communication", communication, "body"),
        form("article", "知识库文章", "Knowledge article", article, "title"),
        form("return_request", "退货申请", "Return request", returns, "order_number"),
        form("survey", "满意度回访", "Satisfaction survey", survey, "ticket"),
        form("kb_category", "知识分类", "Knowledge category", kb_category, "name"),
        form("deflection", "自助解决记录", "Self-service session", deflection, "query"),
    ]


def customer_overview() -> dict:
    """The customer's 360° page: every ticket, communication, return and survey of the
    customer on one timeline, with key figures (read through the viewer's rights)."""
    recent = {">=": [{"var": "created_at"}, {"date_add": [{"now": []}, -30, "days"]}]}
    return {
        "sources": [
            {
                "form": "ticket",
                "via": "customer",
                "title": "subject",
                "fields": ["number", "status", "priority"],
            },
            {
                "form": "communication",
                "via": "customer",
                "title": "body",
                "fields": ["direction", "channel"],
            },
            {
                "form": "return_request",
                "via": "customer",
                "title": "order_number",
                "fields": ["amount", "status"],
            },
            {"form": "survey", "via": "customer", "title": "comment", "fields": ["score"]},
        ],
        "figures": [
            {
                "key": "tickets",
                "label": L("工单总数", "Tickets"),
                "form": "ticket",
                "via": "customer",
            },
            {
                "key": "open_tickets",
                "label": L("未结工单", "Open tickets"),
                "form": "ticket",
                "via": "customer",
                "filter": {"!": {"in": [{"var": "status"}, DONE]}},
            },
            {
                "key": "recent_tickets",
                "label": L("近 30 天工单", "Tickets, last 30 days"),
                "form": "ticket",
                "via": "customer",
                "filter": recent,
            },
            {
                "key": "csat",
                "label": L("平均满意度", "Average CSAT"),
                "form": "survey",
                "via": "customer",
                "agg": "avg",
                "field": "score",
            },
            {
                "key": "returns",
                "label": L("退货金额", "Returned amount"),
                "form": "return_request",
                "via": "customer",
                "agg": "sum",
                "field": "amount",
            },
        ],
    }


# --- flows ---------------------------------------------------------------------------------


def node(id_: str, type_: str, zh: str = "", en: str = "", **extra: Any) -> dict:
    out: dict[str, Any] = {"id": id_, "type": type_, **extra}
    if zh:
        out["name"] = L(zh, en)
    return out


def edge(source: str, target: str, condition: Any = None, zh: str = "", en: str = "") -> dict:
    out: dict[str, Any] = {"id": f"{source}__{target}", "source": source, "target": target}
    if condition is not None:
        out["condition"] = condition
    if zh:
        out["name"] = L(zh, en)
    return out


def set_status(id_: str, zh: str, en: str, **values: Any) -> dict:
    return node(id_, "service_task", zh, en, action={"kind": "set_fields", "values": values})


SUPERVISOR = {"kind": "role", "key": "supervisor"}
ASSIGNEE = {"kind": "field", "key": "assignee"}


def ticket_lifecycle() -> dict:
    status_is = lambda s: {"==": [{"var": "record.status"}, s]}  # noqa: E731
    nodes = [
        node("start", "start", "新工单", "New ticket"),
        node(
            "triage",
            "user_task",
            "分派",
            "Triage",
            assignee=SUPERVISOR,
            fields={
                "category": "required",
                "priority": "required",
                "team": "required",
                "assignee": "required",
            },
            due="PT2H",
        ),
        set_status("to_in_progress", "开始处理", "Start work", status="in_progress"),
        node(
            "work",
            "user_task",
            "处理工单",
            "Work the ticket",
            assignee=ASSIGNEE,
            fallback=SUPERVISOR,
            fields={"status": "required", "description": "editable"},
        ),
        node("after_work", "exclusive_gateway", "处理结果", "Outcome", default="after_work__work"),
        node(
            "waiting",
            "user_task",
            "等待客户",
            "Waiting on customer",
            assignee=ASSIGNEE,
            fallback=SUPERVISOR,
            fields={"status": "required"},
        ),
        node(
            "reopen_window",
            "user_task",
            "已解决（7 天内可重开）",
            "Resolved (can reopen for 7 days)",
            assignee=ASSIGNEE,
            fallback=SUPERVISOR,
        ),
        node(
            "seven_days",
            "boundary_timer",
            "7 天",
            "7 days",
            attached_to="reopen_window",
            timer={"duration": "P7D"},
        ),
        # A customer's reply may have reopened the ticket already (rule reply_reopens):
        # then the window's end or its task just goes back to work, counting nothing twice.
        node(
            "replied",
            "exclusive_gateway",
            "客户已重开？",
            "Reopened by a reply?",
            default="replied__reopen",
        ),
        node(
            "still_resolved",
            "exclusive_gateway",
            "仍已解决？",
            "Still resolved?",
            default="still_resolved__work",
        ),
        set_status("close", "关闭", "Close", status="closed"),
        set_status(
            "reopen",
            "重开",
            "Reopen",
            status="in_progress",
            reopen_count={"+": [{"var": "record.reopen_count"}, 1]},
        ),
        node("closed", "end", "已关闭", "Closed"),
    ]
    edges = [
        edge("start", "triage"),
        edge("triage", "to_in_progress"),
        edge("to_in_progress", "work"),
        edge("work", "after_work"),
        edge("after_work", "waiting", status_is("waiting_customer"), "等待客户", "Waiting"),
        edge(
            "after_work",
            "reopen_window",
            {"in": [{"var": "record.status"}, DONE]},
            "已解决",
            "Resolved",
        ),
        edge("after_work", "work", zh="继续处理", en="Keep working"),
        edge("waiting", "to_in_progress", zh="客户已回复", en="Customer replied"),
        edge("reopen_window", "replied", zh="重开", en="Reopen"),
        edge("replied", "work", status_is("in_progress"), "客户回复已重开", "Reopened by a reply"),
        edge("replied", "reopen", zh="重开", en="Reopen"),
        edge("reopen", "work"),
        edge("seven_days", "still_resolved"),
        edge("still_resolved", "close", status_is("resolved"), "7 天未重开", "Not reopened"),
        edge("still_resolved", "work", zh="已重开", en="Reopened"),
        edge("close", "closed"),
    ]
    return {
        "key": "ticket_lifecycle",
        "name": L("工单生命周期", "Ticket lifecycle"),
        "form": "ticket",
        "triggers": [{"on": "created"}],
        "nodes": nodes,
        "edges": edges,
        "fallback": SUPERVISOR,
    }


def return_approval() -> dict:
    big = {">": [{"var": "record.amount"}, 1000]}
    approved = {"==": [{"var": "outcome"}, "approved"]}
    nodes = [
        node("start", "start", "提交退货", "Return submitted"),
        node("amount", "exclusive_gateway", "金额", "Amount", default="amount__warehouse_check"),
        node(
            "warehouse_check",
            "user_task",
            "仓储审核",
            "Warehouse check",
            assignee={"kind": "group", "key": "warehouse"},
            due="P1D",
        ),
        # 会签: the warehouse and finance each sign once (a member of each group claims its
        # task); one rejection decides.
        node(
            "countersign",
            "user_task",
            "仓储与财务会签",
            "Countersign: warehouse and finance",
            assignee={"kind": "group", "key": "warehouse"},
            countersign={
                "mode": "all",
                "allow_add_signer": True,
                "also": [{"kind": "group", "key": "finance"}],
                "pools": "one",
            },
            due="P2D",
        ),
        node("decision", "exclusive_gateway", "审批结果", "Decision", default="decision__reject"),
        set_status("approve", "批准", "Approve", status="approved"),
        set_status("reject", "驳回", "Reject", status="rejected"),
        node("approved", "end", "已批准", "Approved"),
        node("rejected", "end", "已驳回", "Rejected"),
    ]
    edges = [
        edge("start", "amount"),
        edge("amount", "countersign", big, "超过 ¥1,000", "Over ¥1,000"),
        edge("amount", "warehouse_check", zh="¥1,000 及以下", en="¥1,000 or less"),
        edge("warehouse_check", "decision"),
        edge("countersign", "decision"),
        edge("decision", "approve", approved, "同意", "Approved"),
        edge("decision", "reject", zh="驳回", en="Rejected"),
        edge("approve", "approved"),
        edge("reject", "rejected"),
    ]
    return {
        "key": "return_approval",
        "name": L("退货审批", "Return approval"),
        "form": "return_request",
        "triggers": [{"on": "created"}],
        "nodes": nodes,
        "edges": edges,
        "fallback": SUPERVISOR,
    }


# --- rules ---------------------------------------------------------------------------------

NOW = {"now": []}


def minutes_since(field: str, of: str = "record") -> dict:
    """Whole wall-clock minutes from ``field`` of ``of`` (the rule's record, or ``related``:
    an update_related target) until now (date_diff is fractional)."""
    minutes = {"date_diff": [NOW, {"var": f"{of}.{field}"}, "minutes"]}
    # Under a minute (or a clock a hair behind created_at) is 0, an integer.
    return {"if": [{"<": [minutes, 1]}, 0, {"-": [minutes, {"%": [minutes, 1]}]}]}


def mentions(*words: str) -> dict:
    text = {
        "lower": [
            {
                "cat": [
                    {"var": "record.subject"},
                    " ",
                    {"if": [{"var": "record.description"}, {"var": "record.description"}, ""]},
                ]
            }
        ]
    }
    return {"or": [{"in": [w, text]} for w in words]}


def rule(
    key: str, zh: str, en: str, form_: str, trigger: dict, actions: list, condition: Any = None
) -> dict:
    out = {"key": key, "name": L(zh, en), "form": form_, "trigger": trigger, "actions": actions}
    if condition is not None:
        out["condition"] = condition
    return out


#: Each team's supervisors (optional groups: a team without one escalates to `supervisors`).
TEAM_SUPERVISORS = {team: f"supervisors_{team}" for team, _, _ in TEAMS}


def rules() -> list[dict]:
    not_done = {"!": {"in": [{"var": "record.status"}, DONE]}}
    return [
        rule(
            "route_ticket",
            "关键词分派",
            "Keyword routing",
            "ticket",
            {"on": "created"},
            [
                {
                    "type": "set_fields",
                    "values": {
                        "team": {
                            "if": [
                                mentions("发票", "invoice"),
                                "finance",
                                mentions("退货", "return"),
                                "warehouse",
                                "first_line",
                            ]
                        },
                        "status": "triage",
                    },
                },
                {
                    "type": "assign",
                    "field": "assignee",
                    "search": ["subject", "description"],
                    "keep_existing": True,
                    "keywords": [
                        {"words": ["发票", "invoice"], "group": {"group": "finance"}},
                        {"words": ["退货", "return"], "group": {"group": "warehouse"}},
                    ],
                },
                {
                    "type": "assign",
                    "field": "assignee",
                    "keep_existing": True,
                    "group": {"group": "first_line", "strategy": "round_robin"},
                },
            ],
        ),
        rule(
            "escalate_complaint",
            "投诉 24 小时未关闭升级",
            "Escalate complaints open 24 h",
            "ticket",
            {"on": "time", "field": "created_at", "after": {"hours": 24}},
            [
                {"type": "set_fields", "values": {"escalated": True, "priority": "urgent"}},
                # The supervisor of the ticket's team (its own group), else `supervisors`.
                {
                    "type": "assign",
                    "field": "escalated_to",
                    "group": {
                        "group": "supervisors",
                        "strategy": "least_open",
                        "per": "team",
                        "groups": TEAM_SUPERVISORS,
                    },
                },
                {
                    "type": "notify",
                    "rule": {"var": "record.escalated_to"},
                    "title": "投诉升级 Complaint escalated: "
                    "{{ record.number }} {{ record.subject }}",
                },
                {
                    "type": "notify",
                    "department_head": True,
                    "title": "投诉 24 小时未关闭 Complaint open 24 h: {{ record.number }}",
                },
                {
                    "type": "comment",
                    "body": "投诉超过 24 小时未关闭，已升级。"
                    " Complaint not closed within 24 hours: escalated.",
                },
            ],
            condition={"and": [{"==": [{"var": "record.category"}, "complaint"]}, not_done]},
        ),
        # The first response (as Zammad counts it): the agent's first outbound message to the
        # customer on the ticket ...
        rule(
            "first_response",
            "记录首次响应",
            "Record the first response",
            "communication",
            {"on": "created"},
            [
                {
                    "type": "update_related",
                    "relation": "ticket",
                    "condition": {"!": {"var": "related.first_response_at"}},
                    "values": {
                        "first_response_at": NOW,
                        "first_response_minutes": minutes_since("created_at", "related"),
                    },
                },
            ],
            condition={
                "and": [
                    {"==": [{"var": "record.direction"}, "outbound"]},
                    {"var": "record.ticket"},
                ]
            },
        ),
        # ... or, with nothing sent, the agent's putting the ticket to waiting on the customer
        # or resolved (not the flow's automatic "Start work": in progress is no response).
        rule(
            "first_response_status",
            "无回复时按状态记录首次响应",
            "Record the first response on waiting or resolved",
            "ticket",
            {"on": "field_changed", "field": "status"},
            [
                {
                    "type": "set_fields",
                    "values": {
                        "first_response_at": NOW,
                        "first_response_minutes": minutes_since("created_at"),
                    },
                },
            ],
            condition={
                "and": [
                    {"!": {"var": "record.first_response_at"}},
                    {"in": [{"var": "record.status"}, ["waiting_customer", "resolved"]]},
                ]
            },
        ),
        rule(
            "stamp_resolved",
            "记录解决时间",
            "Record the resolution",
            "ticket",
            {"on": "field_changed", "field": "status", "to": "resolved"},
            [
                {
                    "type": "set_fields",
                    "values": {
                        "resolved_at": NOW,
                        "resolution_minutes": minutes_since("created_at"),
                        "first_contact_resolution": {"==": [{"var": "record.reopen_count"}, 0]},
                    },
                },
            ],
        ),
        rule(
            "csat_survey",
            "解决后满意度回访",
            "Satisfaction survey after resolving",
            "ticket",
            {"on": "field_changed", "field": "status", "to": "resolved"},
            [
                {
                    "type": "create_record",
                    "form": "survey",
                    "values": {
                        "ticket": {"var": "record.id"},
                        "customer": {"var": "record.customer"},
                        "agent": {"var": "record.assignee"},
                        "status": "sent",
                    },
                },
            ],
            condition={"==": [{"var": "record.reopen_count"}, 0]},
        ),
        rule(
            "auto_close",
            "7 天后自动关闭",
            "Close resolved tickets after 7 days",
            "ticket",
            {"on": "time", "field": "resolved_at", "after": {"days": 7}},
            [
                {"type": "set_fields", "values": {"status": "closed"}},
                {"type": "comment", "body": "已解决 7 天，自动关闭。 Resolved for 7 days: closed."},
            ],
            condition={"==": [{"var": "record.status"}, "resolved"]},
        ),
        rule(
            "reply_reopens",
            "客户回复时重开或继续",
            "Reopen or resume on the customer's reply",
            "communication",
            {"on": "created"},
            [
                # One write per reply: the stamp on a ticket being worked on ...
                {
                    "type": "update_related",
                    "relation": "ticket",
                    "condition": {
                        "in": [{"var": "related.status"}, ["new", "triage", "in_progress"]]
                    },
                    "values": {"customer_replied_at": NOW},
                },
                # ... a resolved ticket back in progress, counted as reopened ...
                {
                    "type": "update_related",
                    "relation": "ticket",
                    "condition": {"==": [{"var": "related.status"}, "resolved"]},
                    "values": {
                        "customer_replied_at": NOW,
                        "status": "in_progress",
                        "reopen_count": {
                            "+": [
                                {
                                    "if": [
                                        {"var": "related.reopen_count"},
                                        {"var": "related.reopen_count"},
                                        0,
                                    ]
                                },
                                1,
                            ]
                        },
                    },
                },
                # ... and the clock restarted on one waiting for the customer.
                {
                    "type": "update_related",
                    "relation": "ticket",
                    "condition": {"==": [{"var": "related.status"}, "waiting_customer"]},
                    "values": {"customer_replied_at": NOW, "status": "in_progress"},
                },
            ],
            condition={
                "and": [
                    {"==": [{"var": "record.direction"}, "inbound"]},
                    {"var": "record.ticket"},
                ]
            },
        ),
        rule(
            "notify_reopened",
            "重开时通知处理人",
            "Tell the assignee about a reopened ticket",
            "ticket",
            {"on": "field_changed", "field": "reopen_count"},
            [
                {
                    "type": "notify",
                    "rule": {"var": "record.assignee"},
                    "title": "客户回复，工单已重开 Reopened on reply: {{ record.number }}",
                },
            ],
            condition={">": [{"var": "record.reopen_count"}, 0]},
        ),
        rule(
            "survey_score",
            "评分写回工单",
            "The survey's score on the ticket",
            "survey",
            {"on": "field_changed", "field": "score"},
            [
                {"type": "set_fields", "values": {"status": "answered"}},
                {
                    "type": "update_related",
                    "relation": "ticket",
                    "values": {"satisfaction": {"var": "record.score"}},
                },
            ],
            condition={"var": "record.score"},
        ),
    ]


# --- SLA -----------------------------------------------------------------------------------


def calendars() -> list[dict]:
    shipped = json.loads(
        (ROOT.parents[1] / "engines" / "rules" / "data" / "cn_workdays_2026_2027.json").read_text()
    )
    return [
        {
            **shipped,
            "key": "cn_9x5",
            "name": L("中国 9×5 工作日（09:00–18:00）", "China 9×5 business days (09:00–18:00)"),
            "weekly": {str(d): [["09:00", "18:00"]] for d in range(5)},
        }
    ]


def sla() -> list[dict]:
    def t(response: int, resolution: int) -> dict:
        return {"first_response": {"hours": response}, "resolution": {"hours": resolution}}

    return [
        {
            "key": "ticket_sla",
            "name": L("工单 SLA", "Ticket SLA"),
            "form": "ticket",
            "calendar": "cn_9x5",
            "priority_field": "priority",
            "targets": {
                "urgent": t(1, 4),
                "high": t(2, 9),
                "normal": t(4, 18),
                "low": t(9, 45),
                "*": t(9, 45),
            },
            "responded_when": {"!!": {"var": "record.first_response_at"}},
            "resolved_when": {"in": [{"var": "record.status"}, DONE]},
            "paused_when": {"==": [{"var": "record.status"}, "waiting_customer"]},
            "warn_before": {"minutes": 30},
            "on_warning": [
                {"type": "set_fields", "values": {"sla_warned": True}},
                {
                    "type": "notify",
                    "rule": {"var": "record.assignee"},
                    "title": "SLA 即将超时 SLA due soon: {{ record.number }} {{ record.subject }}",
                },
            ],
            "on_breach": [
                {"type": "set_fields", "values": {"sla_breached": True, "escalated": True}},
                {
                    "type": "notify",
                    "group": "supervisors",
                    "title": "SLA 已超时 SLA {{ event.sla.target }} breached: {{ record.number }}",
                },
            ],
        }
    ]


# --- dashboards ----------------------------------------------------------------------------

OPEN = {"!": {"in": [{"var": "status"}, DONE]}}
CLOSED = {"in": [{"var": "status"}, DONE]}
COUNT = {"key": "n", "agg": "count", "label": L("工单数", "Tickets")}
#: How a helpdesk manager reads the numbers: first responses in whole minutes, resolution
#: times in hours with one decimal, ratios as percentages, CSAT (1–5) with two decimals.
MINUTES = {"style": "duration", "unit": "minutes", "decimals": 0}
HOURS = {"style": "duration", "unit": "minutes", "show_as": "hours", "decimals": 1}
PERCENT = {"style": "percent", "decimals": 1}
SCORE = {"style": "number", "decimals": 2}


def w(key: str, zh: str, en: str, chart: str, form_: str = "ticket", **extra: Any) -> dict:
    return {"key": key, "title": L(zh, en), "chart": chart, "form": form_, **extra}


def sla_ratio() -> dict:
    return {
        "key": "sla_met",
        "agg": "ratio",
        "label": L("SLA 达成率", "SLA attainment"),
        "format": PERCENT,
        "numerator": {"key": "met", "agg": "count", "filter": {"!": {"var": "sla_breached"}}},
        "denominator": {"key": "all", "agg": "count"},
    }


def fcr_ratio() -> dict:
    return {
        "key": "fcr",
        "agg": "ratio",
        "label": L("一次解决率", "First-contact resolution"),
        "format": PERCENT,
        "numerator": {
            "key": "first",
            "agg": "count",
            "filter": {"==": [{"var": "first_contact_resolution"}, True]},
        },
        "denominator": {"key": "done", "agg": "count", "filter": CLOSED},
    }


def operations_widgets() -> list[dict]:
    day = {"key": "day", "field": "created_at", "bucket": "day", "label": L("日期", "Day")}
    return [
        w(
            "volume",
            "工单量",
            "Ticket volume",
            "kpi",
            measures=[COUNT],
            compare={"field": "created_at", "days": 30},
        ),
        w(
            "volume_by_day",
            "每日工单量",
            "Tickets per day",
            "line",
            measures=[COUNT],
            dimensions=[day],
        ),
        w("backlog", "积压工单", "Backlog", "kpi", measures=[COUNT], filter=OPEN),
        w(
            "backlog_by_status",
            "积压（按状态）",
            "Backlog by status",
            "bar",
            measures=[COUNT],
            dimensions=[{"key": "status", "field": "status"}],
            filter=OPEN,
        ),
        w(
            "first_response",
            "平均首次响应",
            "Average first response",
            "kpi",
            measures=[
                {
                    "key": "avg",
                    "agg": "avg",
                    "field": "first_response_minutes",
                    "format": MINUTES,
                }
            ],
        ),
        w(
            "resolution_time",
            "平均解决用时",
            "Average resolution time",
            "kpi",
            measures=[
                {"key": "avg", "agg": "avg", "field": "resolution_minutes", "format": HOURS},
                {
                    "key": "p90",
                    "agg": "percentile",
                    "p": 0.9,
                    "field": "resolution_minutes",
                    "label": L("90 分位", "90th percentile"),
                    "format": HOURS,
                },
            ],
        ),
        w("sla_attainment", "SLA 达成率", "SLA attainment", "kpi", measures=[sla_ratio()]),
        w(
            "fcr",
            "一次解决率（类别 × 团队）",
            "First-contact resolution (category × team)",
            "pivot",
            measures=[fcr_ratio()],
            dimensions=[{"key": "category", "field": "category"}, {"key": "team", "field": "team"}],
            pivot={"rows": ["category"], "columns": ["team"]},
        ),
        w(
            "csat",
            "客户满意度",
            "Customer satisfaction (CSAT)",
            "kpi",
            "survey",
            measures=[
                {
                    "key": "score",
                    "agg": "avg",
                    "field": "score",
                    "label": L("平均分", "Average score"),
                    "format": SCORE,
                }
            ],
        ),
        w(
            "leaderboard",
            "客服排行榜",
            "Agent leaderboard",
            "table",
            measures=[
                {"key": "solved", "agg": "count", "filter": CLOSED, "label": L("已解决", "Solved")},
                {
                    "key": "avg_minutes",
                    "agg": "avg",
                    "field": "resolution_minutes",
                    "label": L("平均解决用时", "Average resolution time"),
                    "format": HOURS,
                },
            ],
            dimensions=[{"key": "agent", "field": "assignee", "label": L("客服", "Agent")}],
            sort=[{"key": "solved", "desc": True}],
            limit=10,
        ),
    ]


def filters(department: bool = False) -> list[dict]:
    out = [
        {
            "key": "period",
            "kind": "date_range",
            "field": "created_at",
            "label": L("时间段", "Period"),
        },
        {
            "key": "team",
            "kind": "choice",
            "field": "team",
            "label": L("团队", "Team"),
            "widgets": [
                "volume",
                "volume_by_day",
                "backlog",
                "backlog_by_status",
                "first_response",
                "resolution_time",
                "sla_attainment",
                "leaderboard",
            ],
        },
    ]
    if department:
        out.append({"key": "department", "kind": "department", "label": L("部门", "Department")})
    return out


def dashboards() -> list[dict]:
    month = {"key": "month", "field": "created_at", "bucket": "month", "label": L("月份", "Month")}
    executive = [
        w(
            "volume_trend",
            "工单量趋势",
            "Ticket volume trend",
            "line",
            measures=[COUNT],
            dimensions=[month],
        ),
        w(
            "resolution_trend",
            "解决用时趋势",
            "Resolution time trend",
            "line",
            measures=[{"key": "avg", "agg": "avg", "field": "resolution_minutes", "format": HOURS}],
            dimensions=[month],
        ),
        w(
            "sla_trend",
            "SLA 达成率趋势",
            "SLA attainment trend",
            "line",
            measures=[sla_ratio()],
            dimensions=[month],
        ),
        w(
            "csat_trend",
            "满意度趋势",
            "CSAT trend",
            "line",
            "survey",
            measures=[{"key": "score", "agg": "avg", "field": "score", "format": SCORE}],
            dimensions=[month],
        ),
        w(
            "by_category",
            "类别分布",
            "Tickets by category",
            "pie",
            measures=[COUNT],
            dimensions=[{"key": "category", "field": "category"}],
        ),
        w(
            "by_department",
            "各部门工单",
            "Tickets by department",
            "bar",
            measures=[COUNT],
            dimensions=[{"key": "department", "field": "department_id"}],
        ),
        w(
            "returns",
            "退货金额",
            "Return amounts",
            "kpi",
            "return_request",
            measures=[
                {"key": "amount", "agg": "sum", "field": "amount"},
                {"key": "n", "agg": "count"},
            ],
        ),
    ]
    return [
        {
            "key": "operations",
            "title": L("客服运营", "Operations"),
            "timezone": "Asia/Shanghai",
            "widgets": operations_widgets(),
            "filters": filters(),
        },
        {
            "key": "executive",
            "title": L("管理层概览", "Executive overview"),
            "timezone": "Asia/Shanghai",
            "widgets": executive,
            "filters": [
                {
                    "key": "period",
                    "kind": "date_range",
                    "field": "created_at",
                    "label": L("时间段", "Period"),
                }
            ],
        },
        {
            "key": "department",
            "title": L("本部门", "My department"),
            "timezone": "Asia/Shanghai",
            "widgets": operations_widgets(),
            "filters": filters(department=True),
        },
    ]


# --- roles and permissions -----------------------------------------------------------------


def roles() -> list[dict]:
    return [
        {"key": "agent", "name": L("客服", "Agent")},
        {"key": "supervisor", "name": L("主管", "Supervisor")},
        {"key": "department_manager", "name": L("部门经理", "Department manager")},
        {"key": "executive", "name": L("管理层", "Executive")},
        {"key": "administrator", "name": L("管理员", "Administrator")},
        {"key": "return_approver", "name": L("退货会签人", "Return countersigner")},
    ]


def grant(
    id_: str,
    role: str,
    actions: list[str],
    form_: str | None = None,
    scope: str = "all",
    **extra: Any,
) -> dict:
    out: dict[str, Any] = {
        "id": id_,
        "grantee": {"kind": "role", "key": role},
        "actions": actions,
        "scope": scope,
        **extra,
    }
    if form_ is not None:
        out["form"] = form_
    return out


WORK = ["create", "read", "update"]
MINE = {"==": [{"var": "assignee"}, {"current_user": "id"}]}


def permissions() -> list[dict]:
    out = [
        # Agents: customers and the knowledge base of everyone; the tickets of their
        # department and the ones assigned to them (routing crosses departments).
        grant("agent_customers", "agent", WORK, "customer"),
        grant("agent_articles", "agent", ["read"], "article"),
        grant("agent_kb_categories", "agent", ["read"], "kb_category"),
        grant("agent_deflections", "agent", ["read"], "deflection"),
        grant("agent_tickets", "agent", WORK, "ticket", "department"),
        grant("agent_assigned", "agent", ["read", "update"], "ticket", "rule", rule=MINE),
    ]
    for form_ in ("communication", "return_request", "survey"):
        out.append(grant(f"agent_{form_}", "agent", WORK, form_, "department"))
    # Surveys are created by a rule in the ticket's department; agents also see the ones of
    # their tickets (routing crosses departments).
    out.append(
        grant(
            "agent_own_surveys",
            "agent",
            ["read", "update"],
            "survey",
            "rule",
            rule={"==": [{"var": "agent"}, {"current_user": "id"}]},
        )
    )
    out += [
        grant("supervisor_all", "supervisor", [*WORK, "export"]),
        # Department managers: every form, rows of their own department only.
        grant(
            "manager_department",
            "department_manager",
            ["read", "update", "export"],
            scope="department",
        ),
        grant("manager_articles", "department_manager", ["read"], "article"),
        grant("manager_kb", "department_manager", ["read"], "kb_category"),
        grant("manager_deflections", "department_manager", ["read"], "deflection"),
        grant("executive_read", "executive", ["read", "export"]),
        grant(
            "admin_all",
            "administrator",
            ["create", "read", "update", "delete", "export", "import", "design"],
        ),
        grant("approver_returns", "return_approver", ["read"], "return_request"),
    ]
    return out


# --- writing ---------------------------------------------------------------------------------

MANIFEST = {
    "format": "tangram.template",
    "format_version": 1,
    "key": "customer_center",
    "name": L("客户中心", "Customer Center"),
    "version": "1.0.0",
    "min_platform": "0.1.0",
    "description": L(
        "多渠道客服中心：客户、工单、沟通记录、知识库、退货与满意度回访，"
        "含 SLA、自动化规则与仪表板。",
        "A multi-channel helpdesk: customers, tickets, communications, knowledge base, returns "
        "and satisfaction surveys, with SLAs, automation rules and dashboards.",
    ),
    "icon": "🎧",
    "locales": ["zh-CN", "en"],
    "parts": [
        "forms",
        "flows",
        "rules",
        "sla",
        "calendars",
        "dashboards",
        "roles",
        "permissions",
        "intake",
        "org",
        "seed",
    ],
}


def intake() -> list[dict[str, Any]]:
    """Where the channels' messages land: customers matched by email, phone and openid, their
    open ticket (or a new one), a communication per message."""
    return [
        {
            "key": "support",
            "label": L("客服工单", "Support tickets"),
            "customer": {
                "form": "customer",
                "name": "name",
                "email": "email",
                "phone": "phone",
                "openid": "wechat_openid",
            },
            "ticket": {
                "form": "ticket",
                "customer": "customer",
                "subject": "subject",
                "description": "description",
                "channel": "channel",
                "status": "status",
                "open": ["new", "triage", "in_progress", "waiting_customer"],
                "reopen": ["resolved"],
                "number": "number",
            },
            "message": {
                "form": "communication",
                "ticket": "ticket",
                "customer": "customer",
                "direction": "direction",
                "inbound": "inbound",
                "outbound": "outbound",
                "channel": "channel",
                "body": "body",
                "attachments": "attachments",
                "sender": "sender",
                "recipient": "recipient",
            },
            "channels": {kind: kind for kind in ("email", "chat", "wechat", "phone", "web")},
            "knowledge": {
                "form": "article",
                "title": "title",
                "body": "body",
                "summary": "summary",
                "keywords": "keywords",
                "category": "section",
                "categories": {
                    "form": "kb_category",
                    "name": "name",
                    "description": "description",
                    "parent": "parent",
                    "position": "position",
                    "icon": "icon",
                },
                "visibility": "visibility",
                "public": ["public"],
                "status": "status",
                "published": ["published"],
                "attachments": "attachments",
                "helpful": "helpful",
                "not_helpful": "not_helpful",
                "views": "views",
            },
            "survey": {
                "form": "survey",
                "ticket": "ticket",
                "customer": "customer",
                "score": "score",
                "nps": "nps",
                "comment": "comment",
                "status": "status",
                "sent": "sent",
                "answered": "answered",
                "answered_at": "answered_at",
            },
            "deflection": {
                "form": "deflection",
                "query": "query",
                "article": "article",
                "outcome": "outcome",
                "deflected": "deflected",
                "submitted": "submitted",
                "source": "source",
                "sources": {"portal": "portal", "web_form": "web_form"},
                "customer": "customer",
                "ticket": "ticket",
            },
            "portal": {
                "title": L("客户服务中心", "Help center"),
                "reopen_days": 7,
                "reopen_to": "in_progress",
                "reopen_from": ["resolved", "closed"],
                "resolved_at": "resolved_at",
            },
        }
    ]


def dump(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write(root: Path = ROOT) -> None:
    dump(root / "manifest.json", MANIFEST)
    for item in forms():
        dump(root / "forms" / f"{item['key']}.json", item)
    for item in (ticket_lifecycle(), return_approval()):
        flow = Flow.model_validate(item)
        (root / "flows").mkdir(parents=True, exist_ok=True)
        (root / "flows" / f"{flow.key}.bpmn").write_text(to_bpmn(flow), encoding="utf-8")
    written = rules()
    for stale in (root / "rules").glob("*.json"):  # rules renamed or removed
        if stale.stem not in {item["key"] for item in written}:
            stale.unlink()
    for item in written:
        dump(root / "rules" / f"{item['key']}.json", item)
    dump(root / "sla" / "policies.json", sla())
    dump(root / "sla" / "calendars.json", calendars())
    for item in dashboards():
        dump(root / "dashboards" / f"{item['key']}.json", item)
    dump(root / "roles.json", roles())
    dump(root / "permissions.json", permissions())
    dump(root / "intake.json", intake())
    # Labels are inline (zh-CN and en); the translation files the template format reads
    # stay empty.
    for locale in MANIFEST["locales"]:
        dump(root / "locales" / f"{locale}.json", {})


if __name__ == "__main__":
    write()
    # The demo data (org.json, demo/users.json, seed/) reads the calendar and SLA targets
    # written above: scripts/customer_center_demo.py, standard library only.
    from customer_center_demo import write as write_demo

    write_demo()
