// Flow designer: the bpmn-js Modeler limited to the elements the engine runs, and our own
// properties panel for the tangram: attributes of the selected element. Every panel edit is a
// bpmn-js command (modeling.updateModdleProperties), so Ctrl+Z and the undo button undo it like
// a diagram edit. The BPMN XML is the source: each change is checked by the draft's flow check
// endpoint (problems listed and marked on the diagram as you edit), and saving POSTs it to the
// import endpoint, which checks it again and stores it in the draft.
(function () {
  "use strict";
  var JSONLOGIC = "https://jsonlogic.com";
  var T = {}, ORG = {}, DATA = {}, CONFIG = {}, modeler = null, dirty = false, problemMarks = [];
  var rowVersion = null, saves = 0, checks = 0, checkTimer = null, checkSeq = 0;
  var CHECK_DELAY = 600;

  function el(tag, attrs, children) { return window.tangram.el(tag, attrs, children); }
  var uid = 0;
  function field(label, control, name) {
    var id = "flow-prop-" + (++uid);
    control.id = id;
    if (name) control.setAttribute("data-prop", name);
    return el("div", { className: "field" }, [el("label", { for: id, text: label }), control]);
  }
  function input(value, attrs) { return window.tangram.input(value, attrs); }
  function select(options, value) {
    var node = el("select");
    options.forEach(function (option) {
      var item = el("option", { value: option.key, text: option.label });
      if (String(option.key) === String(value === undefined || value === null ? "" : value)) item.selected = true;
      node.appendChild(item);
    });
    return node;
  }
  function label(labels) { return window.tangram.conditions.pickLabel(labels); }
  function status(text) { var node = document.querySelector("[data-flow-status]"); if (node) node.textContent = text; }
  function markDirty() { dirty = true; status(T.dirty); }

  // --- the tangram:properties extension (a JSON object) ---------------------------------------
  function extension(bo) {
    if (!bo) return {};
    var values = (bo.extensionElements && bo.extensionElements.values) || [];
    var found = values.filter(function (v) { return v.$type === "tangram:properties"; })[0];
    if (!found || !found.body) return {};
    try { return JSON.parse(found.body); } catch (e) { return {}; }
  }
  // A new bpmn:ExtensionElements holding ``props`` (the old one is left as it was, for undo).
  function extensionWith(bo, props) {
    var moddle = modeler.get("moddle");
    var values = ((bo.extensionElements && bo.extensionElements.values) || []).filter(function (v) {
      return v.$type !== "tangram:properties";
    });
    if (Object.keys(props).length) values.push(moddle.create("tangram:properties", { body: JSON.stringify(props) }));
    return values.length ? moddle.create("bpmn:ExtensionElements", { values: values }) : undefined;
  }
  function shapeOf(bo) {
    return modeler.get("elementRegistry").get(bo.id) || modeler.get("canvas").getRootElement();
  }
  // Change the extension (and ``more`` properties of ``bo``) in one undoable command.
  function editExtension(bo, mutate, more) {
    var props = extension(bo);
    mutate(props);
    var changes = { extensionElements: extensionWith(bo, props) };
    Object.keys(more || {}).forEach(function (key) { changes[key] = more[key]; });
    modeler.get("modeling").updateModdleProperties(shapeOf(bo), bo, changes);
  }

  // --- palette and context pad: only what the engine runs -------------------------------------
  var KEEP_PALETTE = ["hand-tool", "lasso-tool", "space-tool", "global-connect-tool", "tool-separator",
    "create.start-event", "create.end-event", "create.exclusive-gateway"];
  var EXTRA_PALETTE = [
    ["create.terminate-end-event", "bpmn:EndEvent", "bpmn:TerminateEventDefinition", "bpmn-icon-end-event-terminate", "kind_terminate"],
    ["create.user-task", "bpmn:UserTask", null, "bpmn-icon-user-task", "pal_user_task"],
    ["create.service-task", "bpmn:ServiceTask", null, "bpmn-icon-service-task", "pal_service_task"],
    ["create.call-activity", "bpmn:CallActivity", null, "bpmn-icon-call-activity", "pal_call_activity"],
    ["create.parallel-gateway", "bpmn:ParallelGateway", null, "bpmn-icon-gateway-parallel", "pal_parallel_gateway"],
    ["create.inclusive-gateway", "bpmn:InclusiveGateway", null, "bpmn-icon-gateway-or", "pal_inclusive_gateway"],
    ["create.timer-event", "bpmn:IntermediateCatchEvent", "bpmn:TimerEventDefinition", "bpmn-icon-intermediate-event-catch-timer", "pal_timer"]
  ];
  var KEEP_PAD = ["delete", "connect", "append.end-event", "append.gateway"];

  function TangramPalette(palette, create, elementFactory) {
    this._create = create;
    this._factory = elementFactory;
    palette.registerProvider(500, this);
  }
  TangramPalette.$inject = ["palette", "create", "elementFactory"];
  TangramPalette.prototype.getPaletteEntries = function () {
    var create = this._create, factory = this._factory;
    return function (entries) {
      Object.keys(entries).forEach(function (key) { if (KEEP_PALETTE.indexOf(key) < 0) delete entries[key]; });
      EXTRA_PALETTE.forEach(function (spec) {
        function start(event) {
          var attrs = { type: spec[1] };
          if (spec[2]) attrs.eventDefinitionType = spec[2];
          create.start(event, factory.createShape(attrs));
        }
        entries[spec[0]] = { group: spec[1].indexOf("Gateway") > 0 ? "gateway" : spec[1].indexOf("Task") > 0 || spec[1] === "bpmn:CallActivity" ? "activity" : "event",
          className: spec[3], title: T[spec[4]] || spec[4], action: { dragstart: start, click: start } };
      });
      return entries;
    };
  };
  function TangramPad(contextPad, autoPlace, elementFactory) {
    this._autoPlace = autoPlace;
    this._factory = elementFactory;
    contextPad.registerProvider(500, this);
  }
  TangramPad.$inject = ["contextPad", "autoPlace", "elementFactory"];
  TangramPad.prototype.getContextPadEntries = function (element) {
    var autoPlace = this._autoPlace, factory = this._factory;
    return function (entries) {
      Object.keys(entries).forEach(function (key) { if (KEEP_PAD.indexOf(key) < 0) delete entries[key]; });
      if (entries["append.end-event"]) {
        entries["append.user-task"] = { group: "model", className: "bpmn-icon-user-task", title: T.pal_user_task,
          action: { click: function () { autoPlace.append(element, factory.createShape({ type: "bpmn:UserTask" })); } } };
      }
      return entries;
    };
  };
  var LIMITS = { __init__: ["tangramPalette", "tangramPad"], tangramPalette: ["type", TangramPalette], tangramPad: ["type", TangramPad] };

  // --- the properties panel -----------------------------------------------------------------
  function form() {
    var key = extension(rootProcess()).form || DATA.form;
    return (DATA.forms || []).filter(function (f) { return f.key === key; })[0] || null;
  }
  function rootProcess() { var root = modeler.get("canvas").getRootElement(); return root && root.businessObject; }
  function is(bo, type) { return bo.$instanceOf(type); }
  function timerDefinition(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0];
  }

  function nameField(element) {
    var bo = element.businessObject;
    var name = input(bo.name);
    name.addEventListener("change", function () {
      modeler.get("modeling").updateProperties(element, { name: name.value.trim() || undefined });
    });
    return field(T.name, name, "name");
  }

  function whoOptions(kind) {
    var empty = [{ key: "", label: "—" }];
    if (kind === "user") return empty.concat((ORG.users || []).map(function (u) { return { key: u.key, label: u.label + " (" + u.key + ")" }; }));
    if (kind === "role") return empty.concat((DATA.roles || []).map(function (r) { return { key: r.key, label: label(r.name) || r.key }; }));
    if (kind === "group") return empty.concat(ORG.groups || []);
    if (kind === "department") return empty.concat(ORG.departments || []);
    if (kind === "field" || kind === "department_head") {
      var f = form();
      return empty.concat(((f && f.fields) || []).map(function (x) { return { key: x.key, label: label(x.label) || x.key }; }));
    }
    return null;
  }

  function assigneePanel(bo) {
    var props = extension(bo);
    var assignee = props.assignee || { kind: "user" };
    var box = el("fieldset", { className: "flow-props__group", "data-assignee": "" }, [el("legend", { text: T.assignee })]);
    var kinds = ["user", "role", "group", "department", "department_head", "field", "rule", "starter"];
    var kind = select(kinds.map(function (k) { return { key: k, label: T["kind_" + k] }; }), assignee.kind);
    box.appendChild(field(T.kind, kind, "assignee-kind"));
    var whoBox = el("div");
    box.appendChild(whoBox);
    function save(next) { editExtension(bo, function (p) { p.assignee = next; }); }
    function renderWho() {
      whoBox.textContent = "";
      var current = extension(bo).assignee || { kind: kind.value };
      var options = whoOptions(kind.value);
      if (kind.value === "rule") {
        var rule = el("textarea", { rows: "3" });
        rule.value = current.rule ? JSON.stringify(current.rule) : "";
        rule.addEventListener("change", function () {
          try { save({ kind: "rule", rule: JSON.parse(rule.value) }); } catch (e) { status(T.invalid_json); }
        });
        whoBox.appendChild(field(T.who, rule, "assignee-rule"));
      } else if (options) {
        var who = select(options, current.key);
        who.addEventListener("change", function () {
          var next = { kind: kind.value };
          if (who.value) next.key = who.value;
          save(next);
        });
        whoBox.appendChild(field(T.who, who, "assignee-key"));
      }
    }
    kind.addEventListener("change", function () {
      save(kind.value === "starter" || kind.value === "department_head" ? { kind: kind.value } : { kind: kind.value, key: undefined });
      renderWho();
    });
    renderWho();
    return box;
  }

  function countersignPanel(element) {
    var bo = element.businessObject;
    var cs = extension(bo).countersign || null;
    var box = el("fieldset", { className: "flow-props__group", "data-countersign": "" }, [el("legend", { text: T.countersign })]);
    var mode = select([{ key: "", label: T.cs_none }, { key: "all", label: T.cs_all }, { key: "any", label: T.cs_any }, { key: "n_of_m", label: T.cs_n_of_m }], cs ? cs.mode || "all" : "");
    var n = input(cs && cs.n, { type: "number", min: "1" });
    var sequential = el("input", { type: "checkbox" });
    sequential.checked = !!(cs && cs.sequential);
    var nField = field(T.cs_n, n, "countersign-n");
    var seqField = el("div", { className: "field field--check" }, [sequential, el("label", { for: "flow-seq-" + (++uid), text: T.sequential })]);
    sequential.id = "flow-seq-" + uid;
    sequential.setAttribute("data-prop", "countersign-sequential");
    function sync() {
      nField.hidden = mode.value !== "n_of_m";
      seqField.hidden = !mode.value;
    }
    function save() {
      var next = null;
      if (mode.value) {
        next = { mode: mode.value, sequential: sequential.checked };
        if (mode.value === "n_of_m") next.n = parseInt(n.value, 10) || 1;
      }
      var moddle = modeler.get("moddle");
      editExtension(bo, function (p) { if (next) p.countersign = next; else delete p.countersign; }, {
        loopCharacteristics: next ? moddle.create("bpmn:MultiInstanceLoopCharacteristics", { isSequential: next.sequential }) : undefined
      });
      sync();
    }
    [mode, n, sequential].forEach(function (c) { c.addEventListener("change", save); });
    box.appendChild(field(T.countersign, mode, "countersign-mode"));
    box.appendChild(nField);
    box.appendChild(seqField);
    sync();
    return box;
  }

  function fieldRightsPanel(bo) {
    var f = form();
    var box = el("fieldset", { className: "flow-props__group", "data-field-rights": "" }, [el("legend", { text: T.field_rights })]);
    var rights = extension(bo).fields || {};
    var options = ["", "editable", "required", "readonly", "hidden"].map(function (k) { return { key: k, label: T["right_" + (k || "default")] }; });
    ((f && f.fields) || []).forEach(function (x) {
      var choice = select(options, rights[x.key] || "");
      choice.setAttribute("data-field", x.key);
      choice.addEventListener("change", function () {
        editExtension(bo, function (p) {
          p.fields = p.fields || {};
          if (choice.value) p.fields[x.key] = choice.value; else delete p.fields[x.key];
          if (!Object.keys(p.fields).length) delete p.fields;
        });
      });
      box.appendChild(field(label(x.label) || x.key, choice, "right-" + x.key));
    });
    return box;
  }

  function conditionPanel(element) {
    var bo = element.businessObject;
    var box = el("fieldset", { className: "flow-props__group", "data-condition": "" }, [el("legend", { text: T.condition })]);
    var value = null;
    if (bo.conditionExpression && bo.conditionExpression.body) {
      try { value = JSON.parse(bo.conditionExpression.body); } catch (e) { value = null; }
    }
    var mount = el("div");
    box.appendChild(mount);
    var f = form();
    window.tangram.conditions.mount(mount, {
      fields: f ? window.tangram.conditions.fieldsOf(f, "record.") : [],
      value: value,
      onChange: function (logic) {
        var moddle = modeler.get("moddle");
        var empty = logic === null || logic === undefined || logic === true;
        modeler.get("modeling").updateProperties(element, {
          conditionExpression: empty ? undefined : moddle.create("bpmn:FormalExpression", { language: JSONLOGIC, body: JSON.stringify(logic) })
        });
      }
    });
    var source = bo.sourceRef;
    if (source && (is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway"))) {
      var isDefault = el("input", { type: "checkbox", id: "flow-default-" + (++uid), "data-prop": "default" });
      isDefault.checked = source.default === bo;
      isDefault.addEventListener("change", function () {
        var gateway = modeler.get("elementRegistry").get(source.id);
        modeler.get("modeling").updateProperties(gateway, { default: isDefault.checked ? bo : undefined });
      });
      box.appendChild(el("div", { className: "field field--check" }, [isDefault, el("label", { for: isDefault.id, text: T.default_flow })]));
    }
    return box;
  }

  function timerPanel(element) {
    var bo = element.businessObject;
    var definition = timerDefinition(bo);
    var props = extension(bo);
    var box = el("fieldset", { className: "flow-props__group", "data-timer": "" }, [el("legend", { text: T.timer })]);
    var duration = input(definition.timeDuration && definition.timeDuration.body, { placeholder: "PT24H" });
    duration.addEventListener("change", function () {
      var moddle = modeler.get("moddle");
      var text = duration.value.trim();
      modeler.get("modeling").updateModdleProperties(element, definition, {
        timeDuration: text ? moddle.create("bpmn:FormalExpression", { body: text }) : undefined
      });
    });
    box.appendChild(field(T.duration, duration, "timer-duration"));
    // Business hours: the duration counts working time on a calendar of the draft.
    var business = el("input", { type: "checkbox", id: "flow-business-" + (++uid), "data-prop": "timer-business-hours" });
    business.checked = !!props.business_hours;
    box.appendChild(el("div", { className: "field field--check" }, [business, el("label", { for: business.id, text: T.business_hours })]));
    var options = [{ key: "", label: T.calendar_default }].concat((DATA.calendars || []).map(function (c) {
      return { key: c.key, label: (label(c.name) || c.key) + " (" + c.key + ")" };
    }));
    var calendar = select(options, props.calendar || "");
    var calendarField = field(T.calendar, calendar, "timer-calendar");
    calendarField.hidden = !business.checked;
    box.appendChild(calendarField);
    function save() {
      editExtension(bo, function (p) {
        delete p.business_hours;
        delete p.calendar;
        if (business.checked) {
          p.business_hours = true;
          if (calendar.value) p.calendar = calendar.value;
        }
      });
      calendarField.hidden = !business.checked;
    }
    business.addEventListener("change", save);
    calendar.addEventListener("change", save);
    return box;
  }

  function jsonField(labelText, value, onValue, name) {
    var area = el("textarea", { rows: "3" });
    area.value = value === undefined || value === null ? "" : JSON.stringify(value);
    area.addEventListener("change", function () {
      if (!area.value.trim()) { onValue(undefined); return; }
      try { onValue(JSON.parse(area.value)); } catch (e) { status(T.invalid_json); }
    });
    return field(labelText, area, name);
  }

  function servicePanel(bo) {
    var action = extension(bo).action || { kind: "set_fields", values: {} };
    var box = el("fieldset", { className: "flow-props__group", "data-service": "" }, [el("legend", { text: T.action })]);
    var kinds = ["set_fields", "create_record", "send_mail", "webhook"];
    var kind = select(kinds.map(function (k) { return { key: k, label: T["act_" + k] }; }), action.kind);
    box.appendChild(field(T.action, kind, "action-kind"));
    var detail = el("div");
    box.appendChild(detail);
    function set(name, value) {
      editExtension(bo, function (p) {
        p.action = p.action && p.action.kind === kind.value ? p.action : { kind: kind.value };
        if (value === undefined || value === "") delete p.action[name]; else p.action[name] = value;
      });
    }
    function text(name, labelText, value) {
      var node = input(value);
      node.addEventListener("change", function () { set(name, node.value.trim()); });
      return field(labelText, node, "action-" + name);
    }
    function render() {
      detail.textContent = "";
      var current = extension(bo).action || {};
      if (current.kind !== kind.value) current = { kind: kind.value };
      if (kind.value === "set_fields" || kind.value === "create_record") {
        if (kind.value === "create_record") {
          var target = select([{ key: "", label: "—" }].concat((DATA.forms || []).map(function (f) { return { key: f.key, label: label(f.label) || f.key }; })), current.form);
          target.addEventListener("change", function () { set("form", target.value); });
          detail.appendChild(field(T.target_form, target, "action-form"));
        }
        detail.appendChild(jsonField(T.values, current.values, function (v) { set("values", v); }, "action-values"));
      } else if (kind.value === "send_mail") {
        detail.appendChild(jsonField(T.mail_to, current.to, function (v) { set("to", v); }, "action-to"));
        detail.appendChild(text("subject", T.subject, current.subject));
        detail.appendChild(text("body", T.body, current.body));
      } else {
        detail.appendChild(text("url", T.url, current.url));
        var method = select(["POST", "PUT", "PATCH", "GET", "DELETE"].map(function (m) { return { key: m, label: m }; }), current.method || "POST");
        method.addEventListener("change", function () { set("method", method.value); });
        detail.appendChild(field(T.method, method, "action-method"));
        detail.appendChild(jsonField(T.body, current.body, function (v) { set("body", v); }, "action-body"));
      }
    }
    kind.addEventListener("change", function () { editExtension(bo, function (p) { p.action = { kind: kind.value }; }); render(); });
    render();
    return box;
  }

  function callPanel(element) {
    var bo = element.businessObject;
    var options = [{ key: "", label: "—" }].concat((DATA.flows || []).filter(function (k) { return k !== DATA.key; }).map(function (k) { return { key: k, label: k }; }));
    var flow = select(options, bo.calledElement);
    flow.addEventListener("change", function () {
      modeler.get("modeling").updateProperties(element, { calledElement: flow.value || undefined });
    });
    return field(T.called_flow, flow, "called-flow");
  }

  function processPanel(bo) {
    var options = (DATA.forms || []).map(function (f) { return { key: f.key, label: label(f.label) || f.key }; });
    var choice = select([{ key: "", label: "—" }].concat(options), extension(bo).form || "");
    choice.addEventListener("change", function () {
      editExtension(bo, function (p) { if (choice.value) p.form = choice.value; else delete p.form; });
    });
    return field(T.flow_form, choice, "flow-form");
  }

  function renderProps(element) {
    var panel = document.querySelector("[data-flow-props]");
    panel.textContent = "";
    panel.removeAttribute("data-element");
    if (!element || element.type === "label") element = null;
    var root = modeler.get("canvas").getRootElement();
    if (!root || !root.businessObject) return;
    if (!element || element === root) {
      panel.appendChild(el("h2", { text: DATA.key }));
      panel.appendChild(processPanel(root.businessObject));
      panel.appendChild(el("p", { className: "muted", text: T.select }));
      return;
    }
    var bo = element.businessObject;
    panel.setAttribute("data-element", bo.id);
    panel.appendChild(el("h2", { text: bo.id }));
    panel.appendChild(nameField(element));
    if (is(bo, "bpmn:UserTask")) {
      panel.appendChild(assigneePanel(bo));
      panel.appendChild(countersignPanel(element));
      panel.appendChild(fieldRightsPanel(bo));
    } else if (is(bo, "bpmn:SequenceFlow")) {
      panel.appendChild(conditionPanel(element));
    } else if (is(bo, "bpmn:ServiceTask")) {
      panel.appendChild(servicePanel(bo));
    } else if (is(bo, "bpmn:CallActivity")) {
      panel.appendChild(callPanel(element));
    } else if ((is(bo, "bpmn:IntermediateCatchEvent") || is(bo, "bpmn:BoundaryEvent")) && timerDefinition(bo)) {
      panel.appendChild(timerPanel(element));
    }
  }

  // --- problems: a list and markers on the diagram --------------------------------------------
  function clearProblems() {
    var canvas = modeler.get("canvas");
    problemMarks.forEach(function (id) { canvas.removeMarker(id, "flow-problem"); });
    problemMarks = [];
    modeler.get("overlays").remove({ type: "flow-problem" });
    var box = document.querySelector("[data-flow-problems]");
    box.hidden = true;
    box.querySelector("[data-flow-problem-list]").textContent = "";
  }
  function elementOf(path) {
    // "nodes[2].assignee" / "edges[0]" name a node or edge by index in the flow JSON; ids too.
    var registry = modeler.get("elementRegistry");
    if (!path) return null;
    if (registry.get(path)) return path;
    var head = String(path).split(/[.\[]/)[0];
    if (registry.get(head)) return head;
    var match = /^(nodes|edges)\[(\d+)\]/.exec(String(path).replace(/^flow\./, ""));
    if (match && lastFlow) {
      var item = (lastFlow[match[1]] || [])[parseInt(match[2], 10)];
      if (item && registry.get(item.id)) return item.id;
    }
    return null;
  }
  var lastFlow = null;
  function showProblems(list) {
    clearProblems();
    if (!list.length) return;
    var box = document.querySelector("[data-flow-problems]");
    var ul = box.querySelector("[data-flow-problem-list]");
    var canvas = modeler.get("canvas"), overlays = modeler.get("overlays");
    list.forEach(function (problem) {
      var id = elementOf(problem.element_id || problem.field || problem.path);
      var item = el("li", { "data-problem-element": id || "" }, [el("span", { text: problem.message || problem.code })]);
      if (id) {
        var show = el("button", { type: "button", className: "button button--small", text: T.problem_at + " " + id });
        show.addEventListener("click", function () { modeler.get("selection").select(modeler.get("elementRegistry").get(id)); });
        item.appendChild(document.createTextNode(" "));
        item.appendChild(show);
        if (problemMarks.indexOf(id) < 0) {
          problemMarks.push(id);
          canvas.addMarker(id, "flow-problem");
          overlays.add(id, "flow-problem", { position: { top: -12, right: 12 }, html: el("span", { className: "flow-problem-badge", title: problem.message, text: "!" }) });
        }
      }
      ul.appendChild(item);
    });
    box.hidden = false;
  }

  // --- load, save, download, upload -----------------------------------------------------------
  function emptyXml() {
    var props = DATA.form ? '<bpmn:extensionElements><tangram:properties>' + JSON.stringify({ form: DATA.form }) + '</tangram:properties></bpmn:extensionElements>' : "";
    return '<?xml version="1.0" encoding="UTF-8"?>' +
      '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:tangram="https://tangram.dev/schema/bpmn/1" id="definitions" targetNamespace="https://tangram.dev/schema/bpmn/1">' +
      '<bpmn:process id="' + DATA.key + '" isExecutable="true">' + props + '<bpmn:startEvent id="start"/></bpmn:process>' +
      '<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="' + DATA.key + '">' +
      '<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="160" y="160" width="36" height="36"/></bpmndi:BPMNShape>' +
      '</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></bpmn:definitions>';
  }
  function open(xml) {
    return modeler.importXML(xml).then(function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      renderProps(null);
    });
  }
  function currentXml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }

  function post(xml, save) {
    var url = DATA.import_url + (save ? "?row_version=" + rowVersion : "");
    return fetch(url, { method: "POST", credentials: "same-origin", body: xml,
      headers: { "Content-Type": "application/xml", "X-CSRF-Token": window.tangram.csrfToken() } })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
      });
  }
  // The draft's flow check: the engine's problems, in the user's language, listed and marked.
  function check() {
    clearTimeout(checkTimer);
    var seq = ++checkSeq;
    return currentXml().then(function (xml) {
      return fetch(DATA.check_url, { method: "POST", credentials: "same-origin", body: xml,
        headers: { "Content-Type": "application/xml", "X-CSRF-Token": window.tangram.csrfToken() } });
    }).then(function (response) { return response.ok ? response.json() : null; }).then(function (data) {
      if (!data || seq !== checkSeq) return data;  // a later check is on its way
      lastFlow = data.flow || lastFlow;
      showProblems(data.problems || []);
      checks += 1;
      document.body.setAttribute("data-flow-checked", String(checks));
      return data;
    }).catch(function () { return null; });
  }
  function checkSoon() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, CHECK_DELAY);
  }
  function save() {
    status(T.checking);
    return check().then(function (checked) {
      if (checked && checked.problems && checked.problems.length) {
        status(T.fix_first);
        return null;
      }
      status(T.saving);
      return send();
    });
  }
  function send() {
    return currentXml().then(function (xml) { return post(xml, true); }).then(function (answer) {
      var data = answer.data || {};
      if (answer.ok) {
        rowVersion = data.draft_row_version;
        lastFlow = data.flow;
        dirty = false;
        showProblems([]);
        status(T.saved);
        saves += 1;
        document.body.setAttribute("data-flow-saved", String(saves));
        return;
      }
      if (answer.status === 409) { status(T.conflict); return; }
      var report = data["import"] || {};
      lastFlow = report.flow || null;
      var list = (report.problems || []).concat(report.check_problems || []);
      if (!list.length) list = (data.errors || []).map(function (e) { return { field: e.field, code: e.code, message: e.message }; });
      if (!list.length) list = [{ message: data.detail || T.failed }];
      showProblems(list);
      status(T.failed);
    });
  }
  function download() {
    currentXml().then(function (xml) {
      var link = el("a", { href: URL.createObjectURL(new Blob([xml], { type: "application/xml" })), download: DATA.key + ".bpmn" });
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }
  // Ctrl+Z / Ctrl+Shift+Z (Ctrl+Y) outside the canvas (which has its own keyboard binding) and
  // outside text fields (which undo their own typing): undo or redo the last edit.
  function historyKey(event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    var key = event.key.toLowerCase();
    if (key !== "z" && key !== "y") return;
    var target = event.target;
    if (target.closest && target.closest("[data-flow-canvas]")) return;
    var typing = target.tagName === "TEXTAREA" || target.isContentEditable ||
      (target.tagName === "INPUT" && !/^(checkbox|radio|button|submit|file)$/.test(target.type));
    if (typing) return;
    event.preventDefault();
    var stack = modeler.get("commandStack");
    if (key === "y" || event.shiftKey) stack.redo(); else stack.undo();
  }
  function syncHistory() {
    var stack = modeler.get("commandStack");
    document.querySelector("[data-flow-undo]").disabled = !stack.canUndo();
    document.querySelector("[data-flow-redo]").disabled = !stack.canRedo();
  }
  function upload(file) {
    file.text().then(function (xml) {
      return open(xml).then(function () { markDirty(); status(T.uploaded); });
    }).catch(function () { status(T.bad_file); });
  }

  function start() {
    T = window.tangram.readJson("flow-strings") || {};
    ORG = window.tangram.readJson("org-choices") || {};
    DATA = window.tangram.readJson("flow-data") || {};
    CONFIG = window.tangram.readJson("builder-config") || {};
    rowVersion = CONFIG.row_version;
    T.kind_terminate = T.terminate;
    modeler = new window.BpmnJS({
      container: document.querySelector("[data-flow-canvas]"),
      moddleExtensions: { tangram: window.tangram.readJson("flow-moddle") },
      additionalModules: [LIMITS]
    });
    window.tangram.flowModeler = modeler;
    modeler.on("selection.changed", function (event) { renderProps(event.newSelection.length === 1 ? event.newSelection[0] : null); });
    modeler.on("commandStack.changed", function (event) {
      markDirty();
      checkSoon();
      if (event.trigger === "undo" || event.trigger === "redo") {
        // Show what the undone (or redone) edit left, in the panel too.
        var selected = modeler.get("selection").get();
        renderProps(selected.length === 1 ? selected[0] : null);
      }
      syncHistory();
    });
    var loading = DATA.exists
      ? fetch(DATA.bpmn_url, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      : Promise.resolve(emptyXml());
    loading.then(open).then(function () {
      dirty = !DATA.exists;
      status(DATA.exists ? T.loaded : T.dirty);
      document.body.setAttribute("data-flow-ready", "true");
      syncHistory();
      return check();
    });
    document.querySelector("[data-flow-undo]").addEventListener("click", function () { modeler.get("commandStack").undo(); });
    document.querySelector("[data-flow-redo]").addEventListener("click", function () { modeler.get("commandStack").redo(); });
    document.querySelector("[data-flow-save]").addEventListener("click", save);
    document.querySelector("[data-flow-download]").addEventListener("click", download);
    document.querySelector("[data-flow-upload]").addEventListener("change", function (event) {
      if (event.target.files[0]) upload(event.target.files[0]);
      event.target.value = "";
    });
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "s") { event.preventDefault(); save(); }
      historyKey(event);
    });
    window.addEventListener("beforeunload", function (event) { if (dirty) { event.preventDefault(); event.returnValue = ""; } });
  }

  window.tangram = window.tangram || {};
  window.tangram.flowDesigner = { save: save, check: check, xml: currentXml };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
