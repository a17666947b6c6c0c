// SLA page: the draft's SLA policies (form, calendar, targets per priority in business time,
// when the clock stops or pauses, warnings and escalations) and its business calendars
// (working hours per weekday, holidays and make-up workdays, time zone).
(function () {
  "use strict";
  var E, T = {}, CHOICES = {}, store = null, page = null;

  function label(labels) { return window.tangram.conditions.pickLabel(labels); }
  function forms() { return store.definition.forms || []; }
  function formOf(key) { return forms().find(function (f) { return f.key === key; }) || null; }
  function freeKey(prefix, taken) { var n = 1; while (taken.indexOf(prefix + n) >= 0) n += 1; return prefix + n; }
  function part(name, index, mutate) {
    store.change(function (d) { mutate(d[name][index], d); });
  }
  function names(target, zh, en) {
    target.name = target.name || {};
    [["zh-CN", zh], ["en", en]].forEach(function (pair) {
      if (pair[1].value.trim()) target.name[pair[0]] = pair[1].value.trim(); else delete target.name[pair[0]];
    });
  }
  function nameFields(item, path, onChange) {
    var zh = E.input((item.name || {})["zh-CN"]), en = E.input((item.name || {}).en);
    [zh, en].forEach(function (node) { node.addEventListener("change", function () { onChange(zh, en); }); });
    return [E.field(T.name_zh, zh, path + ".name"), E.field(T.name_en, en)];
  }
  function calendarKeys() {
    return (store.definition.calendars || []).map(function (c) { return c.key; }).concat(CHOICES.calendars || []);
  }
  function span(value, onChange, labelText, path) {
    var hours = E.input((value || {}).hours || "", { type: "number", min: "0", "aria-label": labelText + " · " + T.hours });
    var minutes = E.input((value || {}).minutes || "", { type: "number", min: "0", max: "59", "aria-label": labelText + " · " + T.minutes });
    function changed() {
      var h = parseInt(hours.value, 10) || 0, m = parseInt(minutes.value, 10) || 0, out = {};
      if (h) out.hours = h;
      if (m) out.minutes = m;
      onChange(h || m ? out : null);
    }
    hours.addEventListener("change", changed);
    minutes.addEventListener("change", changed);
    return E.el("span", { className: "sla-span", "data-path": path }, [hours, E.el("span", { text: " " + T.hours + " " }), minutes, E.el("span", { text: " " + T.minutes })]);
  }
  function jsonArea(value, labelText, path, onChange) {
    var area = E.el("textarea", { rows: "3", spellcheck: "false" });
    area.value = value && value.length ? JSON.stringify(value, null, 2) : "";
    var error = E.el("p", { className: "field__error", role: "alert" });
    area.addEventListener("change", function () {
      var parsed = [];
      if (area.value.trim()) { try { parsed = JSON.parse(area.value); } catch (e) { error.textContent = T.invalid_json; return; } }
      error.textContent = "";
      onChange(parsed);
    });
    var box = E.field(labelText, area, path);
    box.appendChild(error);
    return box;
  }

  // --- policies ------------------------------------------------------------------------------
  function renderPolicies() {
    var list = page.querySelector("[data-policies-list]");
    list.textContent = "";
    var policies = store.definition.sla || [];
    if (!policies.length) list.appendChild(E.el("p", { className: "muted", text: T.no_policies }));
    policies.forEach(function (policy, index) { list.appendChild(renderPolicy(policy, index)); });
  }

  function renderPolicy(policy, index) {
    var path = "definition.sla[" + index + "]";
    function set(name, value) { part("sla", index, function (p) { if (value === null || value === undefined || value === "") delete p[name]; else p[name] = value; }); }
    var key = E.input(policy.key, { pattern: "[a-z][a-z0-9_]*", "data-policy-key": "" });
    key.addEventListener("change", function () { set("key", key.value.trim()); });
    var formSelect = E.select(forms().map(function (f) { return { key: f.key, label: label(f.label) || f.key }; }), policy.form);
    formSelect.addEventListener("change", function () { set("form", formSelect.value); renderPolicies(); });
    var calendar = E.select(calendarKeys().map(function (c) { return { key: c, label: c }; }), policy.calendar || "standard_weekdays", { "data-policy-calendar": "" });
    calendar.addEventListener("change", function () { set("calendar", calendar.value); });
    var form = formOf(policy.form);
    var fields = ((form && form.fields) || []).filter(function (f) { return f.type !== "subtable"; });
    var priority = E.select([{ key: "", label: T.no_priority }].concat(fields.map(function (f) { return { key: f.key, label: label(f.label) || f.key }; })), policy.priority_field || "", { "data-policy-priority": "" });
    priority.addEventListener("change", function () { set("priority_field", priority.value || null); renderPolicies(); });
    var remove = E.el("button", { type: "button", className: "button button--small", text: T.remove });
    remove.addEventListener("click", function () { store.change(function (d) { d.sla.splice(index, 1); }); renderPolicies(); E.announce(T.removed); });

    var box = E.el("fieldset", { className: "sla-policy", "data-path": path }, [
      E.el("legend", { text: T.policy + " " + (label(policy.name) || policy.key) }),
      E.el("div", { className: "rule-head" }, [E.field(T.key, key, path + ".key")].concat(nameFields(policy, path, function (zh, en) {
        part("sla", index, function (p) { names(p, zh, en); });
      })).concat([E.field(T.form, formSelect, path + ".form"), E.field(T.calendar, calendar, path + ".calendar"), E.field(T.priority_field, priority, path + ".priority_field")])),
      renderTargets(policy, index, fields, path + ".targets"),
    ]);
    var condFields = window.tangram.conditions.fieldsOf(form, "record.");
    [["condition", T.condition], ["responded_when", T.responded_when], ["resolved_when", T.resolved_when], ["paused_when", T.paused_when]].forEach(function (pair) {
      var holder = E.el("div", { "data-policy-logic": pair[0] });
      box.appendChild(E.el("fieldset", { className: "rule-part", "data-path": path + "." + pair[0] }, [E.el("legend", { text: pair[1] }), holder]));
      window.tangram.conditions.mount(holder, {
        fields: condFields,
        value: policy[pair[0]] === undefined ? null : policy[pair[0]],
        onChange: function (logic) { part("sla", index, function (p) { if (logic === null && pair[0] !== "resolved_when") delete p[pair[0]]; else p[pair[0]] = logic; }); },
      });
    });
    box.appendChild(E.el("fieldset", { className: "rule-part", "data-path": path + ".warn_before" }, [
      E.el("legend", { text: T.warn_before }),
      span(policy.warn_before, function (value) { set("warn_before", value); }, T.warn_before, path + ".warn_before"),
    ]));
    box.appendChild(jsonArea(policy.on_warning, T.on_warning, path + ".on_warning", function (value) { set("on_warning", value); }));
    box.appendChild(jsonArea(policy.on_breach, T.on_breach, path + ".on_breach", function (value) { set("on_breach", value); }));
    box.appendChild(remove);
    return box;
  }

  function renderTargets(policy, index, fields, path) {
    var targets = policy.targets || {};
    var field = fields.find(function (f) { return f.key === policy.priority_field; });
    var known = (((field || {}).options || {}).options || []).map(function (o) { return { key: String(o.value), label: label(o.label) || String(o.value) }; });
    var rows = Object.keys(targets);
    known.forEach(function (o) { if (rows.indexOf(o.key) < 0) rows.push(o.key); });
    if (rows.indexOf("*") < 0) rows.push("*");
    var body = E.el("tbody");
    rows.forEach(function (value) {
      var shown = value === "*" ? T.any_other : (known.find(function (o) { return o.key === value; }) || { label: value }).label;
      var cells = [E.el("th", { scope: "row", text: shown })];
      ["first_response", "resolution"].forEach(function (kind) {
        cells.push(E.el("td", {}, [span((targets[value] || {})[kind], function (spanValue) {
          part("sla", index, function (p) {
            p.targets = p.targets || {};
            var target = p.targets[value] = p.targets[value] || {};
            if (spanValue) target[kind] = spanValue; else delete target[kind];
            if (!Object.keys(target).length) delete p.targets[value];
          });
        }, shown + " · " + T[kind], path + "." + value + "." + kind)]));
      });
      body.appendChild(E.el("tr", { "data-target": value, "data-path": path + "." + value }, cells));
    });
    var head = E.el("tr", {}, [T.priority, T.first_response, T.resolution].map(function (text) { return E.el("th", { scope: "col", text: text }); }));
    return E.el("fieldset", { className: "rule-part", "data-path": path }, [E.el("legend", { text: T.targets }), E.el("table", { className: "table" }, [E.el("thead", {}, [head]), body])]);
  }

  // --- calendars -----------------------------------------------------------------------------
  function rangesText(ranges) { return (ranges || []).map(function (r) { return r[0] + "-" + r[1]; }).join(", "); }
  function parseRanges(text) {
    return text.split(",").map(function (s) { return s.trim(); }).filter(Boolean).map(function (s) {
      var bits = s.split("-"); return [(bits[0] || "").trim(), (bits[1] || "").trim()];
    });
  }
  function holidayOf(item) {
    if (typeof item === "string") return { start: item };
    if (item && item.date && !item.start) { var copy = Object.assign({}, item); copy.start = copy.date; delete copy.date; return copy; }
    return item || {};
  }

  function renderCalendars() {
    var list = page.querySelector("[data-calendars-list]");
    list.textContent = "";
    var calendars = store.definition.calendars || [];
    if (!calendars.length) list.appendChild(E.el("p", { className: "muted", text: T.no_calendars }));
    calendars.forEach(function (calendar, index) { list.appendChild(renderCalendar(calendar, index)); });
  }

  function renderCalendar(calendar, index) {
    var path = "definition.calendars[" + index + "]";
    function set(name, value) { part("calendars", index, function (c) { c[name] = value; }); }
    var key = E.input(calendar.key, { pattern: "[a-z][a-z0-9_]*", "data-calendar-key": "" });
    key.addEventListener("change", function () { set("key", key.value.trim()); render(); });
    var zone = E.input(calendar.timezone, { placeholder: "Asia/Shanghai", "data-calendar-timezone": "" });
    zone.addEventListener("change", function () { set("timezone", zone.value.trim()); });
    var weekly = E.el("div", { className: "sla-weekly", "data-path": path + ".weekly" });
    (CHOICES.weekdays || []).forEach(function (dayName, day) {
      var hours = E.input(rangesText((calendar.weekly || {})[day] || (calendar.weekly || {})[String(day)]), { "data-weekday": day, placeholder: "09:00-18:00" });
      hours.addEventListener("change", function () {
        part("calendars", index, function (c) {
          c.weekly = c.weekly || {};
          delete c.weekly[day];
          var ranges = parseRanges(hours.value);
          if (ranges.length) c.weekly[String(day)] = ranges; else delete c.weekly[String(day)];
        });
      });
      weekly.appendChild(E.field(dayName, hours, path + ".weekly." + day));
    });
    var remove = E.el("button", { type: "button", className: "button button--small", text: T.remove });
    remove.addEventListener("click", function () { store.change(function (d) { d.calendars.splice(index, 1); }); render(); E.announce(T.removed); });
    return E.el("fieldset", { className: "sla-calendar", "data-path": path, "data-calendar": calendar.key }, [
      E.el("legend", { text: T.calendar + " " + (label(calendar.name) || calendar.key) }),
      E.el("div", { className: "rule-head" }, [E.field(T.key, key, path + ".key")].concat(nameFields(calendar, path, function (zh, en) {
        part("calendars", index, function (c) { names(c, zh, en); });
      })).concat([E.field(T.timezone, zone, path + ".timezone")])),
      E.el("fieldset", { className: "rule-part" }, [E.el("legend", { text: T.weekly }), E.el("p", { className: "muted", text: T.hours_hint }), weekly]),
      renderHolidays(calendar, index, path + ".holidays"),
      renderWorkdays(calendar, index, path + ".workdays"),
      remove,
    ]);
  }

  function renderHolidays(calendar, index, path) {
    var box = E.el("fieldset", { className: "rule-part", "data-path": path, "data-holidays": "" }, [E.el("legend", { text: T.holidays })]);
    var items = (calendar.holidays || []).map(holidayOf);
    if (!items.length) box.appendChild(E.el("p", { className: "muted", text: T.no_holidays }));
    items.forEach(function (holiday, at) {
      function edit(mutate) {
        part("calendars", index, function (c) { c.holidays = c.holidays.map(holidayOf); mutate(c.holidays[at]); });
      }
      var start = E.input(holiday.start, { type: "date", "data-holiday-start": at });
      var end = E.input(holiday.end, { type: "date", "data-holiday-end": at });
      var name = E.input(label(holiday.name), { "data-holiday-name": at });
      start.addEventListener("change", function () { edit(function (h) { h.start = start.value; }); });
      end.addEventListener("change", function () { edit(function (h) { if (end.value) h.end = end.value; else delete h.end; }); });
      name.addEventListener("change", function () {
        edit(function (h) { var lang = document.documentElement.lang || "en"; h.name = h.name || {}; if (name.value.trim()) h.name[lang] = name.value.trim(); else delete h.name[lang]; });
      });
      var remove = E.el("button", { type: "button", className: "button button--small", text: T.remove, "data-holiday-remove": at });
      remove.addEventListener("click", function () { part("calendars", index, function (c) { c.holidays.splice(at, 1); }); renderCalendars(); E.announce(T.removed); });
      box.appendChild(E.el("div", { className: "sla-date", role: "group", "data-path": path + "[" + at + "]" }, [
        E.field(T.start, start), E.field(T.end, end), E.field(T.holiday_name, name), remove,
      ]));
    });
    var add = E.el("button", { type: "button", className: "button button--small", text: T.add_holiday, "data-add-holiday": "" });
    add.addEventListener("click", function () {
      part("calendars", index, function (c) { c.holidays = (c.holidays || []).map(holidayOf); c.holidays.push({ start: new Date().toISOString().slice(0, 10) }); });
      renderCalendars(); E.announce(T.added);
      var starts = page.querySelectorAll("[data-calendar='" + calendar.key + "'] [data-holiday-start]");
      if (starts.length) starts[starts.length - 1].focus();
    });
    box.appendChild(add);
    return box;
  }

  function renderWorkdays(calendar, index, path) {
    var box = E.el("fieldset", { className: "rule-part", "data-path": path, "data-workdays": "" }, [E.el("legend", { text: T.workdays })]);
    var items = calendar.workdays || [];
    if (!items.length) box.appendChild(E.el("p", { className: "muted", text: T.no_workdays }));
    var days = (CHOICES.weekdays || []).map(function (d, i) { return { key: String(i), label: d }; });
    items.forEach(function (workday, at) {
      var when = E.input(workday.date, { type: "date", "data-workday-date": at });
      var like = E.select(days, workday.like || 0);
      when.addEventListener("change", function () { part("calendars", index, function (c) { c.workdays[at].date = when.value; }); });
      like.addEventListener("change", function () { part("calendars", index, function (c) { c.workdays[at].like = parseInt(like.value, 10); }); });
      var remove = E.el("button", { type: "button", className: "button button--small", text: T.remove });
      remove.addEventListener("click", function () { part("calendars", index, function (c) { c.workdays.splice(at, 1); }); renderCalendars(); E.announce(T.removed); });
      box.appendChild(E.el("div", { className: "sla-date", role: "group", "data-path": path + "[" + at + "]" }, [E.field(T.date, when), E.field(T.like, like), remove]));
    });
    var add = E.el("button", { type: "button", className: "button button--small", text: T.add_workday, "data-add-workday": "" });
    add.addEventListener("click", function () {
      part("calendars", index, function (c) { c.workdays = c.workdays || []; c.workdays.push({ date: new Date().toISOString().slice(0, 10), like: 0 }); });
      renderCalendars(); E.announce(T.added);
    });
    box.appendChild(add);
    return box;
  }

  function render() { renderPolicies(); renderCalendars(); E.showProblems(page, store.problems); }

  document.addEventListener("DOMContentLoaded", function () {
    E = window.tangram.editor;
    page = document.querySelector("[data-sla-page]");
    if (!page) return;
    T = window.tangram.readJson("sla-strings") || {};
    CHOICES = window.tangram.readJson("sla-choices") || {};
    window.tangram.draft.open().then(function (opened) {
      store = opened;
      store.on("change", function (detail) { if (detail.source !== "edit") render(); });
      store.on("problems", function (list) { E.showProblems(page, list); });
      render();
      page.querySelector("[data-add-policy]").addEventListener("click", function () {
        var form = forms()[0];
        if (!form) { E.announce(T.no_forms); return; }
        store.change(function (d) {
          d.sla = d.sla || [];
          d.sla.push({ key: freeKey("sla_", d.sla.map(function (p) { return p.key; })), name: {}, form: form.key, calendar: "standard_weekdays", targets: { "*": { resolution: { hours: 8 } } }, resolved_when: null });
        });
        renderPolicies(); E.announce(T.added);
      });
      page.querySelector("[data-add-calendar]").addEventListener("click", function () {
        store.change(function (d) {
          d.calendars = d.calendars || [];
          var weekly = {};
          [0, 1, 2, 3, 4].forEach(function (day) { weekly[String(day)] = [["09:00", "18:00"]]; });
          d.calendars.push({ key: freeKey("calendar_", d.calendars.map(function (c) { return c.key; })), name: {}, timezone: "Asia/Shanghai", weekly: weekly, holidays: [], workdays: [] });
        });
        render(); E.announce(T.added);
      });
    });
  });
})();
