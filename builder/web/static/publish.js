// Publish page: check the whole draft, show the migration plan in plain words, publish as a
// job with a progress bar (or directly where jobs are not offered), compare versions with the
// draft and roll back.
(function () {
  "use strict";
  var T = {}, config = null, draft = null;

  function el(tag, attrs, children) { return window.tangram.el(tag, attrs, children); }
  function fill(text, params) {
    return String(text).replace(/%\((\w+)\)s/g, function (_, name) { return params[name]; });
  }
  function list(items, className) {
    var ul = el("ul", { className: "publish-list" });
    items.forEach(function (item) { ul.appendChild(el("li", { className: className || "", text: item })); });
    return ul;
  }
  function describe(op) {
    if (op.summary) return op.summary;
    return [op.op || op.code, op.form || "", op.field || op.column || ""].join(" ").trim();
  }
  function problemText(answer) {
    return (answer.data && (answer.data.detail || answer.data.title)) || T.failed;
  }
  function base() { return "/api/v1/apps/" + config.app_id; }

  function check() {
    var checks = document.querySelector("[data-publish-checks]");
    var plan = document.querySelector("[data-publish-plan]");
    var button = document.querySelector("[data-publish-button]");
    button.disabled = true;
    return window.tangram.api("GET", base() + "/draft").then(function (answer) {
      draft = answer.data;
      return window.tangram.api("POST", base() + "/draft/validate");
    }).then(function (answer) {
      checks.textContent = "";
      var problems = (answer.data && answer.data.problems) || [];
      if (!answer.ok) { checks.appendChild(el("p", { className: "alert alert--error", text: problemText(answer) })); return false; }
      if (!problems.length) { checks.appendChild(el("p", { className: "alert alert--success", text: T.ok })); return true; }
      checks.appendChild(el("p", { className: "alert alert--error", role: "alert", text: T.problems }));
      checks.appendChild(list(problems.map(function (p) { return p.path + ": " + p.message; }), "is-blocker"));
      plan.textContent = "";
      return false;
    }).then(function (valid) {
      if (!valid) return;
      return window.tangram.api("GET", base() + "/draft/plan").then(function (answer) {
        plan.textContent = "";
        if (!answer.ok) {
          var errors = (answer.data && answer.data.errors) || [];
          plan.appendChild(el("p", { className: "alert alert--error", text: problemText(answer) }));
          if (errors.length) plan.appendChild(list(errors.map(function (e) { return e.field + ": " + e.message; }), "is-blocker"));
          return;
        }
        var ops = answer.data.operations || [];
        var blockers = answer.data.blockers || [];
        var parts = answer.data.summary || [];
        if (parts.length) {
          plan.appendChild(el("p", { text: T.parts }));
          plan.appendChild(list(parts));
        }
        if (ops.length) {
          plan.appendChild(el("p", { text: T.changes }));
          plan.appendChild(list(ops.map(describe)));
        } else {
          plan.appendChild(el("p", { className: "muted", text: T.no_changes }));
        }
        if (blockers.length) {
          plan.appendChild(el("p", { className: "alert alert--error", role: "alert", text: T.blocked }));
          plan.appendChild(list(blockers.map(describe), "is-blocker"));
          return;
        }
        button.disabled = false;
      });
    });
  }

  function showResult(kind, text) {
    var out = document.querySelector("[data-publish-result]");
    out.textContent = "";
    out.appendChild(el("p", { className: "alert alert--" + kind, text: text }));
  }

  function progress(percent, message) {
    var box = document.querySelector("[data-publish-progress]");
    box.hidden = false;
    document.querySelector("[data-publish-bar]").value = percent || 0;
    document.querySelector("[data-publish-stage]").textContent = message || T.publishing;
  }

  function finished(version) {
    progress(100, fill(T.published, { number: version.number }));
    showResult("success", fill(T.published, { number: version.number }));
    window.setTimeout(function () { window.location.reload(); }, 800);
  }

  function failed(answer) {
    document.querySelector("[data-publish-progress]").hidden = true;
    showResult("error", answer.status === 409 ? T.conflict : problemText(answer));
    document.querySelector("[data-publish-button]").disabled = false;
  }

  function poll(url) {
    window.tangram.api("GET", url).then(function (answer) {
      if (!answer.ok) { failed(answer); return; }
      var job = answer.data;
      progress(job.progress_percent, job.progress_message);
      if (job.status === "dead" || job.status === "cancelled") {
        failed({ data: { detail: job.last_error } });
        return;
      }
      if (job.status === "done") {
        var result = job.result || {};
        if (result.ok && result.version) finished(result.version);
        else failed({ status: result.problem && result.problem.status, data: result.problem || { detail: job.last_error } });
        return;
      }
      window.setTimeout(function () { poll(url); }, 500);
    });
  }

  function publish() {
    var button = document.querySelector("[data-publish-button]");
    button.disabled = true;
    var body = { row_version: draft.row_version, note: document.querySelector("[data-publish-note]").value };
    progress(0, T.publishing);
    window.tangram.api("POST", base() + "/publish-jobs", body).then(function (answer) {
      if (answer.status === 404 || answer.status === 405) {
        // No publish jobs on this server: publish in the request.
        return window.tangram.api("POST", base() + "/publish", body).then(function (direct) {
          if (direct.ok) finished(direct.data.version || direct.data);
          else failed(direct);
        });
      }
      if (!answer.ok) { failed(answer); return; }
      poll(answer.data.url || "/api/v1/jobs/" + answer.data.job_id);
    });
  }

  function diff(number) {
    var out = document.querySelector("[data-diff-result]");
    out.textContent = "";
    window.tangram.api("GET", base() + "/versions/" + number + "/diff/draft").then(function (answer) {
      out.textContent = "";
      if (!answer.ok) { out.appendChild(el("p", { className: "alert alert--error", text: T.diff_failed })); return; }
      out.appendChild(el("h3", { text: fill(T.diff_title, { number: number }) }));
      var lines = answer.data.summary || [];
      out.appendChild(lines.length ? list(lines) : el("p", { className: "muted", text: T.no_diff }));
      out.setAttribute("tabindex", "-1");
      out.focus();
    });
  }

  function rollback(number) {
    if (!window.confirm(fill(T.confirm_rollback, { number: number }))) return;
    window.tangram.api("POST", base() + "/versions/" + number + "/rollback").then(function (answer) {
      if (!answer.ok) { showResult("error", problemText(answer)); return; }
      showResult("success", fill(T.rolled_back, { number: number }));
      window.setTimeout(function () { window.location.reload(); }, 800);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-publish]")) return;
    T = window.tangram.readJson("publish-strings") || {};
    config = window.tangram.readJson("builder-config");
    document.querySelector("[data-publish-button]").addEventListener("click", publish);
    document.addEventListener("click", function (event) {
      var compare = event.target.closest("[data-diff]");
      if (compare) diff(compare.getAttribute("data-diff"));
      var back = event.target.closest("[data-rollback]");
      if (back) rollback(back.getAttribute("data-rollback"));
    });
    check();
  });
})();
