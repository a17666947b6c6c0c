// Dashboards: draws each widget's chart with ECharts from its data-chart JSON (built by the
// server from the widget's result), sends a click on a bar, slice or point to the records
// behind it, and keeps the filter form's date presets and custom dates apart.
(function () {
  "use strict";

  var lang = document.documentElement.lang || "en";
  var numbers = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 });
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function number(value) {
    return value === null || value === undefined || value === "" ? "–" : numbers.format(value);
  }

  // A measure's display format from the server ({scale, min, max, suffix}: 0.896 → "89.6 %").
  var formatters = {};
  function formatted(format) {
    if (!format) return number;
    var id = [format.scale, format.min, format.max, format.suffix].join("|");
    if (!formatters[id]) {
      var digits = new Intl.NumberFormat(lang, {
        minimumFractionDigits: format.min, maximumFractionDigits: format.max
      });
      formatters[id] = function (value) {
        if (value === null || value === undefined || value === "") return "–";
        return digits.format(Number(value) * format.scale) + format.suffix;
      };
    }
    return formatters[id];
  }

  function point(value, drill) {
    return { value: value === undefined ? null : value, drill: drill };
  }

  function circular(data) {
    var measure = data.measures[0];
    var shown = formatted(measure.format);
    return {
      tooltip: { trigger: "item", valueFormatter: shown },
      legend: { type: "scroll", bottom: 0 },
      series: [{
        type: data.chart,
        name: measure.label,
        radius: data.chart === "pie" ? ["35%", "65%"] : undefined,
        top: 8,
        bottom: 40,
        label: { formatter: function (p) { return p.name + ": " + shown(p.value); } },
        data: data.rows.map(function (row) {
          var item = point(row.values[measure.key], row.drill[measure.key]);
          item.name = row.labels.join(" · ");
          return item;
        })
      }]
    };
  }

  // Two dimensions: categories from the first, a series per value of the second.
  function crossed(data, type, stack) {
    var measure = data.measures[0];
    var categories = [], names = [], series = [];
    data.rows.forEach(function (row) {
      if (categories.indexOf(row.labels[0]) < 0) categories.push(row.labels[0]);
      if (names.indexOf(row.labels[1]) < 0) names.push(row.labels[1]);
    });
    names.forEach(function (name) {
      series.push({ name: name, type: type, stack: stack, data: categories.map(function () { return null; }) });
    });
    data.rows.forEach(function (row) {
      series[names.indexOf(row.labels[1])].data[categories.indexOf(row.labels[0])] =
        point(row.values[measure.key], row.drill[measure.key]);
    });
    return { categories: categories, series: series };
  }

  function simple(data, type, stack) {
    var series = [];
    data.measures.forEach(function (measure) {
      series.push({
        name: measure.label, type: type, stack: stack,
        tooltip: { valueFormatter: formatted(measure.format) },
        data: data.rows.map(function (row) { return point(row.values[measure.key], row.drill[measure.key]); })
      });
      var compared = data.rows.some(function (row) { return row.previous && row.previous[measure.key] !== undefined; });
      if (compared) {
        series.push({
          name: measure.label + " (" + data.previous_label + ")", type: type,
          tooltip: { valueFormatter: formatted(measure.format) },
          lineStyle: { type: "dashed" }, itemStyle: { opacity: 0.55 },
          data: data.rows.map(function (row) {
            return point(row.previous[measure.key], (row.drill_previous || {})[measure.key]);
          })
        });
      }
    });
    return { categories: data.rows.map(function (row) { return row.labels.join(" · "); }), series: series };
  }

  function option(data) {
    if (data.chart === "pie" || data.chart === "funnel") return circular(data);
    var type = data.chart === "line" ? "line" : "bar";
    var stack = data.chart === "stacked_bar" ? "total" : undefined;
    var built = data.dimensions.length >= 2 ? crossed(data, type, stack) : simple(data, type, stack);
    var legend = built.series.length > 1;
    // The axis reads in the first measure's format (the others' tooltips in their own).
    var shown = formatted(data.measures.length ? data.measures[0].format : null);
    return {
      tooltip: { trigger: type === "line" ? "axis" : "item", valueFormatter: shown },
      legend: legend ? { type: "scroll", bottom: 0 } : undefined,
      grid: { left: 8, right: 16, top: 24, bottom: legend ? 40 : 8, containLabel: true },
      xAxis: { type: "category", data: built.categories, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: shown } },
      series: built.series
    };
  }

  function draw(element) {
    if (element.getAttribute("data-ready")) return;
    element.setAttribute("data-ready", "1");
    var data = JSON.parse(element.getAttribute("data-chart"));
    element.hidden = false;
    var chart = window.echarts.init(element, null, { locale: lang.indexOf("zh") === 0 ? "ZH" : "EN" });
    var chosen = option(data);
    chosen.aria = { enabled: false }; // the element's aria-label and the table describe it
    chosen.animation = !still;
    chart.setOption(chosen);
    chart.on("click", function (params) {
      var target = params.data && params.data.drill;
      if (target) window.location.assign(target);
    });
    if (window.ResizeObserver) new ResizeObserver(function () { chart.resize(); }).observe(element);
    var box = element.closest(".widget");
    var table = box && box.querySelector("[data-chart-table]");
    if (table) table.open = false;
    var hint = box && box.querySelector("[data-chart-hint]");
    if (hint) hint.hidden = false;
  }

  // The option builder, for pages that draw a widget's chart data themselves (the designer).
  window.tangram = window.tangram || {};
  window.tangram.charts = { option: option, number: number, formatted: formatted };

  function init(root) {
    if (!window.echarts) return; // no charts: the tables stay open
    root.querySelectorAll("[data-chart]").forEach(draw);
  }

  function dispose(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (element) {
      var chart = window.echarts.getInstanceByDom(element);
      if (chart) chart.dispose();
    });
  }

  // A preset period and custom dates exclude each other.
  document.addEventListener("change", function (event) {
    var target = event.target;
    var preset = target.getAttribute && target.getAttribute("data-range-preset");
    var dated = target.getAttribute && target.getAttribute("data-range-date");
    if (preset && target.value) {
      document.querySelectorAll('[data-range-date="' + preset + '"]').forEach(function (input) { input.value = ""; });
    } else if (dated && target.value) {
      var select = document.querySelector('[data-range-preset="' + dated + '"]');
      if (select) select.value = "";
    }
  }, true);

  document.addEventListener("htmx:beforeRequest", function (event) {
    var body = document.getElementById("dashboard-body");
    if (body && body.contains(event.target)) body.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "dashboard-body") dispose(event.detail.target);
  });
  document.addEventListener("htmx:load", function (event) { init(event.target); });
  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
