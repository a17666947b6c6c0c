// Record forms (macros/fields.html): linkage rules, form-rule hints, sub-table rows, uploads
// with progress, picker comboboxes (also on their own, as in the list's filter bar and bulk
// edit) and a small rich-text editor. The server stays the
// authority: it evaluates the same rules again. No inline scripts (CSP script-src 'self').
(function () {
  "use strict";

  var extended = false;
  var specs = {};

  // --- Tangram's JsonLogic extensions (engines/logic/README.md), for json-logic-js ----------

  function pad(n, width) { var s = String(n); while (s.length < (width || 2)) s = "0" + s; return s; }
  function isoDate(d) { return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }
  function parseMoment(value) {
    if (value === null || value === undefined || value === "") return null;
    var text = String(value);
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return { date: true, at: new Date(text + "T00:00:00Z") };
    var hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(text);
    var at = new Date(hasZone ? text : text + "Z");
    return isNaN(at.getTime()) ? null : { date: false, at: at };
  }
  function canonical(m) { return m === null ? null : (m.date ? isoDate(m.at) : m.at.toISOString()); }
  var UNIT_MS = { second: 1e3, minute: 6e4, hour: 36e5, day: 864e5, week: 6048e5 };
  function unitOf(unit) { return String(unit || "").replace(/s$/, ""); }
  function textOf(value) {
    if (value === null || value === undefined || typeof value === "object") return null;
    return String(value);
  }
  function path(object, where, fallback) {
    if (where === undefined || where === null || where === "") return object === undefined ? null : object;
    var parts = String(where).split("."), here = object;
    for (var i = 0; i < parts.length; i++) {
      if (here === null || here === undefined || typeof here !== "object") return fallback === undefined ? null : fallback;
      here = here[parts[i]];
    }
    return here === undefined ? (fallback === undefined ? null : fallback) : here;
  }

  function extend(logic, context) {
    if (extended) return;
    extended = true;
    logic.add_operation("now", function () { return new Date().toISOString(); });
    logic.add_operation("today", function () { return isoDate(new Date()); });
    logic.add_operation("date", function (value) { return canonical(parseMoment(value)); });
    logic.add_operation("date_add", function (value, amount, unit) {
      var m = parseMoment(value); if (m === null) return null;
      var u = unitOf(unit), n = Number(amount), at = new Date(m.at.getTime());
      if (u === "month" || u === "year") {
        var months = Math.trunc(n) * (u === "year" ? 12 : 1), day = at.getUTCDate();
        at.setUTCDate(1); at.setUTCMonth(at.getUTCMonth() + months);
        var last = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0)).getUTCDate();
        at.setUTCDate(Math.min(day, last));
        return canonical({ date: m.date, at: at });
      }
      if (!UNIT_MS[u]) return null;
      at = new Date(at.getTime() + n * UNIT_MS[u]);
      var whole = (u === "day" || u === "week") && Number.isInteger(n);
      return canonical({ date: m.date && whole, at: at });
    });
    logic.add_operation("date_diff", function (a, b, unit) {
      var x = parseMoment(a), y = parseMoment(b); if (x === null || y === null) return null;
      var u = unitOf(unit);
      if (u === "month" || u === "year") {
        var months = (x.at.getUTCFullYear() - y.at.getUTCFullYear()) * 12 + x.at.getUTCMonth() - y.at.getUTCMonth();
        var rest = x.at.getTime() - Date.UTC(y.at.getUTCFullYear(), y.at.getUTCMonth() + months, y.at.getUTCDate(), y.at.getUTCHours(), y.at.getUTCMinutes(), y.at.getUTCSeconds());
        if (months > 0 && rest < 0) months -= 1; else if (months < 0 && rest > 0) months += 1;
        return u === "year" ? Math.trunc(months / 12) : months;
      }
      return UNIT_MS[u] ? (x.at.getTime() - y.at.getTime()) / UNIT_MS[u] : null;
    });
    logic.add_operation("contains", function (haystack, needle) {
      if (Array.isArray(haystack)) return haystack.some(function (v) { return v === needle || (v !== v && needle !== needle); });
      if (typeof haystack === "string" && needle !== null && needle !== undefined && typeof needle !== "object") return haystack.indexOf(String(needle)) >= 0;
      return false;
    });
    logic.add_operation("starts_with", function (s, p) { s = textOf(s); p = textOf(p); return s !== null && p !== null && s.indexOf(p) === 0; });
    logic.add_operation("ends_with", function (s, p) { s = textOf(s); p = textOf(p); return s !== null && p !== null && s.slice(s.length - p.length) === p; });
    logic.add_operation("lower", function (s) { s = textOf(s); return s === null ? null : s.toLowerCase(); });
    logic.add_operation("upper", function (s) { s = textOf(s); return s === null ? null : s.toUpperCase(); });
    logic.add_operation("length", function (v) {
      if (v === null || v === undefined) return 0;
      if (typeof v === "string") return Array.from(v).length;
      if (Array.isArray(v)) return v.length;
      if (typeof v === "object") return Object.keys(v).length;
      return null;
    });
    logic.add_operation("is_empty", function (v) { return v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0); });
    logic.add_operation("current_user", function (where, fallback) { return path(context.user, where, fallback); });
    logic.add_operation("current_department", function (where, fallback) { return path(context.department, where, fallback); });
  }

  // --- reading the form's values as the rules see them --------------------------------------

  function controls(root) { return Array.prototype.slice.call(root.querySelectorAll("input, select, textarea")); }
  function numberOr(text) {
    if (text === "" || text === null || text === undefined) return null;
    var cleaned = String(text).replace(/[,\s%]/g, "");
    return /^[+-]?\d+(\.\d+)?$/.test(cleaned) ? Number(cleaned) : text;
  }

  function readControl(root, widget) {
    var inputs = controls(root).filter(function (el) { return el.name && el.name !== "_fields" && el.type !== "file"; });
    if (widget === "boolean") return inputs.length ? inputs[0].checked : null;
    if (widget === "multiselect" || widget === "files") {
      var list = inputs.filter(function (el) { return el.checked; }).map(function (el) { return widget === "files" ? Number(el.value) : el.value; });
      return list;
    }
    if (widget === "multipicker") {
      return inputs.length ? Array.prototype.slice.call(inputs[0].selectedOptions).map(function (o) { return Number(o.value); }) : [];
    }
    var value = null;
    inputs.forEach(function (el) {
      if (el.type === "radio") { if (el.checked) value = el.value; } else value = el.value;
    });
    if (value === "" || value === null) return null;
    if (widget === "integer" || widget === "decimal" || widget === "picker") return numberOr(value);
    if (widget === "datetime") {
      var at = new Date(value);
      return isNaN(at.getTime()) ? value : at.toISOString();
    }
    return value;
  }

  function readField(wrapper) {
    if (wrapper.hasAttribute("data-readonly")) {
      try { return JSON.parse(wrapper.getAttribute("data-value")); } catch (e) { return null; }
    }
    var widget = wrapper.getAttribute("data-widget");
    if (widget === "subtable") {
      return Array.prototype.slice.call(wrapper.querySelectorAll("tbody[data-rows] > tr[data-row]")).map(function (row) {
        var values = {};
        row.querySelectorAll("[data-cell]").forEach(function (cell) {
          var inner = cell.querySelector("input, select, textarea");
          values[cell.getAttribute("data-cell")] = readControl(cell, inner && inner.type === "checkbox" ? "boolean" : inner && inner.getAttribute("inputmode") ? "decimal" : "text");
        });
        return values;
      });
    }
    return readControl(wrapper, widget);
  }

  function wrappers(form) {
    return Array.prototype.slice.call(form.querySelectorAll("[data-field]"));
  }

  function readAll(form) {
    var data = {};
    wrappers(form).forEach(function (w) { data[w.getAttribute("data-field")] = w.hidden ? null : readField(w); });
    return data;
  }

  // --- applying linkage -----------------------------------------------------------------------

  function setEnabled(wrapper, enabled) {
    controls(wrapper).forEach(function (el) { el.disabled = !enabled || el.hasAttribute("data-locked"); });
    wrapper.querySelectorAll("button").forEach(function (b) { b.disabled = !enabled; });
  }

  function setRequired(wrapper, required) {
    var mark = wrapper.querySelector("[data-required-mark]");
    if (mark) mark.hidden = !required;
    controls(wrapper).forEach(function (el) {
      if (el.type === "hidden") return;
      if (required) el.setAttribute("aria-required", "true"); else el.removeAttribute("aria-required");
    });
  }

  function setValue(wrapper, value) {
    var widget = wrapper.getAttribute("data-widget");
    controls(wrapper).forEach(function (el) {
      if (el.type === "hidden") return;
      if (widget === "boolean") el.checked = !!value;
      else if (el.type === "radio" || el.type === "checkbox") el.checked = Array.isArray(value) ? value.indexOf(el.value) >= 0 : el.value === String(value);
      else el.value = value === null || value === undefined ? "" : String(value);
    });
  }

  function truthy(logic, value) { return logic.truthy(value); }

  function applyRules(form, state) {
    var logic = window.jsonLogic;
    if (!logic || !state.spec) return;
    var spec = state.spec;
    for (var pass = 0; pass < 3; pass++) {
      var data = readAll(form), changed = false;
      wrappers(form).forEach(function (w) {
        var key = w.getAttribute("data-field"), rules = spec.fields[key];
        if (!rules || w.hasAttribute("data-readonly")) return;
        var visible = !("visible" in rules) || truthy(logic, logic.apply(rules.visible, data));
        if (w.hidden === visible) { w.hidden = !visible; changed = true; }
        var readonly = "readonly" in rules && truthy(logic, logic.apply(rules.readonly, data));
        setEnabled(w, visible && !readonly);
        if ("required" in rules) setRequired(w, truthy(logic, logic.apply(rules.required, data)));
        if (visible && "value" in rules) {
          var computed = logic.apply(rules.value, data);
          if (JSON.stringify(readField(w)) !== JSON.stringify(computed)) { setValue(w, computed); changed = true; }
        }
      });
      if (!changed) break;
    }
    showRuleHints(form, state, readAll(form));
  }

  function ruleText(rule, locale) {
    return rule.message[locale] || rule.message.en || rule.message["zh-CN"] || "";
  }

  function showRuleHints(form, state, data) {
    var logic = window.jsonLogic, failing = {}, general = [];
    if (!state.touched) return;
    state.spec.rules.forEach(function (rule) {
      var ok;
      try { ok = truthy(logic, logic.apply(rule.condition, data)); } catch (e) { ok = true; }
      if (ok) return;
      var text = ruleText(rule, state.spec.locale);
      if (rule.field && form.querySelector('[data-field="' + rule.field + '"]')) (failing[rule.field] = failing[rule.field] || []).push(text);
      else general.push(text);
    });
    wrappers(form).forEach(function (w) {
      var hint = w.querySelector(":scope > [data-rule-message]");
      if (!hint) return;
      var messages = failing[w.getAttribute("data-field")];
      hint.hidden = !messages;
      hint.textContent = messages ? messages.join(" ") : "";
    });
    var summary = form.querySelector("[data-form-rules-summary]");
    if (summary) { summary.hidden = !general.length; summary.textContent = general.join(" "); }
  }

  // --- sub-table rows ---------------------------------------------------------------------------

  function addRow(button, state) {
    var table = button.closest("[data-subtable]");
    var body = table.querySelector("tbody[data-rows]");
    var template = table.querySelector("template[data-row-template]");
    var index = Number(body.getAttribute("data-next-index") || body.children.length);
    body.setAttribute("data-next-index", String(index + 1));
    var row = template.content.firstElementChild.cloneNode(true);
    row.querySelectorAll("*").forEach(function (el) {
      ["name", "id", "for", "aria-describedby", "value", "data-source"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v && v.indexOf("__i__") >= 0) el.setAttribute(attr, v.split("__i__").join(String(index)));
      });
    });
    body.appendChild(row);
    enhance(row, state);
    var first = row.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  }

  function removeRow(button) {
    var table = button.closest("[data-subtable]");
    button.closest("tr").remove();
    var add = table.querySelector("[data-add-row]");
    if (add) add.focus();
  }

  // --- uploads with progress --------------------------------------------------------------------

  function say(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, name) { return values[name] === undefined ? "" : values[name]; });
  }

  function upload(input, state) {
    var wrapper = input.closest("[data-field]");
    var list = wrapper.querySelector("[data-file-list]");
    var area = wrapper.querySelector("[data-upload-progress]");
    var texts = state.spec ? state.spec.texts : {};
    Array.prototype.slice.call(input.files).forEach(function (file) {
      var line = document.createElement("div");
      line.className = "upload-progress__item";
      var label = document.createElement("span");
      label.textContent = say(texts.uploading || "%(name)s", { name: file.name });
      var bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.setAttribute("aria-label", file.name);
      line.appendChild(label); line.appendChild(bar);
      area.appendChild(line);
      var body = new FormData();
      body.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/v1/files");
      xhr.setRequestHeader("X-CSRF-Token", window.tangram.csrfToken());
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status === 201 && data) {
          bar.value = 100;
          label.textContent = say(texts.uploaded || "%(name)s", { name: data.filename });
          var item = document.createElement("li");
          item.className = "file-list__item";
          var lab = document.createElement("label");
          var box = document.createElement("input");
          box.type = "checkbox"; box.name = input.name; box.value = String(data.id); box.checked = true;
          lab.appendChild(box);
          lab.appendChild(document.createTextNode(" " + data.filename));
          item.appendChild(lab);
          list.appendChild(item);
          setTimeout(function () { line.remove(); }, 1500);
          applyRules(input.form, state);
        } else {
          line.classList.add("upload-progress__item--failed");
          label.textContent = say(texts.upload_failed || "%(name)s: %(reason)s", { name: file.name, reason: (data && data.title) || xhr.status });
          line.setAttribute("role", "alert");
        }
      });
      xhr.addEventListener("error", function () {
        label.textContent = say(texts.upload_failed || "%(name)s: %(reason)s", { name: file.name, reason: "network" });
      });
      xhr.send(body);
    });
    input.value = "";  // the bytes went to the files API: the form posts only the ids
  }

  // --- pickers: an ARIA combobox over the original <select> -------------------------------------

  var pickerCount = 0;

  function combobox(select, state) {
    if (select.hasAttribute("data-enhanced")) return;
    select.setAttribute("data-enhanced", "");
    var multiple = select.multiple, texts = state.spec ? state.spec.texts : {};
    var id = select.id, listId = id + "-listbox-" + (++pickerCount);
    var box = document.createElement("div");
    box.className = "combobox";
    var chips = document.createElement("ul");
    chips.className = "combobox__chips";
    var input = document.createElement("input");
    input.type = "text";
    input.id = id;
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    ["aria-describedby", "aria-invalid", "aria-required"].forEach(function (a) {
      if (select.hasAttribute(a)) input.setAttribute(a, select.getAttribute(a));
    });
    // A picker with nowhere to search (the designer's preview of a form only in the draft).
    if (!select.getAttribute("data-source")) { input.disabled = true; select.disabled = true; input.setAttribute("data-locked", ""); select.setAttribute("data-locked", ""); }
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "combobox__list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("aria-live", "polite");
    select.id = id + "-select";
    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    select.parentNode.insertBefore(box, select);
    if (multiple) box.appendChild(chips);
    box.appendChild(input); box.appendChild(list); box.appendChild(status); box.appendChild(select);
    var options = [], active = -1, timer = null, serial = 0;

    function chosen() { return Array.prototype.slice.call(select.options).filter(function (o) { return o.selected && o.value; }); }
    function optionFor(value, label) {
      var found = Array.prototype.slice.call(select.options).filter(function (o) { return o.value === String(value); })[0];
      if (!found) { found = new Option(label, String(value)); select.appendChild(found); }
      return found;
    }
    function renderChosen() {
      if (!multiple) {
        var one = chosen()[0];
        input.value = one ? one.textContent : "";
        return;
      }
      chips.textContent = "";
      chosen().forEach(function (o) {
        var li = document.createElement("li");
        li.className = "chip";
        li.appendChild(document.createTextNode(o.textContent + " "));
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip__remove";
        remove.setAttribute("aria-label", (texts.remove || "Remove") + ": " + o.textContent);
        remove.textContent = "×";
        remove.addEventListener("click", function () { o.selected = false; renderChosen(); changed(); input.focus(); });
        li.appendChild(remove);
        chips.appendChild(li);
      });
    }
    function changed() { select.dispatchEvent(new Event("change", { bubbles: true })); }
    function close() {
      list.hidden = true; active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", String(i === index));
        if (i === index) { input.setAttribute("aria-activedescendant", li.id); li.scrollIntoView({ block: "nearest" }); }
      });
    }
    function pick(index) {
      var item = options[index]; if (!item) return;
      var option = optionFor(item.value, item.label);
      if (!multiple) Array.prototype.forEach.call(select.options, function (o) { o.selected = false; });
      option.selected = true;
      renderChosen(); changed(); close();
      if (multiple) input.value = "";
    }
    function show(items) {
      options = items; list.textContent = "";
      items.forEach(function (item, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.className = "combobox__option";
        li.textContent = item.label;
        li.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
        list.appendChild(li);
      });
      if (!items.length) {
        var none = document.createElement("li");
        none.className = "combobox__empty muted";
        none.setAttribute("role", "option");  // a listbox holds options only: this one is inert
        none.setAttribute("aria-disabled", "true");
        none.textContent = texts.no_matches || "No matches";
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      status.textContent = items.length ? String(items.length) : (texts.no_matches || "");
      highlight(items.length ? 0 : -1);
    }
    function search() {
      var mine = ++serial, q = multiple || !chosen()[0] || input.value !== chosen()[0].textContent ? input.value : "";
      var source = select.getAttribute("data-source");
      var url = source + (q ? (source.indexOf("?") >= 0 ? "&" : "?") + "q=" + encodeURIComponent(q) : "");
      window.tangram.api("GET", url).then(function (answer) {
        if (mine !== serial || !answer.ok || !answer.data) return;
        show(answer.data.items);
      });
    }
    input.addEventListener("input", function () {
      if (!multiple && input.value === "") { Array.prototype.forEach.call(select.options, function (o) { o.selected = false; }); changed(); }
      clearTimeout(timer); timer = setTimeout(search, 200);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) search(); else highlight(Math.min(active + 1, options.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault(); if (!list.hidden) highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) { event.preventDefault(); pick(active); }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); renderChosen(); }
      } else if (event.key === "Backspace" && multiple && input.value === "") {
        var last = chosen().pop(); if (last) { last.selected = false; renderChosen(); changed(); }
      }
    });
    input.addEventListener("focus", function () { if (list.hidden) search(); });
    input.addEventListener("blur", function () { setTimeout(function () { close(); renderChosen(); }, 0); });
    var label = document.querySelector('label[for="' + id + '"]');
    if (label) { label.id = label.id || id + "-label"; list.setAttribute("aria-labelledby", label.id); }
    renderChosen();
  }

  // --- rich text ----------------------------------------------------------------------------------

  function richtext(area, state) {
    if (area.hasAttribute("data-enhanced")) return;
    area.setAttribute("data-enhanced", "");
    var texts = state.spec ? state.spec.texts : {};
    var shell = document.createElement("div");
    shell.className = "richtext-editor";
    var bar = document.createElement("div");
    bar.className = "richtext-editor__bar";
    bar.setAttribute("role", "toolbar");
    var editor = document.createElement("div");
    editor.className = "richtext-editor__area richtext";
    editor.contentEditable = "true";
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    var label = document.querySelector('label[for="' + area.id + '"]');
    if (label) { label.id = label.id || area.id + "-label"; editor.setAttribute("aria-labelledby", label.id); bar.setAttribute("aria-labelledby", label.id); }
    if (area.hasAttribute("aria-describedby")) editor.setAttribute("aria-describedby", area.getAttribute("aria-describedby"));
    editor.innerHTML = area.value;  // stored rich text is sanitised by the server (nh3)
    [["bold", "B", "bold"], ["italic", "I", "italic"], ["insertUnorderedList", "•", "list"], ["createLink", texts.link || "Link", "link"]].forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button button--small";
      // The glyph is what shows, the name what is read (no aria-label: a name that does not
      // contain the visible text fails WCAG 2.5.3, label in name); the title shows it too.
      var glyph = document.createElement("span"), name = document.createElement("span");
      glyph.setAttribute("aria-hidden", "true");
      glyph.textContent = spec[1];
      name.className = "visually-hidden";
      name.textContent = texts[spec[2]] || spec[2];
      button.title = name.textContent;
      button.appendChild(glyph); button.appendChild(name);
      button.addEventListener("click", function () {
        editor.focus();
        var value = null;
        if (spec[0] === "createLink") { value = window.prompt(texts.link_prompt || "https://"); if (!value) return; }
        document.execCommand(spec[0], false, value);
        sync();
      });
      bar.appendChild(button);
    });
    function sync() { area.value = editor.innerHTML; }
    editor.addEventListener("input", sync);
    area.hidden = true;
    area.parentNode.insertBefore(shell, area);
    shell.appendChild(bar); shell.appendChild(editor); shell.appendChild(area);
    if (label) label.addEventListener("click", function () { editor.focus(); });
  }

  // --- wiring ----------------------------------------------------------------------------------

  function enhance(root, state) {
    root.querySelectorAll("select[data-picker]").forEach(function (s) { combobox(s, state); });
    root.querySelectorAll("textarea[data-richtext]").forEach(function (a) { richtext(a, state); });
  }

  function setUp(form) {
    if (form.hasAttribute("data-ready")) return;
    form.setAttribute("data-ready", "");
    var block = form.querySelector("script[data-form-rules]");
    var state = { spec: null, touched: false };
    if (block) {
      try { state.spec = JSON.parse(block.textContent); } catch (e) { state.spec = null; }
    }
    // htmx drops <script> elements from swapped content (allowScriptTags: false): a form
    // swapped in after a refused post keeps the rules its first rendering carried.
    var where = form.getAttribute("action");
    if (state.spec) specs[where] = state.spec; else state.spec = specs[where] || null;
    if (state.spec && window.jsonLogic) extend(window.jsonLogic, state.spec.context || {});
    enhance(form, state);
    function update() { state.touched = true; applyRules(form, state); }
    form.addEventListener("input", update);
    form.addEventListener("change", function (event) {
      if (event.target.matches("input[data-upload]")) { upload(event.target, state); return; }
      update();
    });
    form.addEventListener("click", function (event) {
      var add = event.target.closest("[data-add-row]");
      if (add) { event.preventDefault(); addRow(add, state); applyRules(form, state); return; }
      var remove = event.target.closest("[data-remove-row]");
      if (remove) { event.preventDefault(); removeRow(remove); applyRules(form, state); }
    });
    applyRules(form, state);
    var invalid = form.querySelector(".field--invalid input:not([type=hidden]), .field--invalid select, .field--invalid textarea, .field--invalid [contenteditable]");
    if (invalid && form.closest("[data-swapped]")) invalid.focus();
  }

  // Pickers outside a record form (the list's filter bar and bulk edit) speak the texts of
  // the page's <script type="application/json" data-picker-texts> block.
  function pageState() {
    var block = document.querySelector("script[data-picker-texts]"), texts = {};
    if (block) { try { texts = JSON.parse(block.textContent); } catch (e) { texts = {}; } }
    return { spec: { texts: texts }, touched: false };
  }

  function init(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("[data-record-form]")) setUp(scope);
    scope.querySelectorAll("[data-record-form]").forEach(setUp);
    var loose = Array.prototype.filter.call(scope.querySelectorAll("select[data-picker]"), function (s) { return !s.closest("[data-record-form]"); });
    if (loose.length) { var state = pageState(); loose.forEach(function (s) { combobox(s, state); }); }
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // htmx swaps the whole #record-form in after a refused post: set the new form up and
  // focus its first invalid field.
  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    if (root && root.id === "record-form") root.setAttribute("data-swapped", "");
    init(root);
  });
  if (document.readyState !== "loading") init(document);
})();
