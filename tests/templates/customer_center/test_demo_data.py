"""The Customer Center demo data (org.json, demo/users.json, seed/*.jsonl), checked as files:
what scripts/customer_center_demo.py writes is what is committed; every reference resolves
(relation ids, usernames, department codes, option values); times are relative, parse and lie
in the last 90 days; statuses, SLA outcomes, surveys and returns agree with each other and with
the template's rules and SLA policy; and the rows pass the forms' validators (layout.from_files).
No database."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import statistics
import sys
from collections import Counter
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from engines.flow.bpmn.importer import from_bpmn
from engines.rules.calendar import parse_calendar
from templates.layout import from_files
from templates.source import read_source
from tests.templates.customer_center.install import GROUPS, ROOT

SCRIPT = ROOT.parents[1] / "scripts" / "customer_center_demo.py"
FORMS = ("customer", "article", "ticket", "communication", "survey", "return_request")
DONE = ("resolved", "closed")
OPEN = ("new", "triage", "in_progress", "waiting_customer")
RELATIVE = re.compile(r"^@now((?:[+-]\d+[dhms])+)$")
SYSTEM = {"_id", "_created_at", "_updated_at", "_owner", "_department", "_events"}


@cache
def demo() -> Any:
    spec = importlib.util.spec_from_file_location("customer_center_demo", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _json(name: str) -> Any:
    return json.loads((ROOT / name).read_text(encoding="utf-8"))


@cache
def seed(form: str) -> tuple[dict[str, Any], ...]:
    lines = (ROOT / "seed" / f"{form}.jsonl").read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


@cache
def forms() -> dict[str, dict[str, Any]]:
    return {key: _json(f"forms/{key}.json") for key in FORMS}


def fields(form: str) -> dict[str, dict[str, Any]]:
    return {spec["key"]: spec for spec in forms()[form]["fields"]}


def ago(value: str) -> timedelta:
    """How long before the install a relative time is (``@now-3d-4h`` → 3 days 4 hours)."""
    match = RELATIVE.match(value)
    assert match, value
    total = timedelta()
    units = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
    for sign, number, unit in re.findall(r"([+-])(\d+)([dhms])", match[1]):
        part = timedelta(**{units[unit]: int(number)})
        total += part if sign == "-" else -part
    return total


def at(value: str) -> datetime:
    """The moment on the generator's reference clock."""
    return demo().REFERENCE_NOW - ago(value)


def by_id(form: str) -> dict[int, dict[str, Any]]:
    return {row["_id"]: row for row in seed(form)}


def users() -> dict[str, dict[str, Any]]:
    return {u["username"]: u for u in _json("demo/users.json")}


# --- the generator ---------------------------------------------------------------------


def test_the_committed_files_are_what_the_generator_writes(tmp_path):
    (tmp_path / "sla").mkdir()
    for name in ("calendars.json", "policies.json"):
        shutil.copy(ROOT / "sla" / name, tmp_path / "sla" / name)
    counts = demo().write(tmp_path)
    for name in counts:
        assert (tmp_path / name).read_bytes() == (ROOT / name).read_bytes(), name


def test_manifest_lists_org_and_seed():
    assert {"org", "seed"} <= set(_json("manifest.json")["parts"])


# --- organisation and users --------------------------------------------------------------


