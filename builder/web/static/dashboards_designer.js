// Dashboard designer: the draft's dashboards (list, add, remove) and one dashboard's widgets —
// source form, measures, groupings, filter, chart, size — with a live ECharts preview (the
// widget preview API over the published tables), drag or button reordering, a grid of the
// widgets at their sizes (drag a widget's corner handle, or use the width and height
// controls), the viewer's runtime filters and who may see the dashboard; edited through the
// shared draft store (undo, redo, save).
(function () {
  "use strict";
  var T = {}, CHOICES = {}, CONFIG = {}, ORG = {}, store = null, root = null, boardKey = "";
  var GRID = { columns: 12, rows: 12, height: 4 };
  var previews = {}; // JSON of a widget -> the preview answer
  var problems = [];

  function el(tag, attrs, children) { return window.tangram.el(tag, attrs, children); }
  var uid = 0;
  function field(label, control) {
    var id = "dash-" + (++uid);
    control.id = id;
    return el("div", { className: "field" }, [el("label", { for: id, text: label }), control]);
  }
  function input(value, attrs) { return window.tangram.input(value, attrs); }
  function select(options, value, attrs) {
    var node = el("select", attrs);
    options.forEach(function (option) {
      var item = el("option", { value: option.key, text: option.label });
      if (String(option.key) === String(value === null || value === undefined ? "" : value)) item.selected = true;
      node.appendChild(item);
    });
    return node;
  }
  function button(text, attrs) {
    return el("button", Object.assign({ type: "button", className: "button button--small", text: text }, attrs || {}));
  }
  function label(labels) { return window.tangram.conditions.pickLabel(labels); }
  function announce(text) { var flash = document.getElementById("flash"); if (flash) flash.textContent = text; }
  function freeKey(prefix, taken) {
    var n = 1;
    while (taken.indexOf(prefix + n) >= 0) n += 1;
    return prefix + n;
  }
  function titled(labels, onChange) {
    var zh = input((labels || {})["zh-CN"]);
    var en = input((labels || {}).en);
    [[zh, "zh-CN"], [en, "en"]].forEach(function (pair) {
      pair[0].addEventListener("change", function () { onChange(pair[1], pair[0].value.trim()); });
    });
    return [field(T.title_zh, zh), field(T.title_en, en)];
  }
  function setLabel(labels, lang, value) {
    if (value) labels[lang] = value; else delete labels[lang];
  }

  // --- the draft's forms and fields ---------------------------------------------------------
  var KINDS = {};
  function forms() { return store.definition.forms || []; }
  function formOf(key) { return forms().filter(function (f) { return f.key === key; })[0] || null; }
  function fieldsOf(formKey) {
    var form = formOf(formKey);
    return (form && form.fields ? form.fields : []).filter(function (f) { return f.type !== "subtable"; });
  }
  function fieldChoices(formKey, test) {
    return fieldsOf(formKey).filter(test || function () { return true; }).map(function (f) {
      return { key: f.key, label: label(f.label) || f.key };
    });
  }
  function isNumber(f) { return KINDS[f.type] === "number"; }
  function isDate(f) { return f.type === "date" || f.type === "datetime"; }

  // --- the list of dashboards ---------------------------------------------------------------
  function renderList() {
    root.textContent = "";
    var boards = store.definition.dashboards || [];
    if (!boards.length) root.appendChild(el("p", { className: "muted", text: T.no_dashboards }));
    var list = el("ul", { className: "dash-list" });
    boards.forEach(function (board, index) {
      var remove = button(T.remove, { "data-remove-dashboard": board.key });
      remove.addEventListener("click", function () {
        store.change(function (d) { d.dashboards.splice(index, 1); });
        renderList(); announce(T.removed);
      });
      list.appendChild(el("li", { className: "dash-list__item" }, [
        el("a", { href: "/build/apps/" + CONFIG.app_key + "/dashboards/" + board.key, text: (label(board.title) || board.key) + " (" + board.key + ")" }),
        document.createTextNode(" "),
        remove,
      ]));
    });
    root.appendChild(list);
    var key = input("", { pattern: "[a-z][a-z0-9_]*", "data-new-dashboard-key": "" });
    key.value = freeKey("dashboard_", boards.map(function (b) { return b.key; }));
    var title = input("", { "data-new-dashboard-title": "" });
    var add = button(T.add_dashboard, { className: "button button--small button--primary", "data-add-dashboard": "" });
    add.addEventListener("click", function () {
      var chosen = key.value.trim();
      if (!chosen) return;
      store.change(function (d) {
        d.dashboards = d.dashboards || [];
        var labels = {};
        if (title.value.trim()) { labels.en = title.value.trim(); labels["zh-CN"] = title.value.trim(); }
        d.dashboards.push({ key: chosen, title: labels, widgets: [], filters: [] });
      }, T.add_dashboard);
      store.save().then(function () {
        if (!store.dirty) window.location.assign("/build/apps/" + CONFIG.app_key + "/dashboards/" + chosen);
      });
    });
    root.appendChild(el("div", { className: "dash-new" }, [field(T.dashboard_key, key), field(T.title_en, title), add]));
  }

  // --- one dashboard ------------------------------------------------------------------------
  function boardIndex(definition) {
    var boards = (definition || store.definition).dashboards || [];
    for (var i = 0; i < boards.length; i++) if (boards[i].key === boardKey) return i;
    return -1;
  }
  function board() { return store.definition.dashboards[boardIndex()]; }
  function edit(mutate, labelText) {
    store.change(function (d) { mutate(d.dashboards[boardIndex(d)]); }, labelText);
  }

  function renderBoard() {
    root.textContent = "";
    if (boardIndex() < 0) { root.appendChild(el("p", { className: "muted", text: T.not_found })); return; }
    var current = board();
    var head = el("div", { className: "dash-head" }, titled(current.title, function (lang, value) {
      edit(function (b) { b.title = b.title || {}; setLabel(b.title, lang, value); });
    }));
    root.appendChild(head);
    root.appendChild(el("p", {}, [el("a", { href: "/apps/" + CONFIG.app_key + "/dashboards/" + boardKey, text: T.open_dashboard })]));

    root.appendChild(el("h2", { text: T.widgets }));
    var grid = el("div", { className: "dash-grid", "data-widget-grid": "" });
    if (!current.widgets.length) grid.appendChild(el("p", { className: "muted", text: T.no_widgets }));
    current.widgets.forEach(function (widget, index) { grid.appendChild(widgetCard(widget, index)); });
    root.appendChild(grid);
    if (window.Sortable && current.widgets.length > 1) {
      window.Sortable.create(grid, {
        handle: "[data-drag]",
        animation: 150,
        onEnd: function (event) {
          if (event.oldIndex === event.newIndex) return;
          edit(function (b) { b.widgets.splice(event.newIndex, 0, b.widgets.splice(event.oldIndex, 1)[0]); });
          renderBoard();
        },
      });
    }
    var add = button(T.add_widget, { className: "button button--small button--primary", "data-add-widget": "" });
    if (!forms().length) { add.disabled = true; root.appendChild(el("p", { className: "muted", text: T.no_forms })); }
    add.addEventListener("click", function () {
      edit(function (b) {
        var key = freeKey("widget_", b.widgets.map(function (w) { return w.key; }));
        b.widgets.push({ key: key, title: {}, chart: "bar", form: forms()[0].key, measures: [{ key: "count", agg: "count" }], dimensions: firstDimension(forms()[0].key) });
      }, T.add_widget);
      renderBoard(); announce(T.added_widget);
      var cards = root.querySelectorAll("[data-widget]");
      if (cards.length) cards[cards.length - 1].querySelector("select, input").focus();
    });
    root.appendChild(add);
    if (current.widgets.length) root.appendChild(layoutSection(current));
    root.appendChild(filtersSection(current));
    root.appendChild(viewersSection(current));
  }

  // A new widget groups by the form's first choice field (or its first field): a bar chart
  // needs a grouping to draw.
  function firstDimension(formKey) {
    var pool = fieldsOf(formKey);
    var chosen = pool.filter(function (f) { return f.type === "select"; })[0] || pool[0];
    return chosen ? [{ key: chosen.key, field: chosen.key }] : [];
  }

  function widgetCard(widget, index) {
    var card = el("article", { className: "dash-widget", "data-widget": widget.key });
    var change = function (mutate) {
      edit(function (b) { mutate(b.widgets[index]); });
      var fresh = widgetCard(board().widgets[index], index);
      card.replaceWith(fresh);
      refreshTile(widget.key, index);
    };
    var count = board().widgets.length;
    var up = button("↑", { "aria-label": T.move_up, title: T.move_up, "data-move-up": "" });
    var down = button("↓", { "aria-label": T.move_down, title: T.move_down, "data-move-down": "" });
    up.disabled = index === 0; down.disabled = index === count - 1;
    [[up, -1], [down, 1]].forEach(function (pair) {
      pair[0].addEventListener("click", function () {
        edit(function (b) { b.widgets.splice(index + pair[1], 0, b.widgets.splice(index, 1)[0]); });
        renderBoard();
      });
    });
    var remove = button(T.remove, { "data-remove-widget": "" });
    remove.addEventListener("click", function () {
      edit(function (b) { b.widgets.splice(index, 1); });
      renderBoard(); announce(T.removed);
    });
    card.appendChild(el("div", { className: "dash-widget__bar" }, [
      el("span", { className: "dash-widget__drag", "data-drag": "", title: T.drag, "aria-hidden": "true", text: "⠿" }),
      el("strong", { text: label(widget.title) || widget.key }), up, down, remove,
    ]));

    var editor = el("div", { className: "dash-widget__editor" });
    var key = input(widget.key, { pattern: "[a-z][a-z0-9_]*", "data-widget-key": "" });
    key.addEventListener("change", function () { change(function (w) { w.key = key.value.trim(); }); });
    editor.appendChild(field(T.widget_key, key));
    titled(widget.title, function (lang, value) {
      change(function (w) { w.title = w.title || {}; setLabel(w.title, lang, value); });
    }).forEach(function (node) { editor.appendChild(node); });
    var form = select(forms().map(function (f) { return { key: f.key, label: label(f.label) || f.key }; }), widget.form, { "data-widget-form": "" });
    form.addEventListener("change", function () {
      change(function (w) {
        w.form = form.value;
        w.measures = [{ key: "count", agg: "count" }];
        w.dimensions = firstDimension(w.form);
        delete w.filter;
      });
    });
    editor.appendChild(field(T.form, form));
    var chart = select(CHOICES.charts, widget.chart, { "data-widget-chart": "" });
    chart.addEventListener("change", function () { change(function (w) { w.chart = chart.value; }); });
    editor.appendChild(field(T.chart, chart));
    editor.appendChild(measuresBlock(widget, change));
    editor.appendChild(dimensionsBlock(widget, change));
    var filterBox = el("div", { className: "dash-widget__filter" });
    editor.appendChild(el("fieldset", {}, [el("legend", { text: T.filter }), filterBox]));
    window.tangram.conditions.mount(filterBox, {
      fields: window.tangram.conditions.fieldsOf(formOf(widget.form)),
      value: widget.filter || null,
      onChange: function (logic) {
        edit(function (b) {
          if (logic) b.widgets[index].filter = logic; else delete b.widgets[index].filter;
        });
        preview(card, board().widgets[index]);
        refreshTile(widget.key, index);
      },
    });
    var limit = input(widget.limit, { type: "number", min: "1", "data-widget-limit": "" });
    limit.addEventListener("change", function () {
      change(function (w) { if (limit.value) w.limit = parseInt(limit.value, 10); else delete w.limit; });
    });
    editor.appendChild(field(T.limit, limit));
    editor.appendChild(sizeControls(widget, index));
    card.appendChild(editor);

    var own = problems.filter(function (p) { return atWidget(p.field, index, widget.key); });
    if (own.length) {
      card.appendChild(el("ul", { className: "dash-widget__problems error", role: "alert", "data-widget-problems": "" },
        own.map(function (p) { return el("li", { text: p.message }); })));
    }
    var view = el("div", { className: "dash-widget__preview", "data-preview": "", "aria-live": "polite" });
    card.appendChild(el("section", { "aria-label": T.preview }, [el("h3", { text: T.preview }), view]));
    preview(card, widget);
    return card;
  }

  // A problem path names the dashboard and widget by index or key:
  // "definition.dashboards[0].widgets[2].measures[0].field" or "dashboards[ops].widgets[total]…".
  function atWidget(path, index, key) {
    var found = /^(?:definition\.)?dashboards\[([^\]]+)\]\.widgets\[([^\]]+)\]/.exec(path || "");
    if (!found) return false;
    var board = found[1] === String(boardIndex()) || found[1] === boardKey;
    return board && (found[2] === String(index) || found[2] === key);
  }

  function measuresBlock(widget, change) {
    var box = el("fieldset", { "data-measures": "" }, [el("legend", { text: T.measures })]);
    var numbers = fieldChoices(widget.form, isNumber);
    var all = fieldChoices(widget.form);
    (widget.measures || []).forEach(function (measure, m) {
      var aggs = CHOICES.aggs.filter(function (a) { return a.key === "count" || a.key === "count_distinct" || numbers.length; });
      var agg = select(aggs, measure.agg, { "data-measure-agg": m });
      var pool = measure.agg === "count_distinct" ? all : numbers;
      var which = select([{ key: "", label: "—" }].concat(pool), measure.field, { "data-measure-field": m });
      which.hidden = measure.agg === "count";
      var sync = function (w) {
        var item = w.measures[m];
        item.agg = agg.value;
        if (item.agg === "count") delete item.field;
        else {
          var choices = item.agg === "count_distinct" ? all : numbers;
          item.field = which.value || (choices[0] || {}).key;
        }
        item.key = item.field ? item.agg + "_" + item.field : "count";
        while (w.measures.some(function (other, o) { return o !== m && other.key === item.key; })) item.key += "_" + (m + 1);
      };
      agg.addEventListener("change", function () { change(sync); });
      which.addEventListener("change", function () { change(sync); });
      var remove = button(T.remove);
      remove.disabled = widget.measures.length === 1;
      remove.addEventListener("click", function () { change(function (w) { w.measures.splice(m, 1); }); });
      box.appendChild(el("div", { className: "dash-row" }, [field(T.agg, agg), which.hidden ? null : field(T.field, which), remove]));
      box.appendChild(formatRow(measure, m, change));
    });
    var add = button(T.add_measure, { "data-add-measure": "" });
    add.addEventListener("click", function () {
      change(function (w) {
        w.measures = w.measures || [];
        var keys = w.measures.map(function (x) { return x.key; });
        var first = numbers[0];
        w.measures.push(first ? { key: freeKey("sum_" + first.key + "_", keys), agg: "sum", field: first.key } : { key: freeKey("count_", keys), agg: "count" });
      });
    });
    box.appendChild(add);
    return box;
  }

  function dimensionsBlock(widget, change) {
    var box = el("fieldset", { "data-dimensions": "" }, [el("legend", { text: T.dimensions })]);
    var all = fieldChoices(widget.form);
    var dated = {};
    fieldsOf(widget.form).forEach(function (f) { if (isDate(f)) dated[f.key] = true; });
    (widget.dimensions || []).forEach(function (dimension, n) {
      var which = select(all, dimension.field, { "data-dimension-field": n });
      var bucket = select([{ key: "", label: T.no_bucket }].concat(CHOICES.buckets), dimension.bucket, { "data-dimension-bucket": n });
      var sync = function (w) {
        var item = w.dimensions[n];
        item.field = which.value;
        if (dated[item.field] && bucket.value) item.bucket = bucket.value; else delete item.bucket;
        item.key = item.field + (item.bucket ? "_" + item.bucket : "");
      };
      which.addEventListener("change", function () { change(sync); });
      bucket.addEventListener("change", function () { change(sync); });
      var remove = button(T.remove);
      remove.addEventListener("click", function () { change(function (w) { w.dimensions.splice(n, 1); }); });
      box.appendChild(el("div", { className: "dash-row" }, [
        field(T.field, which), dated[dimension.field] ? field(T.bucket, bucket) : null, remove,
      ]));
    });
    var add = button(T.add_dimension, { "data-add-dimension": "" });
    add.disabled = !all.length || (widget.dimensions || []).length >= 2;
    add.addEventListener("click", function () {
      change(function (w) {
        w.dimensions = w.dimensions || [];
        var used = w.dimensions.map(function (d) { return d.field; });
        var next = all.filter(function (f) { return used.indexOf(f.key) < 0; })[0] || all[0];
        var item = { key: next.key, field: next.key };
        if (dated[next.key]) { item.bucket = "month"; item.key = next.key + "_month"; }
        w.dimensions.push(item);
      });
    });
    box.appendChild(add);
    return box;
  }

  // --- the live preview ---------------------------------------------------------------------
  function optionLabels(formKey) {
    var out = {};
    fieldsOf(formKey).forEach(function (f) {
      var labels = {};
      ((f.options || {}).options || []).forEach(function (o) { labels[String(o.value)] = label(o.label) || o.value; });
      out[f.key] = labels;
    });
    return out;
  }

  // A measure's display format ({style, decimals, unit, show_as}; none: the aggregation's
  // default — a ratio as a percent, an average with one decimal at most).
  function formatRow(measure, m, change) {
    var current = measure.format || {};
    var style = select(CHOICES.format_styles, current.style || "", { "data-measure-format": m });
    var decimals = select(CHOICES.decimals, current.decimals === undefined || current.decimals === null ? "" : current.decimals, { "data-measure-decimals": m });
    decimals.disabled = !current.style;
    var unit = select(CHOICES.units, current.unit || "minutes", { "data-measure-unit": m });
    var shown = select(CHOICES.units, current.show_as || current.unit || "minutes", { "data-measure-show-as": m });
    var sync = function (w) {
      var item = w.measures[m];
      if (!style.value) { delete item.format; return; }
      var format = { style: style.value };
      if (decimals.value !== "") format.decimals = Number(decimals.value);
      if (style.value === "duration") {
        format.unit = unit.value;
        if (shown.value !== unit.value) format.show_as = shown.value;
      }
      item.format = format;
    };
    [style, decimals, unit, shown].forEach(function (control) {
      control.addEventListener("change", function () { change(sync); });
    });
    var duration = current.style === "duration";
    return el("div", { className: "dash-row", "data-measure-format-row": m }, [
      field(T.format, style), field(T.decimals, decimals),
      duration ? field(T.unit, unit) : null, duration ? field(T.show_as, shown) : null
    ]);
  }

  // A result column's label: the spec's labels by language, else its key.
  function columnLabel(column) {
    var named = column.label && typeof column.label === "object" ? label(column.label) : column.label;
    return named || column.key;
  }

  // The page's format of a measure (as runtime/web/dashboards/values.py number_format).
  var SECONDS = { seconds: 1, minutes: 60, hours: 3600, days: 86400 };
  function previewFormat(measure) {
    var f = (measure && measure.format) || null;
    var agg = measure ? measure.agg : "";
    if (!f) {
      if (agg === "ratio") return { scale: 100, min: 1, max: 1, suffix: " %" };
      return { scale: 1, min: 0, max: ["avg", "median", "percentile"].indexOf(agg) >= 0 ? 1 : 2, suffix: "" };
    }
    var fixed = f.decimals !== undefined && f.decimals !== null;
    var most = fixed ? f.decimals : (f.style === "number" ? 2 : 1);
    var out = { scale: 1, min: fixed ? f.decimals : 0, max: most, suffix: "" };
    if (f.style === "percent") { out.scale = 100; out.suffix = " %"; }
    if (f.style === "duration") {
      var unit = f.unit || "minutes", shown = f.show_as || unit;
      out.scale = SECONDS[unit] / SECONDS[shown];
      out.suffix = " " + ((T.unit_signs || {})[shown] || shown);
    }
    return out;
  }

  function chartData(widget, result) {
    var columns = result.columns || [];
    var dims = columns.filter(function (c) { return c.role === "dimension"; });
    var measures = columns.filter(function (c) { return c.role === "measure"; });
    var options = optionLabels(widget.form);
    var byKey = {};
    (widget.dimensions || []).forEach(function (d) { byKey[d.key] = d.field; });
    return {
      chart: widget.chart,
      dimensions: dims.map(function (c) { return { key: c.key, label: columnLabel(c) }; }),
      measures: measures.map(function (c) {
        var spec = (widget.measures || []).filter(function (m) { return m.key === c.key; })[0];
        return { key: c.key, label: columnLabel(c), format: previewFormat(spec) };
      }),
      previous_label: "",
      rows: (result.rows || []).map(function (row) {
        var values = {};
        measures.forEach(function (m) { values[m.key] = row[m.key]; });
        return {
          labels: dims.map(function (d) {
            var raw = row[d.key];
            var named = (options[byKey[d.key]] || {})[String(raw)] || ((result.labels || {})[d.key] || {})[String(raw)];
            return raw === null || raw === undefined ? "–" : String(named || raw);
          }),
          values: values, previous: {}, drill: {}, drill_previous: {},
        };
      }),
    };
  }

  function drawPreview(view, widget, answer, compact) {
    var old = window.echarts && view.querySelector("[data-preview-chart]");
    if (old && window.echarts.getInstanceByDom(old)) window.echarts.getInstanceByDom(old).dispose();
    view.textContent = "";
    view.removeAttribute("data-preview-state");
    if (!answer.ok) {
      var problem = answer.data || {};
      var text = problem.code === "form_not_published" ? T.not_published : (problem.detail || problem.title || T.preview_failed);
      view.appendChild(el("p", { className: "error", role: "alert", text: text }));
      (problem.errors || []).forEach(function (e) { view.appendChild(el("p", { className: "error", text: e.message })); });
      view.setAttribute("data-preview-state", "problem");
      return;
    }
    var out = answer.data;
    if (!out.ok) {
      var p = out.problem || {};
      view.appendChild(el("p", { className: "error", role: "alert", text: p.detail || p.title || T.preview_failed }));
      (p.errors || []).forEach(function (e) { view.appendChild(el("p", { className: "error", text: e.message })); });
      view.setAttribute("data-preview-state", "problem");
      return;
    }
    var result = out.result || {};
    var data = chartData(widget, result);
    if (widget.chart === "kpi") {
      var value = result.value || {};
      data.measures.forEach(function (m) {
        view.appendChild(el("p", { className: "dash-kpi", "data-kpi": m.key }, [
          el("span", { className: "dash-kpi__label", text: m.label + " " }),
          el("strong", { text: shownAs(m)(value[m.key]) }),
        ]));
      });
    } else if (!data.rows.length) {
      view.appendChild(el("p", { className: "muted", text: T.no_data }));
    } else if (window.echarts && window.tangram.charts && ["bar", "stacked_bar", "line", "pie", "funnel"].indexOf(widget.chart) >= 0 && data.measures.length) {
      var box = el("div", { className: "dash-widget__chart", "data-preview-chart": "", role: "img", "aria-label": label(widget.title) || widget.key });
      view.appendChild(box);
      var chart = window.echarts.init(box, null, { locale: (document.documentElement.lang || "en").indexOf("zh") === 0 ? "ZH" : "EN" });
      var option = window.tangram.charts.option(data);
      option.animation = false;
      chart.setOption(option);
      // The card may be drawn before it is on the page: follow its size.
      if (window.ResizeObserver) new ResizeObserver(function () { chart.resize(); }).observe(box);
    }
    if (widget.chart !== "kpi" && data.rows.length && !compact) view.appendChild(previewTable(data));
    if (compact && ["table", "pivot"].indexOf(widget.chart) >= 0 && data.rows.length) {
      var table = previewTable(data);
      table.open = true;
      view.appendChild(table);
    }
    view.setAttribute("data-preview-state", "ready");
  }

  function shownAs(measure) {
    var charts = window.tangram.charts;
    return charts && charts.formatted ? charts.formatted(measure.format) : String;
  }

  function previewTable(data) {
    var head = el("tr", {}, data.dimensions.concat(data.measures).map(function (c) { return el("th", { scope: "col", text: c.label }); }));
    var body = data.rows.map(function (row) {
      return el("tr", {}, row.labels.map(function (t) { return el("td", { text: t }); }).concat(
        data.measures.map(function (m) { return el("td", { className: "num", text: shownAs(m)(row.values[m.key]) }); })));
    });
    return el("details", { className: "dash-widget__table" }, [
      el("summary", { text: T.preview }),
      el("table", { className: "table" }, [el("thead", {}, [head]), el("tbody", {}, body)]),
    ]);
  }

  // The widget's answer from the designer preview API (the widget over the published tables,
  // with the designer's rights), asked once per spec (its size does not change the answer).
  var asked = {};
  function fetchPreview(widget) {
    var bare = Object.assign({}, widget);
    delete bare.layout;
    var spec = JSON.stringify(bare);
    if (previews[spec]) return Promise.resolve(previews[spec]);
    if (!asked[spec]) {
      var url = "/api/v1/apps/" + CONFIG.app_id + "/draft/widgets/preview";
      asked[spec] = window.tangram.api("POST", url, { widget: bare }).then(function (answer) {
        previews[spec] = answer;
        delete asked[spec];
        return answer;
      }, function (error) { delete asked[spec]; throw error; });
    }
    return asked[spec];
  }

  function preview(card, widget, compact) {
    var view = card.querySelector("[data-preview]");
    view.textContent = T.preview_loading;
    view.setAttribute("data-preview-state", "loading");
    fetchPreview(widget).then(function (answer) {
      // Drawn once the card is on the page, so that the chart takes its size.
      window.setTimeout(function () { if (card.isConnected) drawPreview(view, widget, answer, compact); }, 0);
    }, function () {
      view.textContent = T.preview_failed;
      view.setAttribute("data-preview-state", "problem");
    });
  }

  // --- the grid: widgets at their sizes -------------------------------------------------------
  function sizeOf(widget) {
    if (widget.layout) return { w: widget.layout.w, h: widget.layout.h };
    var wide = widget.chart === "table" || widget.chart === "pivot";
    return { w: wide ? GRID.columns : GRID.columns / 2, h: GRID.height };
  }
  function clamp(value, most) { return Math.max(1, Math.min(most, value)); }
  function sizeText(size) { return size.w + " × " + size.h; }

  // Save a widget's size, draw again and keep the focus where it was.
  function setSize(index, size, focus) {
    var key = board().widgets[index].key;
    var before = sizeOf(board().widgets[index]);
    if (before.w === size.w && before.h === size.h && board().widgets[index].layout) return;
    edit(function (b) { b.widgets[index].layout = { w: size.w, h: size.h }; }, T.resized);
    renderBoard();
    announce(T.resized + ": " + sizeText(size));
    var again = focus && root.querySelector(focus.replace("KEY", key));
    if (again) again.focus();
  }

  function range(most) {
    var out = [];
    for (var n = 1; n <= most; n++) out.push({ key: n, label: String(n) });
    return out;
  }

  // The keyboard's way to size a widget: its width in columns and height in rows.
  function sizeControls(widget, index) {
    var size = sizeOf(widget);
    var width = select(range(GRID.columns), size.w, { "data-widget-width": "" });
    var height = select(range(GRID.rows), size.h, { "data-widget-height": "" });
    width.addEventListener("change", function () {
      setSize(index, { w: parseInt(width.value, 10), h: sizeOf(board().widgets[index]).h }, '[data-widget="KEY"] [data-widget-width]');
    });
    height.addEventListener("change", function () {
      setSize(index, { w: sizeOf(board().widgets[index]).w, h: parseInt(height.value, 10) }, '[data-widget="KEY"] [data-widget-height]');
    });
    return el("fieldset", { "data-widget-size": "" }, [
      el("legend", { text: T.size }),
      el("div", { className: "dash-row" }, [field(T.width, width), field(T.height, height)]),
    ]);
  }

  function layoutSection(current) {
    var grid = el("div", { className: "dash-layout", "data-layout-grid": "" });
    current.widgets.forEach(function (widget, index) { grid.appendChild(layoutTile(widget, index)); });
    return el("section", { className: "dash-layout-section", "data-layout": "" }, [
      el("h2", { text: T.layout }),
      el("p", { className: "muted", text: T.layout_hint }),
      grid,
    ]);
  }

  function refreshTile(oldKey, index) {
    var tile = root.querySelector('[data-layout-tile="' + oldKey + '"]');
    if (tile) tile.replaceWith(layoutTile(board().widgets[index], index));
  }

  function place(tile, size) {
    tile.style.gridColumn = "span " + size.w;
    tile.style.gridRow = "span " + size.h;
    tile.setAttribute("data-width", size.w);
    tile.setAttribute("data-height", size.h);
  }

  // A widget on the grid: its title, its chart at that size and a handle on its bottom-right
  // corner. Dragging the handle snaps the size to whole columns and rows; the arrow keys on
  // the focused handle do the same a step at a time.
  function layoutTile(widget, index) {
    var size = sizeOf(widget);
    var name = label(widget.title) || widget.key;
    var tile = el("div", { className: "dash-layout__tile", "data-layout-tile": widget.key });
    place(tile, size);
    var shown = el("span", { className: "dash-layout__size muted", "data-layout-size": "", text: sizeText(size) });
    var handle = el("span", {
      className: "dash-layout__handle", "data-resize-handle": "", tabindex: "0", role: "button",
      title: T.resize_hint, "aria-label": T.resize + " " + name + " (" + sizeText(size) + ")",
    });
    tile.appendChild(el("div", { className: "dash-layout__bar" }, [el("strong", { text: name }), shown]));
    var view = el("div", { className: "dash-layout__view", "data-preview": "" });
    tile.appendChild(view);
    tile.appendChild(handle);
    preview(tile, widget, true);

    handle.addEventListener("keydown", function (event) {
      var steps = { ArrowRight: [1, 0], ArrowLeft: [-1, 0], ArrowDown: [0, 1], ArrowUp: [0, -1] }[event.key];
      if (!steps) return;
      event.preventDefault();
      var now = sizeOf(board().widgets[index]);
      setSize(index, { w: clamp(now.w + steps[0], GRID.columns), h: clamp(now.h + steps[1], GRID.rows) }, '[data-layout-tile="KEY"] [data-resize-handle]');
    });
    handle.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      event.preventDefault();
      var grid = tile.parentNode;
      var style = window.getComputedStyle(grid);
      var columnStep = (grid.getBoundingClientRect().width + (parseFloat(style.columnGap) || 0)) / GRID.columns;
      var rowStep = (parseFloat(style.gridAutoRows) || 48) + (parseFloat(style.rowGap) || 0);
      var start = { x: event.clientX, y: event.clientY, size: sizeOf(board().widgets[index]) };
      var chosen = start.size;
      handle.setPointerCapture(event.pointerId);
      tile.classList.add("dash-layout__tile--resizing");
      function move(e) {
        chosen = {
          w: clamp(start.size.w + Math.round((e.clientX - start.x) / columnStep), GRID.columns),
          h: clamp(start.size.h + Math.round((e.clientY - start.y) / rowStep), GRID.rows),
        };
        place(tile, chosen);
        shown.textContent = sizeText(chosen);
      }
      function end() {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", end);
        handle.removeEventListener("pointercancel", end);
        tile.classList.remove("dash-layout__tile--resizing");
        if (chosen.w !== start.size.w || chosen.h !== start.size.h) setSize(index, chosen, '[data-layout-tile="KEY"] [data-resize-handle]');
      }
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", end);
      handle.addEventListener("pointercancel", end);
    });
    return tile;
  }

  // --- who may see the dashboard --------------------------------------------------------------
  function viewerKeys(kind) { return window.tangram.grantees.keys(kind, store.definition, ORG); }

  function viewersSection(current) {
    var viewers = current.visible_to || [];
    var section = el("section", { className: "dash-viewers", "data-viewers": "" }, [
      el("h2", { text: T.who_can_see }),
      el("p", { className: "muted", "data-viewers-note": "", text: viewers.length ? T.viewers_hint : T.visible_to_all }),
    ]);
    viewers.forEach(function (grantee, index) {
      var kind = select(CHOICES.grantees, grantee.kind, { "data-viewer-kind": index });
      kind.addEventListener("change", function () {
        var first = viewerKeys(kind.value)[0];
        edit(function (b) { b.visible_to[index] = { kind: kind.value, key: first ? first.key : "" }; });
        renderBoard();
        var again = root.querySelector('[data-viewer-kind="' + index + '"]');
        if (again) again.focus();
      });
      var options = window.tangram.grantees.options(grantee.kind, grantee.key, store.definition, ORG);
      var who = select(options, grantee.key, { "data-viewer-key": index });
      who.addEventListener("change", function () { edit(function (b) { b.visible_to[index].key = who.value; }); });
      var row = el("div", { className: "dash-row", role: "group", "aria-label": T.who_can_see + " " + (index + 1), "data-viewer": index }, [
        field(T.viewer_kind, kind), field(T.viewer_key, who),
      ]);
      if (grantee.kind === "department") {
        var children = el("input", { type: "checkbox", "data-viewer-children": index });
        children.checked = !!grantee.include_children;
        children.addEventListener("change", function () {
          edit(function (b) {
            if (children.checked) b.visible_to[index].include_children = true; else delete b.visible_to[index].include_children;
          });
        });
        row.appendChild(el("label", { className: "check" }, [children, document.createTextNode(" " + T.include_children)]));
      }
      var remove = button(T.remove, { "data-remove-viewer": index });
      remove.addEventListener("click", function () {
        edit(function (b) { b.visible_to.splice(index, 1); });
        renderBoard(); announce(T.removed);
      });
      row.appendChild(remove);
      section.appendChild(row);
      var own = problems.filter(function (p) { return atViewer(p.field, index); });
      if (own.length) {
        section.appendChild(el("ul", { className: "error", role: "alert", "data-viewer-problems": index },
          own.map(function (p) { return el("li", { text: p.message }); })));
      }
    });
    var add = button(T.add_viewer, { "data-add-viewer": "" });
    add.addEventListener("click", function () {
      var kinds = (CHOICES.grantees || []).map(function (k) { return k.key; });
      var kind = kinds.filter(function (k) { return viewerKeys(k).length; })[0] || "role";
      var first = viewerKeys(kind)[0];
      edit(function (b) {
        b.visible_to = b.visible_to || [];
        b.visible_to.push({ kind: kind, key: first ? first.key : "" });
      }, T.add_viewer);
      renderBoard();
      var kindsShown = root.querySelectorAll("[data-viewer-kind]");
      if (kindsShown.length) kindsShown[kindsShown.length - 1].focus();
    });
    section.appendChild(add);
    return section;
  }

  function atViewer(path, index) {
    var found = /^(?:definition\.)?dashboards\[([^\]]+)\]\.visible_to\[(\d+)\]/.exec(path || "");
    if (!found) return false;
    return (found[1] === String(boardIndex()) || found[1] === boardKey) && found[2] === String(index);
  }

  // --- runtime filters ----------------------------------------------------------------------
  function filtersSection(current) {
    var section = el("section", { className: "dash-filters", "data-filters": "" }, [el("h2", { text: T.filters })]);
    var filters = current.filters || [];
    if (!filters.length) section.appendChild(el("p", { className: "muted", text: T.no_filters }));
    var pool = {};
    current.widgets.forEach(function (w) { fieldChoices(w.form).forEach(function (f) { pool[f.key] = f; }); });
    var system = (CHOICES.system_fields || []).filter(function (f) { return !pool[f.key]; });
    var fieldOptions = [{ key: "", label: "—" }].concat(Object.keys(pool).map(function (k) { return pool[k]; }), system);
    filters.forEach(function (filter, index) {
      var key = input(filter.key, { pattern: "[a-z][a-z0-9_]*", "data-filter-key": index });
      var kind = select(CHOICES.filter_kinds, filter.kind, { "data-filter-kind": index });
      var which = select(fieldOptions, filter.field, { "data-filter-field": index });
      var sync = function () {
        edit(function (b) {
          var item = b.filters[index];
          item.key = key.value.trim();
          item.kind = kind.value;
          if (which.value) item.field = which.value; else delete item.field;
        });
        renderBoard();
      };
      [key, kind, which].forEach(function (node) { node.addEventListener("change", sync); });
      var remove = button(T.remove);
      remove.addEventListener("click", function () { edit(function (b) { b.filters.splice(index, 1); }); renderBoard(); });
      var row = el("div", { className: "dash-row" }, [field(T.filter_key, key), field(T.filter_kind, kind), field(T.filter_field, which)]);
      titled(filter.label, function (lang, value) {
        edit(function (b) { var f = b.filters[index]; f.label = f.label || {}; setLabel(f.label, lang, value); });
      }).forEach(function (node) { row.appendChild(node); });
      row.appendChild(remove);
      section.appendChild(row);
    });
    var add = button(T.add_filter, { "data-add-filter": "" });
    add.addEventListener("click", function () {
      edit(function (b) {
        b.filters = b.filters || [];
        b.filters.push({ key: freeKey("filter_", b.filters.map(function (f) { return f.key; })), kind: "date_range", field: "created_at" });
      });
      renderBoard();
    });
    section.appendChild(add);
    return section;
  }

  // After a save, the draft's checks (fields that exist, aggregations that fit) at each widget.
  function check() {
    window.tangram.api("POST", "/api/v1/apps/" + CONFIG.app_id + "/draft/validate").then(function (answer) {
      if (!answer.ok) return;
      problems = (answer.data.problems || []).map(function (p) { return { field: p.path, code: p.code, message: p.message }; });
      renderBoard();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.querySelector("[data-dashboard-designer]");
    if (!root) return;
    T = window.tangram.readJson("dashboard-strings") || {};
    CHOICES = window.tangram.readJson("dashboard-choices") || {};
    CONFIG = window.tangram.readJson("builder-config") || {};
    ORG = window.tangram.readJson("org-choices") || {};
    GRID = CHOICES.grid || GRID;
    (window.tangram.readJson("field-types") || []).forEach(function (type) { KINDS[type.type] = type.logic_kind; });
    boardKey = root.getAttribute("data-board") || "";
    var render = boardKey ? renderBoard : renderList;
    window.tangram.draft.open().then(function (opened) {
      store = opened;
      store.on("change", function (detail) { if (detail.source !== "edit") render(); });
      store.on("problems", function (list) { problems = list || []; render(); });
      if (boardKey) store.on("saved", function () { check(); });
      render();
    });
  });
})();
