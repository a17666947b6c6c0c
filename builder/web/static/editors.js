// Small helpers the rules and SLA designers share: elements, labelled controls, JSON values,
// and showing the draft's 422 problems at the control whose `data-path` matches their path.
(function () {
  "use strict";
  var uid = 0;

  function el(tag, attrs, children) { return window.tangram.el(tag, attrs, children); }
  // A labelled control; `path` (a draft path such as definition.rules[0].form) receives problems.
  function field(label, control, path) {
    control.id = control.id || "ed-" + (++uid);
    var box = el("div", { className: "field" }, [el("label", { for: control.id, text: label }), control]);
    if (path) box.setAttribute("data-path", path);
    return box;
  }
  function input(value, attrs) { return window.tangram.input(value, attrs); }
  function checkbox(label, checked, attrs) {
    var box = el("input", Object.assign({ type: "checkbox" }, attrs || {}));
    box.checked = !!checked;
    box.id = "ed-" + (++uid);
    return { input: box, node: el("div", { className: "field field--check" }, [box, el("label", { for: box.id, text: label })]) };
  }
  function select(options, value, attrs) {
    var node = el("select", attrs || {});
    options.forEach(function (option) {
      var item = el("option", { value: option.key, text: option.label });
      if (String(option.key) === String(value)) item.selected = true;
      node.appendChild(item);
    });
    return node;
  }
  function announce(text) { var flash = document.getElementById("flash"); if (flash) flash.textContent = text; }

  // A value typed by a designer: JSON when it parses (numbers, true, {"var": …}), else text.
  function parseValue(text) {
    var trimmed = text.trim();
    if (trimmed === "") return null;
    try { return JSON.parse(trimmed); } catch (error) { return text; }
  }
  function showValue(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") {
      var parsed;
      try { parsed = JSON.parse(value); } catch (error) { return value; }
      return parsed === value ? value : JSON.stringify(value);
    }
    return JSON.stringify(value);
  }
  // JSON with sorted keys (to compare two documents).
  function stable(value) {
    if (Array.isArray(value)) return "[" + value.map(stable).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().filter(function (k) { return value[k] !== undefined; }).map(function (k) {
        return JSON.stringify(k) + ":" + stable(value[k]);
      }).join(",") + "}";
    }
    return JSON.stringify(value === undefined ? null : value);
  }

  // Put each problem beside the element with the longest `data-path` its path starts with.
  function showProblems(root, list) {
    root.querySelectorAll("[data-problem]").forEach(function (node) { node.remove(); });
    root.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    var targets = Array.prototype.slice.call(root.querySelectorAll("[data-path]"));
    (list || []).forEach(function (problem) {
      var path = problem.field || problem.path || "";
      var best = null;
      targets.forEach(function (node) {
        var own = node.getAttribute("data-path");
        var next = path.charAt(own.length);
        if (path.indexOf(own) === 0 && (next === "" || next === "." || next === "[") && (!best || own.length > best.getAttribute("data-path").length)) best = node;
      });
      if (!best) return;
      var control = best.querySelector("input, select, textarea");
      if (control) control.setAttribute("aria-invalid", "true");
      var message = el("p", { className: "field__error", role: "alert", "data-problem": path, text: problem.message });
      best.appendChild(message);
    });
  }

  window.tangram = window.tangram || {};
  window.tangram.editor = {
    el: el, field: field, input: input, checkbox: checkbox, select: select, announce: announce,
    parseValue: parseValue, showValue: showValue, stable: stable, showProblems: showProblems,
  };
})();