def test_org_has_the_departments_and_every_group_the_definition_names():
    org = _json("org.json")
    codes = [d["code"] for d in org["departments"]]
    assert len(codes) == len(set(codes)) >= 4
    for department in org["departments"]:
        assert set(department["name"]) == {"zh-CN", "en"}
        assert department.get("parent") in (None, *codes)
    named: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("group"), str):
                named.add(value["group"])
            if isinstance(value.get("group"), dict):
                named.add(value["group"]["group"])
            if value.get("kind") == "group":
                named.add(value["key"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted((ROOT / "rules").glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    walk(_json("sla/policies.json"))
    for path in sorted((ROOT / "flows").glob("*.bpmn")):
        flow = from_bpmn(path.read_text(encoding="utf-8")).flow
        assert flow is not None
        walk(flow.model_dump(mode="json"))
    keys = {g["key"] for g in org["groups"]}
    assert named == set(GROUPS) and keys >= named, (named, keys)


def test_demo_users():
    people = _json("demo/users.json")
    org = _json("org.json")
    codes = {d["code"] for d in org["departments"]}
    groups = {g["key"] for g in org["groups"]}
    roles = {r["key"] for r in _json("roles.json")}
    assert len({p["username"] for p in people}) == len(people)
    for person in people:
        assert re.fullmatch(r"[a-z]+\.[a-z]+", person["username"]), person
        assert person["email"] == f"{person['username']}@demo.tangram.cn"
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,3}", person["name"]), person
        assert person["department"] in codes
        assert set(person["groups"]) <= groups and set(person["roles"]) <= roles
        assert person["password"]
    agents = [p for p in people if "agent" in p["roles"]]
    assert 16 <= len(agents) <= 20
    # One account per role (its first role) is listed on the sign-in page.
    shown = Counter(p["roles"][0] for p in people if p["show_on_sign_in"])
    assert shown == Counter(roles), shown
    # Every department has one head; the heads of the sub-departments are their managers.
    heads = Counter(p["department"] for p in people if p["head"])
    assert heads == Counter(codes)
    for person in people:
        if person["head"] and person["department"] != "cs":
            assert "department_manager" in person["roles"]
    # Every group has members; the countersigners are a finance and a warehouse member.
    for group in groups:
        assert any(group in p["groups"] for p in people), group
    approvers = [p for p in people if "return_approver" in p["roles"]]
    assert {g for p in approvers for g in p["groups"]} == {"finance", "warehouse"}


# --- rows: references and values ----------------------------------------------------------


def test_counts():
    companies = {row["company"] for row in seed("customer")}
    assert len(seed("customer")) == 300 and 70 <= len(companies) <= 90
    assert len(seed("ticket")) == 2000
    assert len(seed("article")) >= 25
    assert 110 <= len(seed("return_request")) <= 130
    per_ticket = len(seed("communication")) / len(seed("ticket"))
    assert 2 <= per_ticket <= 4, per_ticket


def test_ids_relations_users_departments_and_options_resolve():
    ids = {form: [row["_id"] for row in seed(form)] for form in FORMS}
    form_key = {spec["id"]: key for key, spec in forms().items()}
    usernames = set(users())
    codes = {d["code"] for d in _json("org.json")["departments"]}
    for form in FORMS:
        assert ids[form] == list(range(1, len(ids[form]) + 1)), form
        specs = fields(form)
        for row in seed(form):
            assert set(row) <= set(specs) | SYSTEM, (form, set(row) - set(specs))
            assert row.get("_owner") in (None, *usernames), (form, row["_id"])
            assert row.get("_department") in (None, *codes), (form, row["_id"])
            for key, value in row.items():
                spec = specs.get(key)
                if spec is None:
                    continue
                kind, options = spec["type"], spec.get("options") or {}
                if kind == "relation":
                    target = form_key[options["form_id"]]
                    assert value in set(ids[target]), (form, row["_id"], key, value)
                elif kind == "user":
                    assert value in usernames, (form, row["_id"], key, value)
                elif kind in ("select", "multiselect"):
                    allowed = {o["value"] for o in options["options"]}
                    values = value if kind == "multiselect" else [value]
                    assert set(values) <= allowed, (form, row["_id"], key, value)
                elif kind == "subtable":
                    columns = {c["key"] for c in options["fields"]}
                    assert value and all(set(line) <= columns for line in value)
                elif kind == "datetime":
                    assert RELATIVE.match(value), (form, key, value)
                elif kind == "boolean":
                    assert isinstance(value, bool)
                elif kind == "integer":
                    assert isinstance(value, int)


def test_times_are_relative_and_recent():
    recent = ("ticket", "communication", "survey", "return_request")
    for form in FORMS:
        for row in seed(form):
            for key in ("_created_at", "_updated_at"):
                if key in row:
                    when = ago(row[key])
                    assert when >= timedelta(0), (form, row["_id"], key)
                    if form in recent:
                        assert when <= timedelta(days=90), (form, row["_id"], key)
            if "_updated_at" in row:
                assert ago(row["_updated_at"]) <= ago(row["_created_at"]), (form, row["_id"])
    for row in seed("ticket"):
        for key in ("first_response_at", "resolved_at", "customer_replied_at"):
            if key in row:
                assert timedelta(0) <= ago(row[key]) <= ago(row["_created_at"]), (row, key)


def test_customers_look_real():
    rows = seed("customer")
    phones = [r["phone"] for r in rows]
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"1[3-9]\d{9}", p) for p in phones)
    openids = [r["wechat_openid"] for r in rows if "wechat_openid" in r]
    assert len(set(openids)) == len(openids) and 0.25 < len(openids) / len(rows) < 0.6
    assert all(re.fullmatch(r"o[A-Za-z0-9_-]{27}", o) for o in openids)
    emails = [r["email"] for r in rows if "email" in r]
    assert len(set(emails)) == len(emails) and all("@" in e for e in emails)
    assert all(r["company"].endswith(("有限公司", "合伙）")) for r in rows)
    assert Counter(r["level"] for r in rows).keys() == {"vip", "gold", "standard"}
    assert all(r["account_manager"] == r["_owner"] for r in rows)


