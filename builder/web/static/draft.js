// The app builder's draft: every designer edits the app's draft definition through one store —
// load, change (with undo/redo), save with the row_version read (409: someone else saved; 422:
// the problems, by path). No inline scripts (CSP): pages give their settings in JSON blocks.
(function () {
  "use strict";
  var LIMIT = 100;

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  // Small DOM helpers shared by the builder's scripts (window.tangram.el, input, field, select,
  // button, label, setLabel, freeKey, announce).

  // A DOM element: `attrs` (text, className, other attributes; null/false ones are left out)
  // and children.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (value !== null && value !== undefined && value !== false) node.setAttribute(name, value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  // A text input holding `value` (empty for null), with extra attributes.
  function input(value, attrs) {
    var node = el("input", Object.assign({ type: "text" }, attrs || {}));
    node.value = value === null || value === undefined ? "" : value;
    return node;
  }

  // A labelled control: `<div class="field"><label for=…>label</label>control extra</div>`
  // (the control gets a fresh id unless it has one).
  var uid = 0;
  function field(label, control, extra) {
    if (!control.id) control.id = "tg-field-" + (++uid);
    return el("div", { className: "field" }, [el("label", { for: control.id, text: label }), control, extra || null]);
  }

  // A <select> of `options` ({key, label}), `value` chosen (null/undefined: the "" option).
  function select(options, value, attrs) {
    var node = el("select", attrs || {});
    var wanted = String(value === null || value === undefined ? "" : value);
    options.forEach(function (option) {
      var item = el("option", { value: option.key, text: option.label });
      if (String(option.key) === wanted) item.selected = true;
      node.appendChild(item);
    });
    return node;
  }

  // A small button that submits nothing.
  function button(text, attrs) {
    return el("button", Object.assign({ type: "button", className: "button button--small", text: text }, attrs || {}));
  }

  // A label in the page's language from a stored per-locale label ({en, zh-CN}).
  function label(labels) {
    if (!labels || typeof labels !== "object") return labels || "";
    var lang = document.documentElement.lang || "en";
    return labels[lang] || labels.en || labels[Object.keys(labels)[0]] || "";
  }

  // Set (trimmed) or remove one locale of the label `holder[name]`.
  function setLabel(holder, name, locale, value) {
    var labels = holder[name] = holder[name] || {};
    var text = String(value === null || value === undefined ? "" : value).trim();
    if (text) labels[locale] = text; else delete labels[locale];
  }

  // `base` + the first number that makes a key not in `taken`.
  function freeKey(base, taken) {
    var n = 1;
    while (taken.indexOf(base + n) >= 0) n += 1;
    return base + n;
  }

  // Say `text` to screen readers (the layout's live #flash region).
  function announce(text) { var flash = document.getElementById("flash"); if (flash) flash.textContent = text; }

  function clone(value) { return JSON.parse(JSON.stringify(value)); }

  function DraftStore(config, strings) {
    this.config = config;
    this.strings = strings || {};
    this.definition = null;
    this.rowVersion = config.row_version;
    this.undoStack = [];
    this.redoStack = [];
    this.saved = null;
    this.listeners = {};
    this.state = "loading";
    this.problems = [];
  }

  DraftStore.prototype.on = function (name, callback) {
    (this.listeners[name] = this.listeners[name] || []).push(callback);
    return this;
  };
  DraftStore.prototype.emit = function (name, detail) {
    (this.listeners[name] || []).forEach(function (callback) { callback(detail); });
  };

  DraftStore.prototype.load = function () {
    var store = this;
    return window.tangram.api("GET", store.config.draft_url).then(function (answer) {
      if (!answer.ok) { store.setState("error", problemText(answer, store.strings)); throw answer; }
      store.definition = answer.data.definition;
      store.rowVersion = answer.data.row_version;
      store.saved = JSON.stringify(store.definition);
      store.undoStack = [];
      store.redoStack = [];
      store.setState("saved");
      store.emit("change", { definition: store.definition, source: "load" });
      return store;
    });
  };

  Object.defineProperty(DraftStore.prototype, "dirty", {
    get: function () { return this.definition !== null && JSON.stringify(this.definition) !== this.saved; },
  });

  // Change the definition: `mutate(copy)` edits a copy in place (or returns a new one); the
  // previous state goes on the undo stack. `label` names the change for screen readers.
  DraftStore.prototype.change = function (mutate, label) {
    var before = clone(this.definition);
    var copy = clone(this.definition);
    var result = mutate(copy);
    var next = result === undefined ? copy : result;
    if (JSON.stringify(next) === JSON.stringify(this.definition)) return;
    this.undoStack.push(before);
    if (this.undoStack.length > LIMIT) this.undoStack.shift();
    this.redoStack = [];
    this.definition = next;
    this.afterChange("edit", label);
  };

  DraftStore.prototype.undo = function () {
    if (!this.undoStack.length) return;
    this.redoStack.push(this.definition);
    this.definition = this.undoStack.pop();
    this.afterChange("undo", this.strings.undone);
  };

  DraftStore.prototype.redo = function () {
    if (!this.redoStack.length) return;
    this.undoStack.push(this.definition);
    this.definition = this.redoStack.pop();
    this.afterChange("redo", this.strings.redone);
  };

  DraftStore.prototype.afterChange = function (source, label) {
    this.setState(this.dirty ? "dirty" : "saved", label);
    this.emit("change", { definition: this.definition, source: source });
  };

  DraftStore.prototype.save = function () {
    var store = this;
    if (!store.dirty && store.state !== "error") return Promise.resolve(store);
    store.setState("saving");
    var body = { row_version: store.rowVersion, definition: store.definition };
    return window.tangram.api("PUT", store.config.draft_url, body).then(function (answer) {
      if (answer.ok) {
        store.rowVersion = answer.data.row_version;
        store.definition = answer.data.definition;
        store.saved = JSON.stringify(store.definition);
        store.problems = [];
        store.setState("saved");
        store.emit("saved", store.definition);
        store.emit("problems", []);
        return store;
      }
      if (answer.status === 409) {
        store.setState("conflict", store.strings.conflict);
      } else {
        store.problems = (answer.data && answer.data.errors) || [];
        store.setState("error", problemText(answer, store.strings));
        store.emit("problems", store.problems);
      }
      return store;
    });
  };

  DraftStore.prototype.setState = function (state, message) {
    this.state = state;
    this.emit("state", { state: state, message: message || "" });
  };

  function problemText(answer, strings) {
    return (answer.data && (answer.data.detail || answer.data.title)) || strings.failed || String(answer.status);
  }

  // The draft bar (templates/builder/macros.html draft_bar): status, undo, redo, save.
  function bindBar(store, bar) {
    var status = bar.querySelector("[data-draft-status]");
    var problems = document.querySelector("[data-draft-problems]");
    var buttons = {
      undo: bar.querySelector("[data-draft-undo]"),
      redo: bar.querySelector("[data-draft-redo]"),
      save: bar.querySelector("[data-draft-save]"),
      reload: bar.querySelector("[data-draft-reload]"),
    };
    var texts = {
      loading: store.strings.loading, saved: store.strings.saved, dirty: store.strings.dirty,
      saving: store.strings.saving, error: store.strings.failed, conflict: store.strings.conflict,
    };
    function refresh() {
      if (buttons.undo) buttons.undo.disabled = !store.undoStack.length;
      if (buttons.redo) buttons.redo.disabled = !store.redoStack.length;
      if (buttons.save) buttons.save.disabled = !(store.dirty || store.state === "error") || store.state === "saving";
      if (buttons.reload) buttons.reload.hidden = store.state !== "conflict";
    }
    store.on("state", function (detail) {
      status.dataset.state = detail.state;
      status.textContent = detail.state === "error" || detail.state === "conflict"
        ? detail.message || texts[detail.state] : texts[detail.state] || "";
      if (detail.message && detail.state !== "error" && detail.state !== "conflict") {
        status.textContent = texts[detail.state] + " — " + detail.message;
      }
      refresh();
    });
    store.on("change", refresh);
    store.on("problems", function (list) {
      if (!problems) return;
      problems.textContent = "";
      problems.hidden = !list.length;
      if (!list.length) return;
      var box = document.createElement("div");
      box.className = "alert alert--error";
      box.setAttribute("role", "alert");
      var items = document.createElement("ul");
      list.forEach(function (problem) {
        var item = document.createElement("li");
        var where = document.createElement("code");
        where.textContent = problem.field || problem.path || "";
        item.appendChild(where);
        item.appendChild(document.createTextNode(" " + problem.message));
        items.appendChild(item);
      });
      box.appendChild(items);
      problems.appendChild(box);
    });
    if (buttons.undo) buttons.undo.addEventListener("click", function () { store.undo(); });
    if (buttons.redo) buttons.redo.addEventListener("click", function () { store.redo(); });
    if (buttons.save) buttons.save.addEventListener("click", function () { store.save(); });
    if (buttons.reload) buttons.reload.addEventListener("click", function () { store.load(); });
    document.addEventListener("keydown", function (event) {
      if (!(event.ctrlKey || event.metaKey)) return;
      var key = event.key.toLowerCase();
      var typing = event.target.closest && event.target.closest("input, textarea, [contenteditable]");
      if (key === "s") { event.preventDefault(); store.save(); }
      else if (key === "z" && !typing) { event.preventDefault(); if (event.shiftKey) store.redo(); else store.undo(); }
      else if (key === "y" && !typing) { event.preventDefault(); store.redo(); }
    });
    window.addEventListener("beforeunload", function (event) {
      if (store.dirty) { event.preventDefault(); event.returnValue = ""; }
    });
    refresh();
  }

  // The page's store: `window.tangram.draft.open()` once per page, designers share it.
  var opened = null;
  function open() {
    if (opened) return opened;
    var config = readJson("builder-config");
    var strings = readJson("draft-strings") || {};
    var store = new DraftStore(config, strings);
    var bar = document.querySelector("[data-draft-bar]");
    if (bar) bindBar(store, bar);
    opened = store.load().then(function () { return store; });
    return opened;
  }

  window.tangram = window.tangram || {};
  window.tangram.readJson = readJson;
  window.tangram.el = el;
  window.tangram.input = input;
  window.tangram.field = field;
  window.tangram.select = select;
  window.tangram.button = button;
  window.tangram.label = label;
  window.tangram.setLabel = setLabel;
  window.tangram.freeKey = freeKey;
  window.tangram.announce = announce;
  window.tangram.draft = { open: open, DraftStore: DraftStore, clone: clone };
})();
