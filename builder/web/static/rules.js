// Rules page: the draft's automation rules (list, enabled switch, new rule) and one rule's
// editor — trigger, condition (shared condition builder), ordered actions with field pickers —
// plus a test run on a record (published, unchanged rules) and the published rule's run log.
(function () {
  "use strict";
  var E, T = {}, CHOICES = {}, store = null, config = {}, page = null, initial = {};

  function label(labels) { return window.tangram.conditions.pickLabel(labels); }
  function forms() { return store.definition.forms || []; }
  function formOf(key) { return forms().find(function (f) { return f.key === key; }) || null; }
  function fieldOptions(formKey, filter) {
    var form = formOf(formKey);
    return ((form && form.fields) || []).filter(function (f) { return f.type !== "subtable" && (!filter || filter(f)); })
      .map(function (f) { return { key: f.key, label: (label(f.label) || f.key) + " (" + f.key + ")" }; });
  }
  function choiceLabel(list, key) { var found = list.find(function (c) { return c.key === key; }); return found ? found.label : key; }
  function ruleIndex(key) { return (store.definition.rules || []).findIndex(function (r) { return r.key === key; }); }
  // Change the rule being edited (found again by key: undo may have moved it).
  function edit(key, mutate) {
    store.change(function (d) { var i = (d.rules || []).findIndex(function (r) { return r.key === key; }); if (i >= 0) mutate(d.rules[i], d); });
  }

  // --- the list ------------------------------------------------------------------------------
  function renderList() {
    var list = page.querySelector("[data-rules-list]");
    list.textContent = "";
    var rules = store.definition.rules || [];
    if (!rules.length) { list.appendChild(E.el("p", { className: "muted", text: T.no_rules })); }
    else {
      var body = E.el("tbody");
      rules.forEach(function (rule, index) {
        var on = E.checkbox(T.enabled, rule.enabled !== false, { "data-rule-enabled": rule.key });
        on.input.addEventListener("change", function () {
          edit(rule.key, function (r) { r.enabled = on.input.checked; });
        });
        var remove = E.el("button", { type: "button", className: "button button--small", text: T.remove, "data-rule-remove": rule.key });
        remove.addEventListener("click", function () {
          store.change(function (d) { d.rules.splice(index, 1); });
          renderList(); E.announce(T.removed);
        });
        var link = E.el("a", { href: "/build/apps/" + config.app_key + "/rules/" + rule.key, text: label(rule.name) || rule.key });
        body.appendChild(E.el("tr", { "data-path": "definition.rules[" + index + "]" }, [
          E.el("td", {}, [link, E.el("div", {}, [E.el("code", { text: rule.key })])]),
          E.el("td", { text: rule.form }),
          E.el("td", { text: choiceLabel(CHOICES.triggers, (rule.trigger || {}).on) }),
          E.el("td", {}, [on.node]),
          E.el("td", {}, [remove]),
        ]));
      });
      list.appendChild(E.el("table", { className: "table" }, [E.el("thead", {}, [E.el("tr", {}, [T.form, T.trigger, T.enabled, ""].reduce(function (cells, text) {
        cells.push(E.el("th", { scope: "col", text: text })); return cells;
      }, [E.el("th", { scope: "col", text: T.rule || "" })]))]), body]));
    }
    var formSelect = page.querySelector("[data-new-rule-form]");
    formSelect.textContent = "";
    forms().forEach(function (f) { formSelect.appendChild(E.el("option", { value: f.key, text: label(f.label) || f.key })); });
  }

  function bindNew() {
    var formNode = page.querySelector("[data-new-rule]");
    formNode.addEventListener("submit", function (event) {
      event.preventDefault();
      var key = page.querySelector("[data-new-rule-key]").value.trim();
      var error = page.querySelector("[data-new-rule-error]");
      var formKey = page.querySelector("[data-new-rule-form]").value;
      if (!/^[a-z][a-z0-9_]{0,62}$/.test(key)) { error.textContent = T.bad_key; return; }
      if (ruleIndex(key) >= 0) { error.textContent = T.taken; return; }
      if (!formKey) { error.textContent = T.no_forms; return; }
      window.location.href = "/build/apps/" + config.app_key + "/rules/" + key + "?form=" + encodeURIComponent(formKey);
    });
  }

  // --- one rule ------------------------------------------------------------------------------
  function newRule(key, formKey) {
    return { key: key, name: {}, form: formKey, enabled: true, trigger: { on: "created" }, condition: null, actions: [{ type: "set_fields", values: {} }] };
  }

  function renderRule(key) {
    var box = page.querySelector("[data-rule-editor]");
    box.textContent = "";
    var index = ruleIndex(key);
    if (index < 0) { box.appendChild(E.el("p", { className: "muted", text: T.not_found })); return; }
    var rule = store.definition.rules[index];
    var base = "definition.rules[" + index + "]";
    var zh = E.input((rule.name || {})["zh-CN"]), en = E.input((rule.name || {}).en);
    [[zh, "zh-CN"], [en, "en"]].forEach(function (pair) {
      pair[0].addEventListener("change", function () {
        edit(key, function (r) { r.name = r.name || {}; if (pair[0].value.trim()) r.name[pair[1]] = pair[0].value.trim(); else delete r.name[pair[1]]; });
      });
    });
    var formSelect = E.select(forms().map(function (f) { return { key: f.key, label: label(f.label) || f.key }; }), rule.form, { "data-rule-form": "" });
    formSelect.addEventListener("change", function () { edit(key, function (r) { r.form = formSelect.value; }); renderRule(key); });
    var enabled = E.checkbox(T.enabled, rule.enabled !== false, { "data-rule-enabled": key });
    enabled.input.addEventListener("change", function () { edit(key, function (r) { r.enabled = enabled.input.checked; }); });
    box.appendChild(E.el("div", { className: "rule-head" }, [
      E.field(T.name_zh, zh, base + ".name"), E.field(T.name_en, en), E.field(T.form, formSelect, base + ".form"), enabled.node,
    ]));
    box.appendChild(renderTrigger(key, rule, base + ".trigger"));
    var condition = E.el("div", { "data-rule-condition": "" });
    var condBox = E.el("fieldset", { className: "rule-part", "data-path": base + ".condition" }, [E.el("legend", { text: T.condition }), condition]);
    box.appendChild(condBox);
    window.tangram.conditions.mount(condition, {
      fields: window.tangram.conditions.fieldsOf(formOf(rule.form), "record."),
      value: rule.condition === undefined ? null : rule.condition,
      onChange: function (logic) { edit(key, function (r) { r.condition = logic; }); },
    });
    box.appendChild(renderActions(key, rule, base + ".actions"));
    E.showProblems(page, store.problems);
  }

  function numberInput(value, attrs) { return E.input(value || "", Object.assign({ type: "number", min: "0" }, attrs || {})); }

  function renderTrigger(key, rule, path) {
    var trigger = rule.trigger || { on: "created" };
    var kind = E.select(CHOICES.triggers, trigger.on, { "data-trigger-on": "" });
    kind.addEventListener("change", function () {
      var on = kind.value, fresh = { on: on };
      var first = (fieldOptions(rule.form)[0] || {}).key;
      if (on === "field_changed") fresh.field = first;
      if (on === "time") { fresh.field = "created_at"; fresh.after = { hours: 1 }; fresh.calendar = "standard_weekdays"; }
      if (on === "schedule") fresh.cron = "0 9 * * 1-5";
      if (on === "flow_event") fresh.event = "task_created";
      edit(key, function (r) { r.trigger = fresh; });
      renderRule(key);
    });
    var parts = [E.el("legend", { text: T.trigger }), E.field(T.trigger, kind, path + ".on")];
    function set(name, value) { edit(key, function (r) { if (value === null || value === "") delete r.trigger[name]; else r.trigger[name] = value; }); }
    function text(name, labelText, attrs) {
      var node = E.input(trigger[name], attrs);
      node.addEventListener("change", function () { set(name, node.value.trim()); });
      parts.push(E.field(labelText, node, path + "." + name));
    }
    if (trigger.on === "field_changed") {
      var pick = E.select(fieldOptions(rule.form), trigger.field, { "data-trigger-field": "" });
      pick.addEventListener("change", function () { set("field", pick.value); });
      parts.push(E.field(T.field, pick, path + ".field"));
      ["from", "to"].forEach(function (name) {
        var node = E.input(E.showValue(trigger[name]));
        node.addEventListener("change", function () { set(name, E.parseValue(node.value)); });
        parts.push(E.field(T[name], node, path + "." + name));
      });
    } else if (trigger.on === "time") {
      var dates = [{ key: "created_at", label: T.created_at }, { key: "updated_at", label: T.updated_at }]
        .concat(fieldOptions(rule.form, function (f) { return f.type === "datetime" || f.type === "date"; }));
      var dateField = E.select(dates, trigger.field);
      dateField.addEventListener("change", function () { set("field", dateField.value); });
      parts.push(E.field(T.date_field, dateField, path + ".field"));
      var after = trigger.after || {};
      ["minutes", "hours", "days", "business_hours"].forEach(function (unit) {
        var node = numberInput(after[unit]);
        node.addEventListener("change", function () {
          edit(key, function (r) { r.trigger.after = r.trigger.after || {}; var n = parseInt(node.value, 10); if (n > 0) r.trigger.after[unit] = n; else delete r.trigger.after[unit]; });
        });
        parts.push(E.field(T["after_" + unit], node, path + ".after"));
      });
      var calendars = (store.definition.calendars || []).map(function (c) { return c.key; }).concat(CHOICES.calendars || []);
      var cal = E.select(calendars.map(function (c) { return { key: c, label: c }; }), trigger.calendar || "standard_weekdays");
      cal.addEventListener("change", function () { set("calendar", cal.value); });
      parts.push(E.field(T.calendar, cal, path + ".calendar"));
    } else if (trigger.on === "schedule") {
      text("cron", T.cron, { "data-trigger-cron": "" });
      text("timezone", T.timezone, { placeholder: "Asia/Shanghai" });
    } else if (trigger.on === "flow_event") {
      var event = E.select(CHOICES.flow_events, trigger.event);
      event.addEventListener("change", function () { set("event", event.value); });
      parts.push(E.field(T.flow_event, event, path + ".event"));
      var flows = [{ key: "", label: "—" }].concat((store.definition.flows || []).map(function (f) { return { key: f.key, label: label(f.name) || f.key }; }));
      var flow = E.select(flows, trigger.flow || "");
      flow.addEventListener("change", function () { set("flow", flow.value || null); });
      parts.push(E.field(T.flow, flow, path + ".flow"));
      text("node", T.node);
    }
    return E.el("fieldset", { className: "rule-part", "data-path": path, "data-rule-trigger": "" }, parts);
  }

  // --- actions -------------------------------------------------------------------------------
  var FRESH = {
    set_fields: function () { return { type: "set_fields", values: {} }; },
    assign: function (rule) { return { type: "assign", field: (fieldOptions(rule.form, function (f) { return f.type === "user"; })[0] || {}).key || "", user: "" }; },
    comment: function () { return { type: "comment", body: "", internal: true }; },
    notify: function () { return { type: "notify", users: [], title: "", body: "" }; },
    send_mail: function () { return { type: "send_mail", to: "", subject: "", body: "" }; },
    webhook: function () { return { type: "webhook", url: "https://", method: "POST" }; },
    start_flow: function () { return { type: "start_flow", flow: ((store.definition.flows || [])[0] || {}).key || "" }; },
    create_record: function (rule) { return { type: "create_record", form: rule.form, values: {} }; },
    update_related: function (rule) { return { type: "update_related", relation: (relationFields(rule.form)[0] || {}).key || "", values: {} }; },
  };

  // Relation fields of a form, and the form a relation points at (by id).
  function relationFields(formKey) {
    var form = formOf(formKey);
    return ((form && form.fields) || []).filter(function (f) { return f.type === "relation" || f.type === "multirelation"; });
  }
  function relatedForm(formKey, relation) {
    var spec = relationFields(formKey).find(function (f) { return f.key === relation; });
    var id = spec && spec.options ? spec.options.form_id : null;
    return forms().find(function (f) { return f.id === id; }) || null;
  }

  function renderActions(key, rule, path) {
    var parts = [E.el("legend", { text: T.actions })];
    (rule.actions || []).forEach(function (action, index) { parts.push(renderAction(key, rule, action, index, path + "[" + index + "]")); });
    var kind = E.select(CHOICES.actions, "set_fields", { "data-new-action-type": "" });
    var add = E.el("button", { type: "button", className: "button button--small", text: T.add_action, "data-add-action": "" });
    add.addEventListener("click", function () {
      edit(key, function (r) { r.actions = r.actions || []; r.actions.push(FRESH[kind.value](r)); });
      renderRule(key);
    });
    parts.push(E.el("div", { className: "rule-add" }, [E.field(T.action, kind), add]));
    return E.el("fieldset", { className: "rule-part", "data-path": path }, parts);
  }

  function renderAction(key, rule, action, index, path) {
    function set(name, value) {
      edit(key, function (r) { var a = r.actions[index]; if (value === undefined) delete a[name]; else a[name] = value; });
    }
    function text(name, labelText, multiline, attrs) {
      var node = multiline ? E.el("textarea", Object.assign({ rows: "3" }, attrs || {})) : E.input("", attrs);
      node.value = action[name] === undefined || action[name] === null ? "" : action[name];
      node.addEventListener("change", function () { set(name, node.value); });
      return E.field(labelText, node, path + "." + name);
    }
    function flag(name, labelText) {
      var box = E.checkbox(labelText, action[name]);
      box.input.addEventListener("change", function () { set(name, box.input.checked); });
      return box.node;
    }
    var body = [];
    var type = action.type;
    if (type === "set_fields" || type === "create_record") {
      if (type === "create_record") {
        var target = E.select(forms().map(function (f) { return { key: f.key, label: label(f.label) || f.key }; }), action.form, { "data-action-form": "" });
        target.addEventListener("change", function () { set("form", target.value); renderRule(key); });
        body.push(E.field(T.target_form, target, path + ".form"));
      }
      body.push(renderValues(key, type === "create_record" ? action.form : rule.form, action, index, path + ".values"));
    } else if (type === "update_related") {
      var relations = relationFields(rule.form).map(function (f) { return { key: f.key, label: (label(f.label) || f.key) + " (" + f.key + ")" }; });
      var relation = E.select(relations, action.relation, { "data-action-relation": "" });
      relation.addEventListener("change", function () { set("relation", relation.value); renderRule(key); });
      body.push(E.field(T.relation, relation, path + ".relation"));
      var related = relatedForm(rule.form, action.relation);
      if (related) body.push(renderValues(key, related.key, action, index, path + ".values"));
    } else if (type === "assign") {
      var users = fieldOptions(rule.form, function (f) { return f.type === "user"; });
      var who = E.select(users, action.field, { "data-action-field": "" });
      who.addEventListener("change", function () { set("field", who.value); });
      body.push(E.field(T.field, who, path + ".field"));
      if (action.group === undefined && action.keywords === undefined && action.rule === undefined) {
        body.push(text("user", T.user));
      }
      body.push(flag("keep_existing", T.keep_existing));
    } else if (type === "comment") {
      body.push(text("body", T.body, true));
      body.push(flag("internal", T.internal));
    } else if (type === "notify") {
      var list = E.input((action.users || []).join(", "));
      list.addEventListener("change", function () { set("users", list.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean)); });
      body.push(E.field(T.users, list, path + ".users"));
      body.push(flag("department_head", T.department_head));
      body.push(text("title", T.title));
      body.push(text("body", T.body, true));
    } else if (type === "send_mail") {
      var to = E.input(E.showValue(action.to));
      to.addEventListener("change", function () { set("to", E.parseValue(to.value)); });
      body.push(E.field(T.to_mail, to, path + ".to"));
      body.push(text("subject", T.subject));
      body.push(text("body", T.body, true));
    } else if (type === "webhook") {
      body.push(text("url", T.url, false, { type: "url" }));
      var method = E.select(["POST", "PUT", "PATCH"].map(function (m) { return { key: m, label: m }; }), action.method || "POST");
      method.addEventListener("change", function () { set("method", method.value); });
      body.push(E.field(T.method, method, path + ".method"));
    } else if (type === "start_flow") {
      var flow = E.select((store.definition.flows || []).map(function (f) { return { key: f.key, label: label(f.name) || f.key }; }), action.flow);
      flow.addEventListener("change", function () { set("flow", flow.value); });
      body.push(E.field(T.flow_key, flow, path + ".flow"));
    }
    // Every setting of the action (group picks, keyword routes, headers, bodies…) as JSON.
    var json = E.el("textarea", { rows: "4", className: "rule-json", spellcheck: "false" });
    json.value = JSON.stringify(action, null, 2);
    var jsonError = E.el("p", { className: "field__error", role: "alert" });
    json.addEventListener("change", function () {
      var parsed;
      try { parsed = JSON.parse(json.value); } catch (error) { jsonError.textContent = T.json; return; }
      edit(key, function (r) { r.actions[index] = parsed; });
      renderRule(key);
    });
    body.push(E.el("details", {}, [E.el("summary", { text: T.json }), E.field(T.json, json), jsonError]));
    var up = E.el("button", { type: "button", className: "button button--small", text: T.move_up, disabled: index === 0 ? "disabled" : null });
    up.addEventListener("click", function () {
      edit(key, function (r) { var a = r.actions.splice(index, 1)[0]; r.actions.splice(index - 1, 0, a); });
      renderRule(key);
    });
    var remove = E.el("button", { type: "button", className: "button button--small", text: T.remove });
    remove.addEventListener("click", function () { edit(key, function (r) { r.actions.splice(index, 1); }); renderRule(key); E.announce(T.removed); });
    return E.el("div", { className: "rule-action", role: "group", "aria-label": choiceLabel(CHOICES.actions, type), "data-action": type, "data-path": path }, [
      E.el("h3", { text: (index + 1) + ". " + choiceLabel(CHOICES.actions, type) }),
    ].concat(body).concat([E.el("div", { className: "rule-add" }, [up, remove])]));
  }

  // Field → value rows of set_fields / create_record: a field picker and a value.
  function renderValues(key, formKey, action, index, path) {
    var rows = E.el("div", { className: "rule-values", "data-path": path });
    var values = action.values || {};
    var options = fieldOptions(formKey);
    Object.keys(values).forEach(function (name) {
      var pick = E.select(options, name, { "data-value-field": "" });
      var value = E.input(E.showValue(values[name]), { "data-value-input": name });
      pick.addEventListener("change", function () {
        edit(key, function (r) { var v = r.actions[index].values; var keep = v[name]; delete v[name]; v[pick.value] = keep; });
        renderRule(key);
      });
      value.addEventListener("change", function () { edit(key, function (r) { r.actions[index].values[name] = E.parseValue(value.value); }); });
      var remove = E.el("button", { type: "button", className: "button button--small", text: T.remove });
      remove.addEventListener("click", function () { edit(key, function (r) { delete r.actions[index].values[name]; }); renderRule(key); });
      rows.appendChild(E.el("div", { className: "rule-value", "data-path": path + "." + name }, [E.field(T.field, pick), E.field(T.value_json, value), remove]));
    });
    var free = options.filter(function (o) { return !(o.key in values); });
    if (free.length) {
      var add = E.el("button", { type: "button", className: "button button--small", text: T.add_value, "data-add-value": "" });
      add.addEventListener("click", function () {
        edit(key, function (r) { r.actions[index].values = r.actions[index].values || {}; r.actions[index].values[free[0].key] = null; });
        renderRule(key);
      });
      rows.appendChild(add);
    }
    return rows;
  }

  // --- test run and run log ----------------------------------------------------------------
  function unchanged(key) {
    var published = (window.tangram.readJson("published-rules") || {})[key];
    var index = ruleIndex(key);
    return !!published && index >= 0 && initial[key] !== undefined && E.stable(store.definition.rules[index]) === initial[key] && !!published.same;
  }

  function bindTest(key) {
    var result = page.querySelector("[data-test-result]");
    page.querySelector("[data-test-run]").addEventListener("click", function () {
      result.textContent = "";
      var recordId = parseInt(page.querySelector("[data-test-record]").value, 10);
      var kind = page.querySelector("[data-test-kind]").value;
      var body = { record_id: recordId };
      if (kind) body.kind = kind;
      // A published, unchanged rule runs as published; otherwise the draft's rule is tried
      // against the published records (nothing is written either way).
      var published = unchanged(key);
      var url = "/api/v1/apps/" + config.app_id + (published ? "/rules/" + key + "/test" : "/draft/rules/test");
      if (!published) body.rule = (store.definition.rules || []).filter(function (r) { return r.key === key; })[0];
      window.tangram.api("POST", url, body).then(function (answer) {
        result.textContent = "";
        if (!answer.ok) { result.appendChild(E.el("p", { className: "field__error", role: "alert", text: (answer.data && (answer.data.detail || answer.data.title)) || T.test_failed })); return; }
        var out = answer.data;
        result.appendChild(E.el("p", { className: "muted", text: published ? T.test_published : T.test_changed }));
        result.appendChild(E.el("p", { "data-test-fires": out.fires ? "yes" : "no", text: out.fires ? T.fires : T.not_fires }));
        var rows = [[T.trigger_matches, out.trigger_matches ? T.yes : T.no], [T.condition_holds, out.condition ? T.yes : T.no]];
        if (out.changes && Object.keys(out.changes).length) rows.push([T.would_change, JSON.stringify(out.changes)]);
        (out.actions || []).forEach(function (a) { rows.push([T.would_do, JSON.stringify(a)]); });
        if (out.error) rows.push([T.error, out.error]);
        result.appendChild(E.el("dl", { className: "rule-result" }, rows.reduce(function (all, row) {
          all.push(E.el("dt", { text: row[0] })); all.push(E.el("dd", { text: row[1] })); return all;
        }, [])));
      });
    });
  }

  function loadRuns(key) {
    var list = page.querySelector("[data-runs-list]");
    window.tangram.api("GET", "/api/v1/apps/" + config.app_id + "/rules/runs?rule=" + encodeURIComponent(key) + "&limit=50").then(function (answer) {
      list.textContent = "";
      if (!answer.ok) { list.appendChild(E.el("p", { className: "muted", text: T.runs_failed })); return; }
      var items = answer.data.items || [];
      if (!items.length) { list.appendChild(E.el("p", { className: "muted", text: T.no_runs })); return; }
      var body = E.el("tbody");
      items.forEach(function (run) {
        body.appendChild(E.el("tr", { "data-run": run.id }, [
          E.el("td", { text: new Date(run.created_at).toLocaleString() }),
          E.el("td", { text: run.record_id === null ? "—" : "#" + run.record_id }),
          E.el("td", { text: run.trigger }),
          E.el("td", { text: run.status }),
          E.el("td", { text: JSON.stringify(run.changes) }),
          E.el("td", { text: run.error || "" }),
        ]));
      });
      var head = E.el("tr", {}, [T.when, T.record, T.trigger, T.status, T.would_change, T.error].map(function (text) { return E.el("th", { scope: "col", text: text }); }));
      list.appendChild(E.el("table", { className: "table" }, [E.el("thead", {}, [head]), body]));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    E = window.tangram.editor;
    page = document.querySelector("[data-rules-page]");
    if (!page) return;
    T = window.tangram.readJson("rules-strings") || {};
    CHOICES = window.tangram.readJson("rule-choices") || {};
    config = window.tangram.readJson("builder-config") || {};
    var key = page.getAttribute("data-rule-key");
    window.tangram.draft.open().then(function (opened) {
      store = opened;
      (store.definition.rules || []).forEach(function (r) { initial[r.key] = E.stable(r); });
      var render = key ? function () { renderRule(key); } : renderList;
      store.on("change", function (detail) { if (detail.source !== "edit") render(); });
      store.on("problems", function (list) { E.showProblems(page, list); });
      if (key) {
        var formKey = new URLSearchParams(window.location.search).get("form");
        if (ruleIndex(key) < 0 && formKey && formOf(formKey)) {
          store.change(function (d) { d.rules = d.rules || []; d.rules.push(newRule(key, formKey)); });
        }
        bindTest(key);
        page.querySelector("[data-runs-refresh]").addEventListener("click", function () { loadRuns(key); });
        loadRuns(key);
      } else {
        bindNew();
      }
      render();
    });
  });
})();