def test_articles_are_real_documents():
    rows = seed("article")
    assert sum(r["status"] == "published" for r in rows) >= 25
    assert {r["category"] for r in rows} >= {"consult", "repair", "return", "complaint"}
    for row in rows:
        if row["status"] == "published":
            assert row["body"].count("<p>") >= 2 or "<li>" in row["body"], row["title"]
            assert len(re.sub(r"<[^>]+>", "", row["body"])) > 150, row["title"]
        assert row["keywords"]
    assert any("发票" in r["title"] for r in rows) and any("退货" in r["title"] for r in rows)


# --- tickets ---------------------------------------------------------------------------


def test_ticket_status_follows_age_and_the_rules():
    people = users()
    rows = sorted(seed("ticket"), key=lambda r: ago(r["_created_at"]))
    counts = Counter(r["status"] for r in rows)
    assert set(counts) == {*OPEN, *DONE}
    assert counts["closed"] > counts["resolved"] > 0
    assert 30 <= sum(counts[s] for s in OPEN) <= 200  # a real backlog
    # _events: exactly the newest tickets, status new; nothing else runs at install.
    fresh = [r for r in rows if r.get("_events")]
    assert 5 <= len(fresh) <= 15 and fresh == rows[: len(fresh)]
    assert all(r["status"] == "new" for r in fresh)
    assert all(r.get("_events") for r in rows if r["status"] == "new")
    for row in rows:
        status = row["status"]
        if status == "new":
            assert "assignee" not in row and "first_response_at" not in row
            continue
        assignee = people[row["assignee"]]
        assert row["_owner"] == row["assignee"]
        assert row["_department"] == assignee["department"]
        # Keyword routing: invoices to finance, returns to the warehouse, else first line.
        text = row["subject"] + " " + row["description"]
        team = "finance" if "发票" in text else "warehouse" if "退货" in text else "first_line"
        assert row["team"] == team and team in assignee["groups"], row["_id"]
        assert ("退货" in text) == (row["category"] == "return"), row["_id"]
        responded = "first_response_at" in row
        assert responded == (status != "triage"), row["_id"]
        if responded:
            wall = (at(row["first_response_at"]) - at(row["_created_at"])).total_seconds()
            assert row["first_response_minutes"] == int(wall // 60)
        if status in DONE:
            wall = (at(row["resolved_at"]) - at(row["_created_at"])).total_seconds()
            assert row["resolution_minutes"] == int(wall // 60)
            assert row["first_contact_resolution"] == (row["reopen_count"] == 0)
            # auto_close: a ticket resolved more than 7 days ago is closed.
            if ago(row["resolved_at"]) > timedelta(days=7):
                assert status == "closed", row["_id"]
        elif row["reopen_count"] == 0:
            assert "resolved_at" not in row and "satisfaction" not in row, row["_id"]
        if "escalated_to" in row:  # escalate_complaint: open 24 h
            assert row["category"] == "complaint"
            assert row["priority"] == "urgent" and row["escalated"]
            assert "supervisors" in people[row["escalated_to"]]["groups"]


def test_sla_outcomes_agree_with_the_policy():
    [policy] = _json("sla/policies.json")
    [calendar] = [parse_calendar(c) for c in _json("sla/calendars.json")]
    targets = {
        key: (t["first_response"]["hours"] * 60, t["resolution"]["hours"] * 60)
        for key, t in policy["targets"].items()
    }
    rows = [r for r in seed("ticket") if r["status"] != "new"]
    breached = [r for r in rows if r["sla_breached"]]
    assert 0.08 <= len(breached) / len(rows) <= 0.15, len(breached) / len(rows)
    for row in rows:
        if row["sla_breached"]:
            assert row["escalated"] and row["sla_warned"], row["_id"]
        response, resolution = targets[row["priority"]]
        created = at(row["_created_at"])
        end = at(row["first_response_at"]) if "first_response_at" in row else demo().REFERENCE_NOW
        business = calendar.business_between(created, end).total_seconds() / 60
        if business > response:  # late first response (never paused)
            assert row["sla_breached"], row["_id"]
        if row["status"] in DONE:
            whole = calendar.business_between(created, at(row["resolved_at"]))
            # Business time including any pause is an upper bound of the SLA's.
            if business <= response and whole.total_seconds() / 60 <= resolution:
                assert not row["sla_breached"], row["_id"]
    done = [r for r in rows if r["status"] in DONE]
    assert statistics.median(r["first_response_minutes"] for r in done) < 240
    assert 0.8 <= sum(r["first_contact_resolution"] for r in done) / len(done) <= 0.95


def test_communications_fit_their_tickets():
    tickets = by_id("ticket")
    people = users()
    per_ticket: dict[int, list[dict[str, Any]]] = {}
    for row in seed("communication"):
        per_ticket.setdefault(row["ticket"], []).append(row)
    assert set(per_ticket) == set(tickets)
    for ticket_id, rows in per_ticket.items():
        ticket = tickets[ticket_id]
        created = ago(ticket["_created_at"])
        first = min(rows, key=lambda r: (-ago(r["_created_at"]), r["_id"]))
        assert first["direction"] == "inbound" and ago(first["_created_at"]) == created
        for row in rows:
            assert row["customer"] == ticket["customer"]
            assert ago(row["_created_at"]) <= created
            if ticket["status"] in DONE:
                assert ago(row["_created_at"]) >= ago(ticket["resolved_at"]), row["_id"]
            if row["direction"] == "outbound":
                assert row["sender"] == people[ticket["assignee"]]["name"]
            assert (row["direction"] == "internal") == ("channel" not in row)
            assert row.get("_owner") == ticket.get("assignee")
        if ticket["status"] in ("new", "triage"):
            assert [r["direction"] for r in rows] == ["inbound"]
        # Rule first_response: the agent's first outbound message is the first response.
        sent = [ago(r["_created_at"]) for r in rows if r["direction"] == "outbound"]
        responded = ticket.get("first_response_at")
        assert max(sent, default=None) == (ago(responded) if responded else None), ticket_id


def test_surveys():
    tickets = by_id("ticket")
    rows = seed("survey")
    done = [t for t in tickets.values() if t["status"] in DONE]
    assert 0.6 <= len(rows) / len(done) <= 0.8
    assert len({r["ticket"] for r in rows}) == len(rows)
    good, bad = [], []
    for row in rows:
        ticket = tickets[row["ticket"]]
        assert ticket["status"] in DONE
        assert row["agent"] == ticket["assignee"] and row["customer"] == ticket["customer"]
        assert row["resolved_first_time"] == ticket["first_contact_resolution"]
        assert ago(row["_created_at"]) <= ago(ticket["_created_at"])
        if row["status"] == "answered":
            assert 1 <= row["score"] <= 5 and ticket["satisfaction"] == row["score"]
            troubled = ticket["sla_breached"] or ticket["reopen_count"]
            (bad if troubled else good).append(row["score"])
        else:
            assert "score" not in row and "satisfaction" not in ticket
    answered = len(good) + len(bad)
    assert answered / len(rows) >= 0.8
    assert 3.9 <= (sum(good) + sum(bad)) / answered <= 4.5
    assert statistics.mean(bad) < statistics.mean(good) - 0.5


def test_returns():
    tickets = by_id("ticket")
    rows = seed("return_request")
    amounts = []
    for row in rows:
        ticket = tickets[row["ticket"]]
        assert ticket["category"] == "return" and row["customer"] == ticket["customer"]
        assert row["_owner"] == ticket["assignee"]
        total = sum(line["quantity"] * float(line["unit_price"]) for line in row["lines"])
        assert abs(total - float(row["amount"])) < 0.005, row["_id"]
        amounts.append(float(row["amount"]))
        if row["status"] == "submitted":
            assert ticket["status"] not in DONE
        assert ago(row["_created_at"]) <= ago(ticket["_created_at"])
    statuses = Counter(r["status"] for r in rows)
    assert statuses["approved"] > statuses["rejected"] > 0
    big = sum(a > 1000 for a in amounts)
    assert 0.15 * len(rows) <= big <= 0.7 * len(rows)


# --- the template reads them ---------------------------------------------------------------


def test_the_template_reads_the_demo_data():
    """The platform's own check (every form validator, org, demo users, seed extensions)
    finds no problem in the generated files."""
    template, problems = from_files(read_source(ROOT))
    rows = {form: list(seed(form)) for form in FORMS}
    assert problems == [], problems[:20]
    assert template is not None
    assert {k: len(v) for k, v in template.seed.items()} == {k: len(v) for k, v in rows.items()}
