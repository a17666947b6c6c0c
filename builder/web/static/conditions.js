// The visual condition builder: groups of conditions ("all of" / "any of", nested) over a list
// of fields, producing JsonLogic — which it also shows and lets you edit as JSON. Shared by the
// form, flow, rules and permissions designers.
//
//   var builder = window.tangram.conditions.mount(container, {
//     fields: [{ var: "record.priority", label: "Priority", kind: "text",
//                options: [{ value: "high", label: "High" }] }],
//     value: {"==": [{"var": "record.priority"}, "high"]},   // or null
//     onChange: function (logic) { ... },                    // null when there is no condition
//   });
//   builder.get(); builder.set(logic);
//
// `kind` is a field type's logic_kind (text, number, boolean, date, datetime, array, links).
// Strings come from the JSON block #condition-strings (builder/macros.html condition_strings).
// Needs static/draft.js (window.tangram.el, readJson) loaded first, as builder/layout.html does.
(function () {
  "use strict";

  var OPERATORS = {
    text: ["==", "!=", "contains", "in_list", "empty", "not_empty"],
    number: ["==", "!=", ">", ">=", "<", "<=", "empty", "not_empty"],
    date: ["==", "!=", ">", ">=", "<", "<=", "empty", "not_empty"],
    datetime: [">", ">=", "<", "<=", "empty", "not_empty"],
    boolean: ["is_true", "is_false"],
    array: ["has", "empty", "not_empty"],
    links: ["has", "empty", "not_empty"],
  };
  var COMPARE = ["==", "!=", ">", ">=", "<", "<="];
  var NO_VALUE = ["empty", "not_empty", "is_true", "is_false"];

  var stringsCache = null;
  function strings() {
    if (!stringsCache) {
      var node = document.getElementById("condition-strings");
      stringsCache = node ? JSON.parse(node.textContent) : {};
    }
    return stringsCache;
  }
  function t(key) { return strings()[key] || key; }

  function el(tag, attrs, children) { return window.tangram.el(tag, attrs, children); }

  function isVar(node) { return node && typeof node === "object" && !Array.isArray(node) && Object.keys(node).length === 1 && "var" in node; }
  function varName(node) { return Array.isArray(node.var) ? node.var[0] : node.var; }

  // --- JsonLogic ⇄ the builder's model ---------------------------------------------------
  // model: { group: "and"|"or", items: [condition | group] }; condition: { field, op, value }.

  function toLogic(node) {
    if (node.group) {
      var items = node.items.map(toLogic).filter(function (item) { return item !== null; });
      if (!items.length) return null;
      if (items.length === 1 && node.top) return items[0];
      var out = {};
      out[node.group] = items;
      return out;
    }
    if (!node.field) return null;
    var ref = { var: node.field };
    var value = node.value;
    switch (node.op) {
      case "empty": return { "!": ref };
      case "not_empty": return { "!!": ref };
      case "is_true": return { "==": [ref, true] };
      case "is_false": return { "!": ref };
      case "contains": return { in: [value, ref] };
      case "has": return { in: [value, ref] };
      case "in_list": return { in: [ref, Array.isArray(value) ? value : String(value || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean)] };
      default: {
        var out2 = {};
        out2[node.op] = [ref, value];
        return out2;
      }
    }
  }

  function fromLogic(logic, fields) {
    if (logic === null || logic === undefined || logic === true) return { group: "and", items: [], top: true };
    var parsed = parseNode(logic, fields);
    if (!parsed) return null;
    if (parsed.group) { parsed.top = true; return parsed; }
    return { group: "and", items: [parsed], top: true };
  }

  function parseNode(logic, fields) {
    if (!logic || typeof logic !== "object" || Array.isArray(logic)) return null;
    var keys = Object.keys(logic);
    if (keys.length !== 1) return null;
    var op = keys[0];
    var args = logic[op];
    if (op === "and" || op === "or") {
      if (!Array.isArray(args)) return null;
      var items = [];
      for (var i = 0; i < args.length; i++) {
        var item = parseNode(args[i], fields);
        if (!item) return null;
        items.push(item);
      }
      return { group: op, items: items };
    }
    if ((op === "!" || op === "!!") && isVar(Array.isArray(args) ? args[0] : args)) {
      var ref = Array.isArray(args) ? args[0] : args;
      var field = fieldFor(varName(ref), fields);
      var kind = field ? field.kind : "text";
      return { field: varName(ref), op: op === "!!" ? "not_empty" : (kind === "boolean" ? "is_false" : "empty"), value: null };
    }
    if (!Array.isArray(args) || args.length !== 2) return null;
    if (op === "in") {
      if (isVar(args[1]) && !isVar(args[0]) && typeof args[0] !== "object") {
        var target = fieldFor(varName(args[1]), fields);
        var arrayKind = target && (target.kind === "array" || target.kind === "links");
        return { field: varName(args[1]), op: arrayKind ? "has" : "contains", value: args[0] };
      }
      if (isVar(args[0]) && Array.isArray(args[1])) return { field: varName(args[0]), op: "in_list", value: args[1] };
      return null;
    }
    if (COMPARE.indexOf(op) >= 0 && isVar(args[0]) && (args[1] === null || typeof args[1] !== "object")) {
      if (op === "==" && args[1] === true) return { field: varName(args[0]), op: "is_true", value: null };
      return { field: varName(args[0]), op: op, value: args[1] };
    }
    return null;
  }

  function fieldFor(name, fields) {
    for (var i = 0; i < fields.length; i++) if (fields[i].var === name) return fields[i];
    return null;
  }

  // --- the editor ---------------------------------------------------------------------------

  var counter = 0;

  function mount(container, options) {
    var fields = options.fields || [];
    var onChange = options.onChange || function () {};
    var id = "cond-" + (++counter);
    var model = null;
    var raw = false;
    container.classList.add("cond");
    container.textContent = "";
    var tree = el("div", { className: "cond__tree" });
    var jsonLabel = el("label", { for: id + "-json", text: t("json") });
    var json = el("textarea", { id: id + "-json", className: "cond__json", spellcheck: "false", "aria-describedby": id + "-json-error" });
    var jsonError = el("p", { className: "cond__error", id: id + "-json-error", role: "alert" });
    var details = el("details", { className: "cond__details" }, [el("summary", { text: t("show_json") }), jsonLabel, json, jsonError]);
    container.appendChild(tree);
    container.appendChild(details);

    function current() { return raw ? safeParse(json.value) : toLogic(model); }

    function emit() {
      var logic = current();
      if (!raw) json.value = logic === null ? "" : JSON.stringify(logic, null, 2);
      onChange(logic === undefined ? null : logic);
    }

    function safeParse(text) {
      if (!text.trim()) return null;
      try { return JSON.parse(text); } catch (error) { return undefined; }
    }

    json.addEventListener("change", function () {
      var logic = safeParse(json.value);
      if (logic === undefined) { jsonError.textContent = t("invalid_json"); return; }
      jsonError.textContent = "";
      set(logic, true);
      onChange(logic);
    });

    function set(logic, fromJson) {
      var parsed = fromLogic(logic, fields);
      raw = parsed === null;
      model = parsed || { group: "and", items: [], top: true };
      if (!fromJson) json.value = logic === null || logic === undefined ? "" : JSON.stringify(logic, null, 2);
      render();
    }

    function render() {
      tree.textContent = "";
      if (raw) {
        tree.appendChild(el("p", { className: "muted", text: t("raw_only") }));
        details.open = true;
        return;
      }
      tree.appendChild(renderGroup(model, null));
    }

    function renderGroup(group, parent) {
      var box = el("div", { className: "cond__group", role: "group", "aria-label": t(group.group === "and" ? "all" : "any") });
      var mode = el("select", { "aria-label": t("match") });
      [["and", t("all")], ["or", t("any")]].forEach(function (pair) {
        var option = el("option", { value: pair[0], text: pair[1] });
        if (group.group === pair[0]) option.selected = true;
        mode.appendChild(option);
      });
      mode.addEventListener("change", function () { group.group = mode.value; emit(); });
      var head = el("div", { className: "cond__head" }, [mode]);
      box.appendChild(head);
      group.items.forEach(function (item, index) {
        box.appendChild(item.group ? renderGroup(item, group) : renderCondition(item, group, index));
      });
      if (!group.items.length) box.appendChild(el("p", { className: "muted", text: t("always") }));
      var add = el("button", { type: "button", className: "button button--small", text: t("add_condition") });
      add.addEventListener("click", function () {
        group.items.push({ field: fields.length ? fields[0].var : "", op: defaultOp(fields[0]), value: defaultValue(fields[0]) });
        render(); emit(); focusLast(box);
      });
      var addGroup = el("button", { type: "button", className: "button button--small", text: t("add_group") });
      addGroup.addEventListener("click", function () {
        group.items.push({ group: group.group === "and" ? "or" : "and", items: [] });
        render(); emit();
      });
      var actions = el("div", { className: "cond__head" }, [add, addGroup]);
      if (parent) {
        var remove = el("button", { type: "button", className: "button button--small", text: t("remove_group") });
        remove.addEventListener("click", function () {
          parent.items.splice(parent.items.indexOf(group), 1);
          render(); emit();
        });
        actions.appendChild(remove);
      }
      box.appendChild(actions);
      return box;
    }

    function focusLast(box) {
      var selects = tree.querySelectorAll(".cond__row select");
      if (selects.length) selects[selects.length - 1].focus();
    }

    function renderCondition(item, group, index) {
      var field = fieldFor(item.field, fields);
      var fieldSelect = el("select", { "aria-label": t("field") });
      if (!field && item.field) fieldSelect.appendChild(el("option", { value: item.field, text: item.field }));
      fields.forEach(function (f) {
        var option = el("option", { value: f.var, text: f.label || f.var });
        if (f.var === item.field) option.selected = true;
        fieldSelect.appendChild(option);
      });
      fieldSelect.addEventListener("change", function () {
        item.field = fieldSelect.value;
        var next = fieldFor(item.field, fields);
        if (operatorsFor(next).indexOf(item.op) < 0) item.op = defaultOp(next);
        item.value = defaultValue(next);
        render(); emit();
      });
      var opSelect = el("select", { "aria-label": t("operator") });
      operatorsFor(field).forEach(function (op) {
        var option = el("option", { value: op, text: t("op_" + op) });
        if (op === item.op) option.selected = true;
        opSelect.appendChild(option);
      });
      opSelect.addEventListener("change", function () { item.op = opSelect.value; render(); emit(); });
      var row = el("div", { className: "cond__row" }, [fieldSelect, opSelect]);
      if (NO_VALUE.indexOf(item.op) < 0) row.appendChild(valueInput(item, field));
      var remove = el("button", { type: "button", className: "button button--small", "aria-label": t("remove_condition"), text: "×" });
      remove.addEventListener("click", function () { group.items.splice(index, 1); render(); emit(); });
      row.appendChild(remove);
      return row;
    }

    function valueInput(item, field) {
      var kind = field ? field.kind : "text";
      var input;
      if (field && field.options && field.options.length && item.op !== "in_list") {
        input = el("select", { "aria-label": t("value") });
        field.options.forEach(function (choice) {
          var option = el("option", { value: choice.value, text: choice.label || choice.value });
          if (String(choice.value) === String(item.value)) option.selected = true;
          input.appendChild(option);
        });
        if (item.value === null || item.value === undefined || item.value === "") item.value = field.options[0].value;
      } else {
        var type = kind === "number" ? "number" : kind === "date" ? "date" : kind === "datetime" ? "datetime-local" : "text";
        input = el("input", { type: type, "aria-label": t("value") });
        var shown = Array.isArray(item.value) ? item.value.join(", ") : item.value;
        input.value = shown === null || shown === undefined ? "" : shown;
        if (item.op === "in_list") input.setAttribute("placeholder", t("list_hint"));
      }
      input.addEventListener("change", function () {
        var value = input.value;
        if (item.op === "in_list") item.value = value.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
        else if (kind === "number" || kind === "links") item.value = value === "" ? null : Number(value);
        else item.value = value;
        emit();
      });
      return input;
    }

    set(options.value === undefined ? null : options.value);
    return {
      get: current,
      set: function (logic) { set(logic); },
      setFields: function (list) { fields = list; set(current()); },
    };
  }

  function operatorsFor(field) { return OPERATORS[field ? field.kind : "text"] || OPERATORS.text; }
  function defaultOp(field) { return operatorsFor(field)[0]; }
  function defaultValue(field) {
    if (!field) return "";
    if (field.options && field.options.length) return field.options[0].value;
    return field.kind === "number" ? 0 : "";
  }

  // A label in the page's language from a stored per-locale label.
  function pickLabel(labels) { return window.tangram.label(labels); }

  // The condition fields of a draft form: `prefix` + key per field ("record." in rules, "" in
  // form linkage), kinds from the page's field types (JSON block #field-types).
  function fieldsOf(form, prefix) {
    var kinds = {};
    var types = window.tangram.readJson ? window.tangram.readJson("field-types") || [] : [];
    types.forEach(function (type) { kinds[type.type] = type.logic_kind; });
    return (form && form.fields ? form.fields : []).filter(function (field) {
      return field.type !== "subtable";
    }).map(function (field) {
      var options = ((field.options || {}).options || []).map(function (option) {
        return { value: option.value, label: pickLabel(option.label) || option.value };
      });
      return {
        var: (prefix || "") + field.key,
        label: pickLabel(field.label) || field.key,
        kind: kinds[field.type] || "text",
        options: field.type === "select" || field.type === "multiselect" ? options : null,
      };
    });
  }

  window.tangram = window.tangram || {};
  window.tangram.conditions = { mount: mount, toLogic: toLogic, fromLogic: fromLogic, fieldsOf: fieldsOf, pickLabel: pickLabel };
})();
