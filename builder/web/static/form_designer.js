// Form designer: the forms list's "Add a form", and one form's designer — palette of field
// types dragged (SortableJS) onto sections of a canvas, a properties panel per field type,
// linkage rules and form rules with the shared condition builder, a live preview bound by the
// end users' forms.js. Every edit goes through the shared draft store (undo/redo, save).
(function () {
  "use strict";
  var T = {}, TYPES = {}, CONFIG = {}, store = null, selected = null, problems = [];
  // The builder's shared helpers (static/draft.js, loaded first by builder/layout.html).
  var tg = window.tangram;
  var el = tg.el, input = tg.input, field = tg.field, select = tg.select, button = tg.button;
  var label = tg.label, setLabel = tg.setLabel, freeKey = tg.freeKey, announce = tg.announce;
  // Sub-table columns whose properties are open: "<sub-table key>/<column index>" → true.
  var openColumns = {};

  // --- the form in the draft -----------------------------------------------------------------
  function formIndex(definition) {
    return (definition.forms || []).findIndex(function (f) { return f.id === CONFIG.form_id; });
  }
  function form() { return store.definition.forms[formIndex(store.definition)]; }
  // Edit this form in the draft: `mutate(form, definition)` on a copy (pushes undo).
  function edit(mutate, rerender) {
    store.change(function (d) { mutate(d.forms[formIndex(d)], d); });
    if (rerender) render();
  }
  function fieldOf(f, key) { return (f.fields || []).find(function (x) { return x.key === key; }); }
  function typeLabel(type) { return (TYPES[type] || {}).label || type; }
  // Sections always cover every field (fields outside any section go to the first one).
  function normalise(f) {
    f.sections = f.sections || [];
    if (!f.sections.length) f.sections.push({ id: "main", title: {}, columns: 1, fields: [] });
    var placed = {};
    f.sections.forEach(function (s) {
      s.fields = (s.fields || []).filter(function (k) { return fieldOf(f, k) && !placed[k] && (placed[k] = true); });
    });
    (f.fields || []).forEach(function (x) { if (!placed[x.key]) f.sections[0].fields.push(x.key); });
  }
  function defaultsFor(type, f) {
    var options = {};
    if (type === "select" || type === "multiselect") options.options = [{ value: "a", label: { en: "A" } }, { value: "b", label: { en: "B" } }];
    if (type === "subtable") {
      options.fields = [{ id: f.next_field_id++, key: "item", type: "text", label: { en: "Item" } }];
    }
    if (type === "formula") options.expression = 0;
    if (type === "relation" || type === "multirelation") options.form_id = f.id;
    return options;
  }
  function addField(type, sectionIndex, position) {
    var key = null;
    edit(function (f) {
      normalise(f);
      f.next_field_id = Math.max(f.next_field_id || 1, 1 + Math.max.apply(null, [0].concat((f.fields || []).concat(f.archived || []).map(function (x) { return x.id; }))));
      var id = f.next_field_id++;
      key = freeKey(type.replace(/[^a-z0-9_]/g, "") + "_", (f.fields || []).map(function (x) { return x.key; }));
      var spec = { id: id, key: key, type: type, label: { en: T.new_field + " " + id }, options: defaultsFor(type, f) };
      f.fields = f.fields || [];
      f.fields.push(spec);
      var section = f.sections[Math.min(sectionIndex, f.sections.length - 1)];
      section.fields.splice(position === undefined ? section.fields.length : position, 0, key);
    });
    selected = key;
    render();
    announce(T.added);
    return key;
  }
  // Rename a field: its key in sections, the title field and conditions of other fields.
  function renameField(oldKey, newKey) {
    edit(function (f) {
      var spec = fieldOf(f, oldKey);
      if (!spec) return;
      spec.key = newKey;
      (f.sections || []).forEach(function (s) { s.fields = s.fields.map(function (k) { return k === oldKey ? newKey : k; }); });
      if (f.title_field === oldKey) f.title_field = newKey;
      var pattern = JSON.stringify({ var: oldKey }), replacement = JSON.stringify({ var: newKey });
      var swap = function (logic) { return logic === null || logic === undefined ? logic : JSON.parse(JSON.stringify(logic).split(pattern).join(replacement)); };
      (f.fields || []).forEach(function (x) {
        Object.keys(x.linkage || {}).forEach(function (k) { x.linkage[k] = swap(x.linkage[k]); });
        if (x.type === "formula" && x.options) x.options.expression = swap(x.options.expression);
      });
      (f.rules || []).forEach(function (r) { r.condition = swap(r.condition); if (r.field === oldKey) r.field = newKey; });
    });
    selected = newKey;
    render();
  }

  // --- problems --------------------------------------------------------------------------------
  // `problems`: this form's problems with paths under "form." — from the check endpoint while
  // editing (POST …/draft/forms/check, in the page's language) and from a refused save (422,
  // "definition.forms[i]…" made relative). Renderers leave `[data-problems="<path>"]` boxes;
  // showProblems() fills them in place, so a check never moves the focus.
  function fieldPath(f, key) {
    return "form.fields[" + (f.fields || []).findIndex(function (x) { return x.key === key; }) + "]";
  }
  function under(path, prefix) {
    return path === prefix || path.indexOf(prefix + ".") === 0 || path.indexOf(prefix + "[") === 0;
  }
  function problemsFor(box) {
    var prefix = box.getAttribute("data-problems"), skip = box.getAttribute("data-problems-skip");
    return problems.filter(function (p) {
      if (prefix === "form") return !/^form\.((fields|rules)\[|overview\b)/.test(p.path);
      if (box.hasAttribute("data-problems-exact")) return p.path === prefix;
      return under(p.path, prefix) && !(skip && under(p.path, skip));
    });
  }
  function problemBox(prefix, skip) {
    return el("div", { className: "fd__problems", "data-problems": prefix, "data-problems-skip": skip || null });
  }
  function showProblems() {
    document.querySelectorAll("[data-problems]").forEach(function (box) {
      var list = problemsFor(box);
      box.textContent = "";
      var item = box.closest(".fd__field");
      if (item && box.parentNode === item) item.classList.toggle("fd__field--invalid", list.length > 0);
      if (!list.length) return;
      box.appendChild(el("ul", { className: "fd__errors", role: "alert" }, list.map(function (p) {
        return el("li", { text: p.message + " (" + p.path.replace(/^form\.?/, "") + ")" });
      })));
    });
  }
  // A refused save's problems of this form, with paths under "form.".
  function fromDraft(list) {
    var at = "definition.forms[" + formIndex(store.definition) + "]";
    return (list || []).filter(function (p) { return p.field && under(p.field, at); }).map(function (p) {
      return { path: "form" + p.field.slice(at.length), code: p.code, message: p.message };
    });
  }
  var checkTimer = null, checkSerial = 0;
  function checkSoon() { clearTimeout(checkTimer); checkTimer = setTimeout(check, 500); }
  function check() {
    var f = form();
    if (!f || !CONFIG.check_url) return;
    var mine = ++checkSerial;
    window.tangram.api("POST", CONFIG.check_url, { form: f }).then(function (answer) {
      if (mine !== checkSerial || !answer.ok || !answer.data) return;
      problems = answer.data.problems || [];
      showProblems();
    });
  }

  // --- canvas ----------------------------------------------------------------------------------
  function renderFormProps(f) {
    var box = document.querySelector("[data-form-props]");
    box.textContent = "";
    var en = input((f.label || {}).en), zh = input((f.label || {})["zh-CN"]);
    [[en, "en"], [zh, "zh-CN"]].forEach(function (pair) {
      pair[0].addEventListener("change", function () { edit(function (x) { setLabel(x, "label", pair[1], pair[0].value); }); });
    });
    var title = select([{ key: "", label: T.none }].concat((f.fields || []).map(function (x) { return { key: x.key, label: label(x.label) || x.key }; })), f.title_field || "");
    title.addEventListener("change", function () { edit(function (x) { x.title_field = title.value || null; }); });
    box.appendChild(el("div", { className: "fd__row" }, [field(T.form_label_en, en), field(T.form_label_zh, zh), field(T.title_field, title)]));
    box.appendChild(problemBox("form"));
  }

  function renderCanvas(f) {
    var canvas = document.querySelector("[data-canvas]");
    canvas.textContent = "";
    f.sections.forEach(function (section, si) {
      var head = el("div", { className: "fd__section-head" });
      var en = input((section.title || {}).en), zh = input((section.title || {})["zh-CN"]);
      [[en, "en"], [zh, "zh-CN"]].forEach(function (pair) {
        pair[0].addEventListener("change", function () { edit(function (x) { normalise(x); setLabel(x.sections[si], "title", pair[1], pair[0].value); }); });
      });
      var columns = select([1, 2, 3, 4].map(function (n) { return { key: n, label: String(n) }; }), section.columns || 1);
      columns.addEventListener("change", function () { edit(function (x) { normalise(x); x.sections[si].columns = Number(columns.value); }, true); });
      head.appendChild(field(T.section_title_en, en));
      head.appendChild(field(T.section_title_zh, zh));
      head.appendChild(field(T.columns, columns));
      if (f.sections.length > 1) {
        var drop = button(T.remove, { "aria-label": T.remove + ": " + T.section + " " + (si + 1) });
        drop.addEventListener("click", function () {
          edit(function (x) { normalise(x); var moved = x.sections.splice(si, 1)[0]; x.sections[0].fields = x.sections[0].fields.concat(moved.fields); }, true);
        });
        head.appendChild(drop);
      }
      var list = el("ul", { className: "fd__fields fd__fields--cols-" + (section.columns || 1), "data-section": si, "aria-label": T.section + " " + (si + 1) });
      section.fields.forEach(function (key, fi) {
        var spec = fieldOf(f, key);
        var item = el("li", { className: "fd__field" + (key === selected ? " fd__field--selected" : ""), "data-field-key": key });
        var pick = el("button", { type: "button", className: "fd__pick", "data-select-field": key, "aria-pressed": key === selected ? "true" : "false" }, [
          el("strong", { text: label(spec.label) || key }), el("span", { className: "muted", text: " " + typeLabel(spec.type) + " · " + key + (spec.required ? " *" : "") }),
        ]);
        pick.addEventListener("click", function () { selected = key; render(); });
        var up = button("↑", { "aria-label": T.move_up + ": " + key, disabled: fi === 0 && si === 0 ? "" : null });
        var down = button("↓", { "aria-label": T.move_down + ": " + key, disabled: fi === section.fields.length - 1 && si === f.sections.length - 1 ? "" : null });
        var remove = button("×", { "aria-label": T.remove + ": " + key });
        up.addEventListener("click", function () { moveBy(key, -1); });
        down.addEventListener("click", function () { moveBy(key, 1); });
        remove.addEventListener("click", function () {
          edit(function (x) {
            x.fields = x.fields.filter(function (y) { return y.key !== key; });
            normalise(x);
          });
          if (selected === key) selected = null;
          render(); announce(T.removed);
        });
        item.appendChild(pick);
        item.appendChild(el("span", { className: "fd__tools" }, [up, down, remove]));
        item.appendChild(problemBox(fieldPath(f, key)));
        list.appendChild(item);
      });
      if (!section.fields.length) list.appendChild(el("li", { className: "fd__empty muted", text: T.empty_section }));
      canvas.appendChild(el("div", { className: "fd__section", "data-section-box": si }, [head, list]));
      if (window.Sortable) {
        window.Sortable.create(list, {
          group: { name: "fields", pull: true, put: true }, animation: 120, filter: ".fd__empty", draggable: ".fd__field, .fd__type",
          onAdd: function (event) {
            var type = event.item.getAttribute("data-type");
            if (!type) return;
            event.item.parentNode.removeChild(event.item);
            var index = Array.prototype.slice.call(list.children, 0, event.newIndex).filter(function (n) { return n.classList.contains("fd__field"); }).length;
            addField(type, si, index);
          },
          onEnd: function (event) {
            if (!event.item.getAttribute("data-field-key")) return;
            var target = event.to.getAttribute("data-section");
            if (target === null) return;
            var keys = Array.prototype.map.call(event.to.querySelectorAll("[data-field-key]"), function (n) { return n.getAttribute("data-field-key"); });
            var from = Number(event.from.getAttribute("data-section"));
            var fromKeys = Array.prototype.map.call(event.from.querySelectorAll("[data-field-key]"), function (n) { return n.getAttribute("data-field-key"); });
            edit(function (x) {
              normalise(x);
              x.sections[Number(target)].fields = keys;
              if (from !== Number(target)) x.sections[from].fields = fromKeys;
              normalise(x);
            }, true);
            announce(T.moved);
          },
        });
      }
    });
  }
  function moveBy(key, step) {
    edit(function (x) {
      normalise(x);
      var si = x.sections.findIndex(function (s) { return s.fields.indexOf(key) >= 0; });
      var list = x.sections[si].fields, at = list.indexOf(key), to = at + step;
      list.splice(at, 1);
      if (to < 0 && si > 0) x.sections[si - 1].fields.push(key);
      else if (to > list.length && si < x.sections.length - 1) x.sections[si + 1].fields.unshift(key);
      else list.splice(Math.max(0, Math.min(to, list.length)), 0, key);
    });
    render();
    var again = document.querySelector('[data-field-key="' + key + '"] button[aria-label^="' + (step < 0 ? T.move_up : T.move_down) + '"]');
    if (again && !again.disabled) again.focus();
    announce(T.moved);
  }

  // --- properties ----------------------------------------------------------------------------
  var SKIP_SETTINGS = ["options", "fields", "archived", "expression", "form_id"];
  function settingControls(spec, type, onChange) {
    var schema = (TYPES[type] || {}).settings_schema || {};
    var props = schema.properties || {};
    var out = [];
    Object.keys(props).forEach(function (name) {
      if (SKIP_SETTINGS.indexOf(name) >= 0) return;
      var prop = props[name];
      var kinds = prop.type ? [prop.type] : (prop.anyOf || []).map(function (a) { return a.type; });
      var value = (spec.options || {})[name];
      var control;
      var text = (prop.title || name).replace(/_/g, " ");
      if (prop.enum || (prop.$ref && schema.$defs)) {
        var values = prop.enum || ((schema.$defs[prop.$ref.split("/").pop()] || {}).enum) || [];
        control = select([{ key: "", label: "—" }].concat(values.map(function (v) { return { key: v, label: v }; })), value === undefined ? "" : value);
      } else if (kinds.indexOf("boolean") >= 0) {
        control = el("input", { type: "checkbox" });
        control.checked = value === undefined ? !!prop.default : !!value;
      } else if (kinds.indexOf("integer") >= 0 || kinds.indexOf("number") >= 0) {
        control = input(value, { type: "number", placeholder: prop.default === undefined || prop.default === null ? "" : String(prop.default), step: kinds.indexOf("integer") >= 0 ? "1" : "any" });
      } else if (kinds.indexOf("string") >= 0) {
        control = input(value, { placeholder: prop.default === undefined || prop.default === null ? "" : String(prop.default) });
      } else {
        return;
      }
      control.setAttribute("data-setting", name);
      control.addEventListener("change", function () {
        var v;
        if (control.type === "checkbox") v = control.checked;
        else if (control.type === "number") v = control.value === "" ? undefined : Number(control.value);
        else v = control.value === "" ? undefined : control.value;
        onChange(function (options) { if (v === undefined) delete options[name]; else options[name] = v; });
      });
      out.push(field(text, control, prop.description ? el("small", { className: "muted", text: prop.description }) : null));
    });
    return out;
  }

  function optionsEditor(spec, path) {
    var box = el("fieldset", { className: "fd__options" }, [el("legend", { text: T.options })]);
    ((spec.options || {}).options || []).forEach(function (option, oi) {
      var value = input(option.value, { "data-option-value": oi });
      var en = input((option.label || {}).en, { "data-option-label": oi }), zh = input((option.label || {})["zh-CN"]);
      var color = input(option.color || "#4a7bd0", { type: "color" });
      var mutate = function (fn) { edit(function (f) { var x = path(f); fn(x.options.options[oi]); }); };
      value.addEventListener("change", function () { mutate(function (o) { o.value = value.value.trim(); }); });
      en.addEventListener("change", function () { mutate(function (o) { setLabel(o, "label", "en", en.value); }); });
      zh.addEventListener("change", function () { mutate(function (o) { setLabel(o, "label", "zh-CN", zh.value); }); });
      color.addEventListener("change", function () { mutate(function (o) { o.color = color.value; }); });
      var remove = button(T.remove, { "aria-label": T.remove + ": " + option.value });
      remove.addEventListener("click", function () { edit(function (f) { path(f).options.options.splice(oi, 1); }, true); });
      box.appendChild(el("div", { className: "fd__row fd__option" }, [field(T.option_value, value), field(T.label_en, en), field(T.label_zh, zh), field(T.color, color), remove]));
    });
    var add = button(T.add_option, { "data-add-option": "" });
    add.addEventListener("click", function () {
      edit(function (f) {
        var x = path(f);
        x.options = x.options || {};
        x.options.options = x.options.options || [];
        x.options.options.push({ value: freeKey("option_", x.options.options.map(function (o) { return o.value; })), label: {} });
      }, true);
    });
    box.appendChild(add);
    return box;
  }

  function formulaEditor(ctx) {
    var spec = ctx.spec;
    var text = el("textarea", { className: "cond__json", "data-formula": "" });
    text.value = JSON.stringify((spec.options || {}).expression === undefined ? null : spec.options.expression, null, 2);
    var error = el("p", { className: "cond__error", role: "alert" });
    text.addEventListener("change", function () {
      var value;
      try { value = JSON.parse(text.value); } catch (e) { error.textContent = T.invalid_json; return; }
      error.textContent = "";
      ctx.change(function (s) { s.options = s.options || {}; s.options.expression = value; });
    });
    var picker = select(ctx.siblings.filter(function (x) { return x.type !== "subtable"; }).map(function (x) { return { key: x.key, label: (label(x.label) || x.key) + " (" + x.key + ")" }; }), "");
    var insert = button(T.insert_field);
    insert.addEventListener("click", function () {
      if (!picker.value) return;
      var snippet = JSON.stringify({ var: picker.value });
      var start = text.selectionStart || 0, end = text.selectionEnd || 0;
      text.value = text.value.slice(0, start) + snippet + text.value.slice(end);
      text.focus();
      text.selectionStart = text.selectionEnd = start + snippet.length;
      text.dispatchEvent(new Event("change"));
    });
    return el("div", { className: "fd__formula" }, [field(T.expression, text), error, el("div", { className: "fd__row" }, [field(T.insert_field, picker), insert])]);
  }

  // The sub-table's columns: each a collapsible block with the properties panel of a field
  // (fieldProps, the same code as for top-level fields) over its sibling columns.
  function columnsEditor(ctx, f) {
    var spec = ctx.spec;
    var box = el("fieldset", { className: "fd__columns" }, [el("legend", { text: T.columns_of_table })]);
    var children = (spec.options || {}).fields || [];
    children.forEach(function (child, ci) {
      var id = spec.key + "/" + ci;
      var details = el("details", { className: "fd__column", "data-column": ci });
      if (openColumns[id] || children.length === 1) details.open = true;
      details.addEventListener("toggle", function () { openColumns[id] = details.open; });
      var summary = el("summary", { text: (label(child.label) || child.key) + " · " + typeLabel(child.type) + " · " + child.key + (child.required ? " *" : "") });
      details.appendChild(summary);
      var locate = function (x) { return fieldOf(x, spec.key).options.fields[ci]; };
      var remove = button(T.remove_column, { "aria-label": T.remove + ": " + child.key });
      remove.addEventListener("click", function () {
        edit(function (x) { var s = fieldOf(x, spec.key); s.options.archived = s.options.archived || []; s.options.fields.splice(ci, 1); }, true);
      });
      fieldProps({
        spec: child,
        locate: locate,
        siblings: children.filter(function (c) { return c.key !== child.key; }),
        path: ctx.path + ".options.fields[" + ci + "]",
        column: ci,
        change: function (fn, rerender) { edit(function (x) { fn(locate(x), x); }, rerender); },
        rename: function (key) { edit(function (x) { locate(x).key = key; }, true); },
      }, f).forEach(function (node) { details.appendChild(node); });
      details.appendChild(remove);
      box.appendChild(details);
    });
    var add = button(T.add_column, { "data-add-column": "" });
    add.addEventListener("click", function () {
      edit(function (x) {
        var s = fieldOf(x, spec.key);
        s.options.fields = s.options.fields || [];
        var id = x.next_field_id++;
        s.options.fields.push({ id: id, key: freeKey("col_", s.options.fields.map(function (c) { return c.key; })), type: "text", label: { en: T.new_field + " " + id } });
        openColumns[spec.key + "/" + (s.options.fields.length - 1)] = true;
      }, true);
    });
    box.appendChild(add);
    return box;
  }

  // --- linkage ---------------------------------------------------------------------------------
  // The value a "set value" linkage gives a field, as an input for its type: a choice for
  // select, ticks for multiselect, yes/no, a number, a date … `get()` is null when empty.
  var NUMBER_TYPES = ["integer", "decimal", "currency", "percent", "relation", "user", "department"];
  var TEXT_TYPES = ["text", "textarea", "email", "phone", "url", "richtext"];
  function valueSupported(type) {
    return NUMBER_TYPES.concat(TEXT_TYPES, ["select", "multiselect", "boolean", "date", "datetime"]).indexOf(type) >= 0;
  }
  function typedInput(spec, value) {
    var type = spec.type, options = ((spec.options || {}).options || []);
    var node, get;
    if (type === "select" || type === "boolean") {
      var choices = type === "boolean" ? [{ key: "true", label: T.yes }, { key: "false", label: T.no }]
        : options.map(function (o) { return { key: o.value, label: label(o.label) || o.value }; });
      node = select([{ key: "", label: "—" }].concat(choices), value === null || value === undefined ? "" : String(value));
      get = function () { return node.value === "" ? null : (type === "boolean" ? node.value === "true" : node.value); };
    } else if (type === "multiselect") {
      var chosen = Array.isArray(value) ? value : [];
      var boxes = options.map(function (o) {
        var tick = el("input", { type: "checkbox", value: o.value });
        tick.checked = chosen.indexOf(o.value) >= 0;
        return { tick: tick, node: el("label", { className: "choice" }, [tick, document.createTextNode(" " + (label(o.label) || o.value))]) };
      });
      node = el("div", { className: "choices", role: "group" }, boxes.map(function (b) { return b.node; }));
      get = function () { var on = boxes.filter(function (b) { return b.tick.checked; }).map(function (b) { return b.tick.value; }); return on.length ? on : null; };
    } else if (NUMBER_TYPES.indexOf(type) >= 0) {
      node = input(value, { type: "number", step: type === "integer" || type === "relation" || type === "user" || type === "department" ? "1" : "any" });
      get = function () { return node.value === "" || isNaN(Number(node.value)) ? null : Number(node.value); };
    } else if (type === "date") {
      node = input(typeof value === "string" ? value.slice(0, 10) : "", { type: "date" });
      get = function () { return node.value || null; };
    } else if (type === "datetime") {
      var local = "";
      if (typeof value === "string" && !isNaN(Date.parse(value))) {
        var d = new Date(value);
        local = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
      }
      node = input(local, { type: "datetime-local" });
      get = function () { return node.value ? new Date(node.value).toISOString() : null; };
    } else {
      node = input(value);
      get = function () { return node.value === "" ? null : node.value; };
    }
    return { node: node, get: get };
  }
  function isLiteral(v) { return v === null || typeof v !== "object" || (Array.isArray(v) && v.every(function (x) { return x === null || typeof x !== "object"; })); }
  // linkage.value as {when, value} — constant value, or {"if": [when, value, null]}; null when
  // it is another expression (edited as JSON).
  function splitValue(logic) {
    if (logic === null || logic === undefined) return { when: null, value: null };
    if (isLiteral(logic)) return { when: null, value: logic };
    if (logic.if && Array.isArray(logic.if) && logic.if.length === 3 && logic.if[2] === null && isLiteral(logic.if[1])) return { when: logic.if[0], value: logic.if[1] };
    return null;
  }
  function joinValue(when, value) {
    if (value === null || value === undefined) return null;
    return when === null || when === undefined ? value : { if: [when, value, null] };
  }

  function linkageEditor(ctx) {
    var spec = ctx.spec;
    var box = el("fieldset", { className: "fd__linkage", "data-linkage": "" }, [el("legend", { text: T.linkage })]);
    var others = window.tangram.conditions.fieldsOf({ fields: ctx.siblings }, "");
    var empty = function (logic) { return logic === null || logic === undefined || (logic && logic.and && !logic.and.length); };
    var setRule = function (kind, logic) {
      ctx.change(function (s) {
        s.linkage = s.linkage || {};
        if (empty(logic)) delete s.linkage[kind]; else s.linkage[kind] = logic;
      });
      refreshPreviewSoon();
    };
    [["visible", T.visible_when], ["required", T.required_when], ["readonly", T.readonly_when]].forEach(function (pair) {
      var holder = el("div", { "data-linkage-kind": pair[0] });
      box.appendChild(el("h4", { text: pair[1] }));
      box.appendChild(holder);
      window.tangram.conditions.mount(holder, {
        fields: others,
        value: (spec.linkage || {})[pair[0]] || null,
        onChange: function (logic) { setRule(pair[0], logic); },
      });
    });
    if (valueSupported(spec.type)) box.appendChild(valueEditor(ctx, others, setRule));
    return box;
  }

  // "Set the value": a typed value, given always or when a condition holds.
  function valueEditor(ctx, others, setRule) {
    var current = (ctx.spec.linkage || {}).value;
    var parts = splitValue(current);
    var holder = el("div", { className: "fd__linkage-value", "data-linkage-kind": "value" }, [el("h4", { text: T.set_value })]);
    if (parts === null) {
      var text = el("textarea", { className: "cond__json", "data-linkage-value-json": "" });
      text.value = JSON.stringify(current, null, 2);
      var error = el("p", { className: "cond__error", role: "alert" });
      text.addEventListener("change", function () {
        var value;
        try { value = text.value.trim() === "" ? null : JSON.parse(text.value); } catch (e) { error.textContent = T.invalid_json; return; }
        error.textContent = "";
        setRule("value", value);
      });
      holder.appendChild(field(T.value_expression, text, error));
      return holder;
    }
    var when = parts.when;
    var typed = typedInput(ctx.spec, parts.value);
    typed.node.setAttribute("data-linkage-value", "");
    var update = function () { setRule("value", joinValue(when, typed.get())); };
    typed.node.addEventListener("change", update);
    holder.appendChild(field(T.value_to_set, typed.node, el("small", { className: "muted", text: T.value_hint })));
    var condition = el("div", { "data-linkage-kind": "value-when" });
    holder.appendChild(el("h4", { text: T.set_value_when }));
    holder.appendChild(condition);
    window.tangram.conditions.mount(condition, {
      fields: others,
      value: when,
      onChange: function (logic) {
        when = logic === null || logic === undefined || (logic && logic.and && !logic.and.length) ? null : logic;
        update();
      },
    });
    return holder;
  }

  // --- properties ------------------------------------------------------------------------------
  // The properties of one field — a top-level field or a sub-table column (ctx.column: its
  // index): key, labels and help per locale, required/unique, default, the type's settings,
  // options, related form, formula, columns, linkage. `ctx.change(fn, rerender)` edits it.
  function fieldProps(ctx, f) {
    var spec = ctx.spec, column = ctx.column !== undefined && ctx.column !== null;
    var mark = function (name, extra) {
      var attrs = column ? { "data-column-prop": name } : { "data-prop": name };
      return Object.assign(attrs, extra || {});
    };
    var key = input(spec.key, mark("key", { pattern: "[a-z][a-z0-9_]*", "data-column-key": column ? ctx.column : null }));
    key.addEventListener("change", function () { var v = key.value.trim(); if (v && v !== spec.key) ctx.rename(v); });
    var controls = [problemBox(ctx.path, column ? null : ctx.path + ".options.fields"), el("p", { className: "muted", text: typeLabel(spec.type) + " · #" + spec.id }), field(T.key, key)];
    if (column) {
      var types = Object.keys(TYPES).filter(function (t) { return t !== "subtable" && TYPES[t].writable !== false; });
      var type = select(types.map(function (t) { return { key: t, label: typeLabel(t) }; }), spec.type, mark("type"));
      type.addEventListener("change", function () {
        ctx.change(function (c, x) { c.type = type.value; c.options = defaultsFor(type.value, x); }, true);
      });
      controls.push(field(T.column_type, type));
    }
    [["label", "en", T.label_en], ["label", "zh-CN", T.label_zh], ["help", "en", T.help_en], ["help", "zh-CN", T.help_zh]].forEach(function (triple) {
      var extra = column && triple[0] === "label" && triple[1] === "en" ? { "data-column-label": ctx.column } : {};
      var control = input((spec[triple[0]] || {})[triple[1]], mark(triple[0] + "-" + triple[1], extra));
      control.addEventListener("change", function () { ctx.change(function (s) { setLabel(s, triple[0], triple[1], control.value); }, triple[0] === "label"); });
      controls.push(field(triple[2], control));
    });
    (column ? ["required"] : ["required", "unique"]).forEach(function (name) {
      var check = el("input", mark(name, { type: "checkbox" }));
      check.checked = !!spec[name];
      check.addEventListener("change", function () { ctx.change(function (s) { s[name] = check.checked; }, true); });
      controls.push(field(T[name], check));
    });
    var kind = (TYPES[spec.type] || {}).logic_kind;
    if (spec.type !== "subtable" && spec.type !== "formula" && spec.type !== "autonumber" && kind !== "array") {
      var def = input(spec.default === null || spec.default === undefined ? "" : spec.default, mark("default"));
      def.addEventListener("change", function () {
        var v = def.value === "" ? null : (kind === "number" && !isNaN(Number(def.value)) ? Number(def.value) : (kind === "boolean" ? def.value === "true" : def.value));
        ctx.change(function (s) { s.default = v; });
      });
      controls.push(field(T["default"], def));
    }
    var settingsChange = function (fn) { ctx.change(function (s) { s.options = s.options || {}; fn(s.options); }); };
    var settings = settingControls(spec, spec.type, settingsChange);
    if (settings.length) controls.push(el("fieldset", { className: "fd__settings" }, [el("legend", { text: T.settings })].concat(settings)));
    if (spec.type === "select" || spec.type === "multiselect") controls.push(optionsEditor(spec, ctx.locate));
    if (spec.type === "relation" || spec.type === "multirelation" || spec.type === "lookup") {
      var target = select((store.definition.forms || []).map(function (x) { return { key: x.id, label: label(x.label) || x.key }; }), (spec.options || {}).form_id, mark("form_id"));
      target.addEventListener("change", function () { settingsChange(function (o) { o.form_id = Number(target.value); }); refreshPreviewSoon(); });
      controls.push(field(T.target_form, target));
    }
    if (spec.type === "formula") controls.push(formulaEditor(ctx));
    if (spec.type === "subtable" && !column) controls.push(columnsEditor(ctx, f));
    controls.push(linkageEditor(ctx));
    return controls;
  }

  function renderProps(f) {
    var box = document.querySelector("[data-props]");
    box.textContent = "";
    var spec = selected && fieldOf(f, selected);
    if (!spec) { box.appendChild(el("p", { className: "muted", text: T.select_field || "" })); return; }
    var locate = function (x) { return fieldOf(x, spec.key); };
    fieldProps({
      spec: spec,
      locate: locate,
      siblings: (f.fields || []).filter(function (x) { return x.key !== spec.key; }),
      path: fieldPath(f, spec.key),
      column: null,
      change: function (fn, rerender) { edit(function (x) { fn(locate(x), x); }, rerender); },
      rename: function (key) { renameField(spec.key, key); },
    }, f).forEach(function (c) { box.appendChild(c); });
  }

  // --- form rules ------------------------------------------------------------------------------
  function renderRules(f) {
    var box = document.querySelector("[data-form-rules]");
    box.textContent = "";
    var rules = f.rules || [];
    if (!rules.length) box.appendChild(el("p", { className: "muted", text: T.no_rules }));
    var fields = window.tangram.conditions.fieldsOf(f, "");
    rules.forEach(function (rule, ri) {
      var mutate = function (fn) { edit(function (x) { fn(x.rules[ri]); }); };
      var id = input(rule.id, { "data-rule-id": ri });
      id.addEventListener("change", function () { mutate(function (r) { r.id = id.value.trim(); }); });
      var en = input((rule.message || {}).en), zh = input((rule.message || {})["zh-CN"]);
      en.addEventListener("change", function () { mutate(function (r) { setLabel(r, "message", "en", en.value); }); });
      zh.addEventListener("change", function () { mutate(function (r) { setLabel(r, "message", "zh-CN", zh.value); }); });
      var at = select([{ key: "", label: T.no_field }].concat((f.fields || []).map(function (x) { return { key: x.key, label: label(x.label) || x.key }; })), rule.field || "");
      at.addEventListener("change", function () { mutate(function (r) { r.field = at.value || null; }); });
      var holder = el("div", { className: "fd__rule-condition" });
      var remove = button(T.remove, { "aria-label": T.remove + ": " + rule.id });
      remove.addEventListener("click", function () { edit(function (x) { x.rules.splice(ri, 1); }, true); });
      var item = el("div", { className: "fd__rule perm-grant" }, [field(T.rule_id, id), field(T.message_en, en), field(T.message_zh, zh), field(T.rule_field, at),
        el("div", { className: "perm-grant__wide" }, [el("h4", { text: T.rule_condition }), holder]), remove]);
      item.appendChild(problemBox("form.rules[" + ri + "]"));
      box.appendChild(item);
      window.tangram.conditions.mount(holder, { fields: fields, value: rule.condition, onChange: function (logic) { mutate(function (r) { r.condition = logic === null ? true : logic; }); } });
    });
  }

  // --- overview (the record page's 360° view) ------------------------------------------------
  // Timeline sources and key figures over the forms whose relation fields point at this one.
  function pointingForms(d) {
    return (d.forms || []).filter(function (x) { return x.id !== CONFIG.form_id && relationsTo(x).length; });
  }
  function relationsTo(x) {
    return (x.fields || []).filter(function (y) { return y.type === "relation" && (y.options || {}).form_id === CONFIG.form_id; });
  }
  function formByKey(key) { return (store.definition.forms || []).find(function (x) { return x.key === key; }); }
  function fieldChoices(x, filter, empty) {
    var list = ((x && x.fields) || []).filter(filter || function () { return true; }).map(function (y) { return { key: y.key, label: label(y.label) || y.key }; });
    return empty ? [{ key: "", label: empty }].concat(list) : list;
  }
  var SHOWN = function (y) { return y.type !== "subtable" && y.type !== "lookup" && y.type !== "multirelation"; };
  var AGGS = { sum: 1, avg: 1, min: 1, max: 1 };
  var NUMERIC = { integer: 1, decimal: 1, currency: 1, percent: 1 };
  function sourceItem(source, si, others) {
    var mutate = function (fn, rerender) { edit(function (x) { fn(x.overview.sources[si]); }, rerender); };
    var other = formByKey(source.form);
    var name = label((other || {}).label) || source.form;
    var formSel = select(others.map(function (x) { return { key: x.key, label: label(x.label) || x.key }; }), source.form, { "data-overview-source-form": si });
    formSel.addEventListener("change", function () {
      var next = formByKey(formSel.value);
      mutate(function (s) { s.form = formSel.value; s.via = (relationsTo(next)[0] || {}).key || ""; s.title = null; s.fields = []; s.time = "created_at"; }, true);
    });
    var via = select(fieldChoices(other, function (y) { return relationsTo(other).indexOf(y) >= 0; }), source.via, { "data-overview-source-via": si });
    via.addEventListener("change", function () { mutate(function (s) { s.via = via.value; }); });
    var title = select(fieldChoices(other, SHOWN, T.ov_title_default), source.title || "", { "data-overview-source-title": si });
    title.addEventListener("change", function () { mutate(function (s) { s.title = title.value || null; }); });
    var times = [{ key: "created_at", label: T.ov_created_at }, { key: "updated_at", label: T.ov_updated_at }].concat(fieldChoices(other, function (y) { return y.type === "datetime"; }));
    var time = select(times, source.time || "created_at", { "data-overview-source-time": si });
    time.addEventListener("change", function () { mutate(function (s) { s.time = time.value; }); });
    var shown = el("fieldset", { className: "fd__overview-fields" }, [el("legend", { text: T.ov_fields })]);
    fieldChoices(other, SHOWN).forEach(function (choice) {
      var box = el("input", { type: "checkbox", "data-overview-source-field": si + ":" + choice.key });
      box.checked = (source.fields || []).indexOf(choice.key) >= 0;
      box.addEventListener("change", function () {
        mutate(function (s) {
          s.fields = (s.fields || []).filter(function (k) { return k !== choice.key; });
          if (box.checked) s.fields.push(choice.key);
        });
      });
      shown.appendChild(el("label", { className: "checkbox" }, [box, document.createTextNode(" " + choice.label)]));
    });
    var remove = button(T.remove, { "aria-label": T.remove + ": " + name });
    remove.addEventListener("click", function () { edit(function (x) { x.overview.sources.splice(si, 1); }, true); });
    var item = el("div", { className: "fd__rule perm-grant", "data-overview-source": si }, [
      field(T.ov_form, formSel), field(T.ov_via, via), field(T.ov_title, title), field(T.ov_time, time),
      el("div", { className: "perm-grant__wide" }, [shown]), remove]);
    item.appendChild(problemBox("form.overview.sources[" + si + "]"));
    return item;
  }
  function figureItem(figure, fi, others) {
    var mutate = function (fn, rerender) { edit(function (x) { fn(x.overview.figures[fi]); }, rerender); };
    var other = formByKey(figure.form);
    var key = input(figure.key, { "data-overview-figure-key": fi, pattern: "[a-z][a-z0-9_]*" });
    key.addEventListener("change", function () { mutate(function (g) { g.key = key.value.trim(); }); });
    var en = input((figure.label || {}).en, { "data-overview-figure-label": fi }), zh = input((figure.label || {})["zh-CN"]);
    en.addEventListener("change", function () { mutate(function (g) { setLabel(g, "label", "en", en.value); }); });
    zh.addEventListener("change", function () { mutate(function (g) { setLabel(g, "label", "zh-CN", zh.value); }); });
    var formSel = select(others.map(function (x) { return { key: x.key, label: label(x.label) || x.key }; }), figure.form, { "data-overview-figure-form": fi });
    formSel.addEventListener("change", function () {
      var next = formByKey(formSel.value);
      mutate(function (g) { g.form = formSel.value; g.via = (relationsTo(next)[0] || {}).key || ""; g.field = null; g.filter = null; g.agg = "count"; }, true);
    });
    var via = select(fieldChoices(other, function (y) { return relationsTo(other).indexOf(y) >= 0; }), figure.via, { "data-overview-figure-via": fi });
    via.addEventListener("change", function () { mutate(function (g) { g.via = via.value; }); });
    var aggs = ["count", "sum", "avg", "min", "max"].map(function (a) { return { key: a, label: T["ov_agg_" + a] }; });
    var agg = select(aggs, figure.agg || "count", { "data-overview-figure-agg": fi });
    agg.addEventListener("change", function () { mutate(function (g) { g.agg = agg.value; if (agg.value === "count") g.field = null; }, true); });
    var numeric = function (y) { return (figure.agg === "min" || figure.agg === "max") ? (NUMERIC[y.type] || y.type === "date" || y.type === "datetime") : NUMERIC[y.type]; };
    var of = select(fieldChoices(other, AGGS[figure.agg] ? numeric : SHOWN, AGGS[figure.agg] ? null : T.ov_records), figure.field || "", { "data-overview-figure-field": fi });
    of.addEventListener("change", function () { mutate(function (g) { g.field = of.value || null; }); });
    var holder = el("div", { className: "fd__rule-condition" });
    var remove = button(T.remove, { "aria-label": T.remove + ": " + (figure.key || fi) });
    remove.addEventListener("click", function () { edit(function (x) { x.overview.figures.splice(fi, 1); }, true); });
    var item = el("div", { className: "fd__rule perm-grant", "data-overview-figure": fi }, [
      field(T.ov_figure_key, key), field(T.label_en, en), field(T.label_zh, zh), field(T.ov_form, formSel), field(T.ov_via, via),
      field(T.ov_agg, agg), field(T.ov_agg_field, of),
      el("div", { className: "perm-grant__wide" }, [el("h4", { text: T.ov_filter }), holder]), remove]);
    item.appendChild(problemBox("form.overview.figures[" + fi + "]"));
    var fields = window.tangram.conditions.fieldsOf(other, "").concat([{ var: "created_at", label: T.ov_created_at, kind: "datetime" }]);
    window.tangram.conditions.mount(holder, {
      fields: fields,
      value: figure.filter === undefined ? null : figure.filter,
      onChange: function (logic) { mutate(function (g) { g.filter = logic === null || logic === undefined || (logic && logic.and && !logic.and.length) ? null : logic; }); },
    });
    return item;
  }
  function renderOverview(f) {
    var box = document.querySelector("[data-overview]");
    if (!box) return;
    box.textContent = "";
    var others = pointingForms(store.definition);
    var overview = f.overview || { sources: [], figures: [] };
    [problemBox("form.overview"), problemBox("form.overview.figures")].forEach(function (exact) {
      exact.setAttribute("data-problems-exact", "");
      box.appendChild(exact);
    });
    if (!others.length) {
      box.appendChild(el("p", { className: "muted", text: T.ov_no_forms }));
      if (!(overview.sources || []).length && !(overview.figures || []).length) return;
    }
    var ensure = function (x) { x.overview = x.overview || { sources: [], figures: [] }; x.overview.sources = x.overview.sources || []; x.overview.figures = x.overview.figures || []; };
    box.appendChild(el("h3", { text: T.ov_sources }));
    (overview.sources || []).forEach(function (source, si) { box.appendChild(sourceItem(source, si, others)); });
    var addSource = button(T.ov_add_source, { "data-overview-add-source": "" });
    addSource.addEventListener("click", function () {
      var first = others[0];
      edit(function (x) { ensure(x); x.overview.sources.push({ form: first.key, via: relationsTo(first)[0].key, fields: [], time: "created_at" }); }, true);
    });
    box.appendChild(addSource);
    box.appendChild(el("h3", { text: T.ov_figures }));
    (overview.figures || []).forEach(function (figure, fi) { box.appendChild(figureItem(figure, fi, others)); });
    var addFigure = button(T.ov_add_figure, { "data-overview-add-figure": "" });
    addFigure.addEventListener("click", function () {
      var first = others[0];
      edit(function (x) {
        ensure(x);
        var labels = {};
        labels[document.documentElement.lang === "zh-CN" ? "zh-CN" : "en"] = label(first.label) || first.key;
        x.overview.figures.push({ key: freeKey("figure_", x.overview.figures.map(function (g) { return g.key; })), label: labels, form: first.key, via: relationsTo(first)[0].key, agg: "count" });
      }, true);
    });
    box.appendChild(addFigure);
    if (!others.length) { addSource.disabled = true; addFigure.disabled = true; }
  }

  // --- preview ---------------------------------------------------------------------------------
  var previewTimer = null;
  function refreshPreviewSoon() { clearTimeout(previewTimer); previewTimer = setTimeout(refreshPreview, 400); }
  function refreshPreview() {
    clearTimeout(previewTimer);
    var box = document.querySelector("[data-preview]");
    if (!box || !CONFIG.preview_url) return;
    window.tangram.api("POST", CONFIG.preview_url, { form: form() }).then(function (answer) {
      if (!answer.ok || !answer.data || typeof answer.data.html !== "string") {
        box.textContent = "";
        box.appendChild(el("p", { className: "muted", text: T.preview_failed }));
        return;
      }
      box.innerHTML = answer.data.html;
      box.dispatchEvent(new CustomEvent("htmx:load", { bubbles: true }));
    });
  }

  function render() {
    var f = form();
    if (!f) return;
    normalise(f);
    renderFormProps(f);
    renderCanvas(f);
    renderProps(f);
    renderRules(f);
    renderOverview(f);
    var title = document.querySelector("[data-form-title]");
    if (title) title.textContent = label(f.label) || f.key;
    showProblems();
    refreshPreviewSoon();
  }

  function selectedSection() {
    var f = form();
    normalise(f);
    var si = selected ? f.sections.findIndex(function (s) { return s.fields.indexOf(selected) >= 0; }) : -1;
    return si < 0 ? f.sections.length - 1 : si;
  }

  function startDesigner() {
    T = window.tangram.readJson("designer-strings") || {};
    CONFIG = window.tangram.readJson("form-designer") || {};
    (window.tangram.readJson("field-types") || []).forEach(function (t) { TYPES[t.type] = t; });
    document.querySelectorAll("[data-palette]").forEach(function (list) {
      if (window.Sortable) window.Sortable.create(list, { group: { name: "fields", pull: "clone", put: false }, sort: false, draggable: ".fd__type" });
    });
    window.tangram.draft.open().then(function (opened) {
      store = opened;
      store.on("change", function (detail) { if (detail.source !== "edit") render(); checkSoon(); });
      store.on("problems", function (list) { problems = fromDraft(list); showProblems(); });
      render();
      check();
      document.querySelectorAll("[data-add-type]").forEach(function (add) {
        add.addEventListener("click", function () {
          var key = addField(add.getAttribute("data-add-type"), selectedSection());
          var prop = document.querySelector('[data-prop="key"]');
          if (prop && key) prop.focus();
        });
      });
      document.querySelector("[data-add-section]").addEventListener("click", function () {
        edit(function (f) {
          normalise(f);
          f.sections.push({ id: freeKey("section_", f.sections.map(function (s) { return s.id; })), title: {}, columns: 1, fields: [] });
        }, true);
      });
      document.querySelector("[data-add-rule]").addEventListener("click", function () {
        edit(function (f) {
          f.rules = f.rules || [];
          var message = {};
          message[document.documentElement.lang === "zh-CN" ? "zh-CN" : "en"] = T.rule_message;
          f.rules.push({ id: freeKey("rule_", f.rules.map(function (r) { return r.id; })), condition: true, message: message });
        }, true);
      });
      document.querySelector("[data-refresh-preview]").addEventListener("click", refreshPreview);
    });
  }

  function startFormList() {
    var add = document.querySelector("[data-add-form]");
    add.addEventListener("submit", function (event) {
      event.preventDefault();
      var config = window.tangram.readJson("builder-config");
      var error = add.querySelector("[data-add-form-error]");
      var key = add.elements.key.value.trim(), name = {};
      if (add.elements.name_en.value.trim()) name.en = add.elements.name_en.value.trim();
      if (add.elements.name_zh.value.trim()) name["zh-CN"] = add.elements.name_zh.value.trim();
      if (!Object.keys(name).length) name.en = key;
      window.tangram.api("GET", config.draft_url).then(function (draft) {
        return window.tangram.api("POST", "/api/v1/apps/" + config.app_id + "/forms", { key: key, label: name, row_version: draft.data.row_version });
      }).then(function (answer) {
        if (answer.ok) { window.location.href = "/build/apps/" + config.app_key + "/forms/" + key; return; }
        var data = answer.data || {};
        error.textContent = ((data.errors || [])[0] || {}).message || data.detail || data.title || String(answer.status);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-form-designer]")) startDesigner();
    if (document.querySelector("[data-add-form]")) startFormList();
  });
})();
