// Roles and permissions page: the draft's roles and grants (form / field / row permissions to
// roles, groups, departments, users or everyone), and "view as user" on the published app.
(function () {
  "use strict";
  var T = {}, ORG = {}, CHOICES = {}, store = null, conditions = {};

  function el(tag, attrs, children) { return window.tangram.el(tag, attrs, children); }
  var uid = 0;
  function field(label, control) {
    var id = "perm-" + (++uid);
    control.id = id;
    return el("div", { className: "field" }, [el("label", { for: id, text: label }), control]);
  }
  function input(value, attrs) { return window.tangram.input(value, attrs); }
  function select(options, value) {
    var node = el("select");
    options.forEach(function (option) {
      var item = el("option", { value: option.key, text: option.label });
      if (String(option.key) === String(value)) item.selected = true;
      node.appendChild(item);
    });
    return node;
  }
  function label(labels) { return window.tangram.conditions.pickLabel(labels); }
  function announce(text) { var flash = document.getElementById("flash"); if (flash) flash.textContent = text; }

  // --- roles ---------------------------------------------------------------------------------
  function renderRoles() {
    var list = document.querySelector("[data-roles-list]");
    list.textContent = "";
    var roles = store.definition.roles || [];
    if (!roles.length) list.appendChild(el("p", { className: "muted", text: T.no_roles }));
    roles.forEach(function (role, index) {
      var key = input(role.key, { pattern: "[a-z][a-z0-9_]*", "data-role-key": index });
      key.addEventListener("change", function () {
        store.change(function (d) { d.roles[index].key = key.value.trim(); });
      });
      var zh = input((role.name || {})["zh-CN"]);
      var en = input((role.name || {}).en);
      [[zh, "zh-CN"], [en, "en"]].forEach(function (pair) {
        pair[0].addEventListener("change", function () {
          store.change(function (d) {
            var name = d.roles[index].name = d.roles[index].name || {};
            if (pair[0].value.trim()) name[pair[1]] = pair[0].value.trim(); else delete name[pair[1]];
          });
        });
      });
      var remove = el("button", { type: "button", className: "button button--small", text: T.remove });
      remove.addEventListener("click", function () {
        store.change(function (d) { d.roles.splice(index, 1); });
        render(); announce(T.removed);
      });
      list.appendChild(el("div", { className: "perm-role", role: "group", "aria-label": role.key }, [
        field(T.role_key, key), field(T.name_zh, zh), field(T.name_en, en), remove,
      ]));
    });
  }

  // --- grants --------------------------------------------------------------------------------
  function granteeKeys(kind) { return window.tangram.grantees.keys(kind, store.definition, ORG); }

  function formOf(key) {
    return (store.definition.forms || []).filter(function (f) { return f.key === key; })[0] || null;
  }

  function renderGrant(grant, index) {
    var box = el("div", { className: "perm-grant", role: "group", "aria-label": T.grant + " " + grant.id, "data-grant": grant.id });
    function edit(mutate, structural) {
      store.change(function (d) { mutate(d.permissions[index], d); });
      if (structural) render();
    }
    var id = input(grant.id, { pattern: "[a-z][a-z0-9_]*" });
    id.addEventListener("change", function () { edit(function (g) { g.id = id.value.trim(); }); });
    box.appendChild(field(T.grant_id, id));

    var kind = select(CHOICES.grantees, grant.grantee.kind);
    kind.setAttribute("data-grantee-kind", "");
    kind.addEventListener("change", function () {
      edit(function (g) {
        var first = granteeKeys(kind.value)[0];
        g.grantee = kind.value === "everyone" ? { kind: "everyone" } : { kind: kind.value, key: first ? first.key : "" };
      }, true);
    });
    box.appendChild(field(T.grantee, kind));
    if (grant.grantee.kind !== "everyone") {
      var options = window.tangram.grantees.options(grant.grantee.kind, grant.grantee.key, store.definition, ORG);
      var who = select(options, grant.grantee.key);
      who.setAttribute("data-grantee-key", "");
      who.addEventListener("change", function () { edit(function (g) { g.grantee.key = who.value; }); });
      box.appendChild(field(T.grantee_key, who));
      if (grant.grantee.kind === "department") {
        var children = el("input", { type: "checkbox" });
        children.checked = !!grant.grantee.include_children;
        children.addEventListener("change", function () { edit(function (g) { g.grantee.include_children = children.checked; }); });
        box.appendChild(el("label", { className: "perm-actions" }, [children, document.createTextNode(" " + T.include_children)]));
      }
    }

    var forms = [{ key: "", label: T.all_forms }].concat((store.definition.forms || []).map(function (f) { return { key: f.key, label: label(f.label) || f.key }; }));
    var form = select(forms, grant.form || "");
    form.setAttribute("data-grant-form", "");
    form.addEventListener("change", function () {
      edit(function (g) { g.form = form.value || null; g.fields = {}; if (g.scope === "rule") { g.scope = "all"; g.rule = null; } }, true);
    });
    box.appendChild(field(T.form, form));

    var scope = select(CHOICES.scopes, grant.scope || "all");
    scope.setAttribute("data-grant-scope", "");
    scope.addEventListener("change", function () {
      edit(function (g) { g.scope = scope.value; g.rule = scope.value === "rule" ? (g.rule || { "==": [{ var: "owner_id" }, { var: "current_user.id" }] }) : null; }, true);
    });
    box.appendChild(field(T.scope, scope));

    var actions = el("fieldset", { className: "perm-grant__wide" }, [el("legend", { text: T.actions })]);
    var row = el("div", { className: "perm-actions" });
    CHOICES.actions.forEach(function (action) {
      var box2 = el("input", { type: "checkbox", value: action.key, "data-action": action.key });
      box2.checked = (grant.actions || []).indexOf(action.key) >= 0;
      box2.addEventListener("change", function () {
        edit(function (g) {
          var list = g.actions || [];
          var at = list.indexOf(action.key);
          if (box2.checked && at < 0) list.push(action.key);
          if (!box2.checked && at >= 0) list.splice(at, 1);
          g.actions = CHOICES.actions.map(function (a) { return a.key; }).filter(function (k) { return list.indexOf(k) >= 0; });
        });
      });
      row.appendChild(el("label", {}, [box2, document.createTextNode(action.label)]));
    });
    actions.appendChild(row);
    box.appendChild(actions);

    var target = grant.form ? formOf(grant.form) : null;
    if (grant.scope === "rule") {
      var ruleBox = el("fieldset", { className: "perm-grant__wide" }, [el("legend", { text: T.rule })]);
      var holder = el("div", { "data-grant-rule": "" });
      ruleBox.appendChild(holder);
      box.appendChild(ruleBox);
      var fields = target ? window.tangram.conditions.fieldsOf(target, "") : [];
      fields = fields.concat([
        { var: "owner_id", label: "owner_id", kind: "number" },
        { var: "department_id", label: "department_id", kind: "number" },
        { var: "created_by", label: "created_by", kind: "number" },
      ]);
      conditions[grant.id] = window.tangram.conditions.mount(holder, {
        fields: fields,
        value: grant.rule,
        onChange: function (logic) { edit(function (g) { g.rule = logic === null ? true : logic; }); },
      });
    }

    var rights = el("fieldset", { className: "perm-grant__wide" }, [el("legend", { text: T.fields })]);
    if (!target) {
      rights.appendChild(el("p", { className: "muted", text: T.fields_all_forms }));
    } else {
      var grid = el("div", { className: "perm-fields" });
      var modes = [{ key: "", label: T.visible }, { key: "read_only", label: T.read_only }, { key: "hidden", label: T.hidden }];
      (target.fields || []).forEach(function (spec) {
        var mode = select(modes, (grant.fields || {})[spec.key] || "");
        mode.setAttribute("data-field-right", spec.key);
        mode.addEventListener("change", function () {
          edit(function (g) { g.fields = g.fields || {}; if (mode.value) g.fields[spec.key] = mode.value; else delete g.fields[spec.key]; });
        });
        grid.appendChild(field(label(spec.label) || spec.key, mode));
      });
      rights.appendChild(grid);
    }
    box.appendChild(rights);

    var remove = el("button", { type: "button", className: "button button--small", text: T.remove });
    remove.addEventListener("click", function () {
      store.change(function (d) { d.permissions.splice(index, 1); });
      render(); announce(T.removed);
    });
    box.appendChild(remove);
    return box;
  }

  function renderGrants() {
    var list = document.querySelector("[data-grants-list]");
    list.textContent = "";
    conditions = {};
    var grants = store.definition.permissions || [];
    if (!grants.length) list.appendChild(el("p", { className: "muted", text: T.no_grants }));
    grants.forEach(function (grant, index) { list.appendChild(renderGrant(grant, index)); });
  }

  function render() { renderRoles(); renderGrants(); }

  function freeKey(prefix, taken) {
    for (var n = taken.length + 1; ; n++) if (taken.indexOf(prefix + n) < 0) return prefix + n;
  }

  // --- view as user --------------------------------------------------------------------------
  function bindPreview(config) {
    var pick = document.querySelector("[data-preview-user]");
    var out = document.querySelector("[data-preview-result]");
    if (!pick) return;
    pick.addEventListener("change", function () {
      out.textContent = "";
      if (!pick.value) return;
      var url = "/api/v1/apps/" + config.app_id + "/access-preview?user_id=" + encodeURIComponent(pick.value);
      window.tangram.api("GET", url).then(function (answer) {
        if (!answer.ok) {
          out.appendChild(el("p", { className: "alert alert--error", text: (answer.data && answer.data.detail) || T.preview_failed }));
          return;
        }
        out.appendChild(renderPreview(answer.data));
      });
    });
  }

  // The answer of GET …/access-preview: per form what they may do, which rows, which fields.
  function renderPreview(data) {
    var box = el("div", { className: "perm-preview" });
    var actions = CHOICES.actions.filter(function (a) { return a.key !== "design"; });
    var table = el("table", { className: "table", "data-preview-table": "" });
    var head = el("tr", {}, [el("th", { scope: "col", text: T.form })].concat(
      actions.map(function (a) { return el("th", { scope: "col", text: a.label }); }),
      [el("th", { scope: "col", text: T.scope }), el("th", { scope: "col", text: T.fields })]));
    table.appendChild(el("thead", {}, [head]));
    var body = el("tbody");
    (data.forms || []).forEach(function (form) {
      var row = el("tr", { "data-preview-form": form.key }, [el("th", { scope: "row", text: label(form.name) || form.key })]);
      actions.forEach(function (a) {
        var allowed = form.actions && form.actions[a.key];
        row.appendChild(el("td", { text: allowed ? "✓" : "—", "aria-label": a.label + ": " + (allowed ? T.yes : T.no) }));
      });
      row.appendChild(el("td", { text: form.rows && form.rows.read ? form.rows.read.summary : "" }));
      var limited = (form.fields || []).filter(function (f) { return f.read !== "visible" || !f.update; });
      row.appendChild(el("td", { text: limited.map(function (f) { return (label(f.name) || f.key) + ": " + f.summary; }).join("; ") }));
      body.appendChild(row);
    });
    table.appendChild(body);
    box.appendChild(el("div", { className: "table-wrap" }, [table]));
    var boards = (data.dashboards || []).map(function (d) { return label(d.name) || d.key; });
    box.appendChild(el("p", { text: T.dashboards + ": " + (boards.length ? boards.join(", ") : "—") }));
    var flows = (data.flows || []).map(function (f) { return (label(f.name) || f.key) + " (" + f.summary + ")"; });
    box.appendChild(el("p", { text: T.flows + ": " + (flows.length ? flows.join(", ") : "—") }));
    return box;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-grants-list]")) return;
    T = window.tangram.readJson("roles-strings") || {};
    ORG = window.tangram.readJson("org-choices") || {};
    CHOICES = window.tangram.readJson("permission-choices") || {};
    var config = window.tangram.readJson("builder-config");
    bindPreview(config);
    window.tangram.draft.open().then(function (opened) {
      store = opened;
      store.on("change", function (detail) { if (detail.source !== "edit") render(); });
      render();
      document.querySelector("[data-add-role]").addEventListener("click", function () {
        store.change(function (d) {
          d.roles = d.roles || [];
          d.roles.push({ key: freeKey("role_", d.roles.map(function (r) { return r.key; })), name: {} });
        });
        render(); announce(T.added_role);
        var keys = document.querySelectorAll("[data-role-key]");
        if (keys.length) keys[keys.length - 1].focus();
      });
      document.querySelector("[data-add-grant]").addEventListener("click", function () {
        store.change(function (d) {
          d.permissions = d.permissions || [];
          var role = (d.roles || [])[0];
          d.permissions.push({
            id: freeKey("grant_", d.permissions.map(function (g) { return g.id; })),
            form: null,
            grantee: role ? { kind: "role", key: role.key } : { kind: "everyone" },
            actions: ["read"],
            scope: "all",
            fields: {},
          });
        });
        render(); announce(T.added_grant);
      });
    });
  });
})();
