// Builder home: import a template .zip — upload, every problem listed at once, an upgrade's
// conflicts decided one by one, and the install or upgrade job followed with a progress bar.
(function () {
  "use strict";
  var T = {};

  function $(selector) { return document.querySelector(selector); }
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function fill(text, params) {
    return String(text).replace(/%\((\w+)\)s/g, function (_, name) { return params[name]; });
  }
  function clear(selector) { $(selector).textContent = ""; }
  function problemText(data) { return (data && (data.detail || data.title)) || T.failed; }

  function showProblems(data) {
    var box = $("[data-template-problems]");
    box.textContent = "";
    box.appendChild(el("p", "alert alert--error", problemText(data) + " " + T.problems));
    var list = el("ul", "publish-list template-problems");
    var problems = (data && data.problems) || (data && data.errors || []).map(function (e) {
      return { file: e.field, path: "", message: e.message, code: e.code };
    });
    problems.forEach(function (p) {
      var item = el("li", "is-blocker");
      item.setAttribute("data-problem-file", p.file);
      item.appendChild(el("code", "", p.path ? p.file + "#" + p.path : p.file || "—"));
      item.appendChild(document.createTextNode(" " + p.message));
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  function progress(percent, message) {
    $("[data-template-progress]").hidden = false;
    $("[data-template-bar]").value = percent || 0;
    $("[data-template-stage]").textContent = message || T.importing;
  }

  function done(result) {
    var out = $("[data-template-result]");
    out.textContent = "";
    var box = el("p", "alert alert--success");
    if (result.app) {
      var link = el("a", "", T.installed + " " + (result.app.key || ""));
      link.href = "/build/apps/" + result.app.key;
      box.appendChild(link);
    } else {
      box.textContent = fill(T.upgraded, { version: result.version });
    }
    out.appendChild(box);
    $("[data-template-submit]").disabled = false;
  }

  function failed(data) {
    $("[data-template-progress]").hidden = true;
    showProblems(data);
    $("[data-template-submit]").disabled = false;
  }

  function poll(url) {
    window.tangram.api("GET", url).then(function (answer) {
      if (!answer.ok) { failed(answer.data); return; }
      var job = answer.data;
      progress(job.progress_percent, job.progress_message);
      if (job.status === "dead" || job.status === "cancelled") { failed({ detail: job.last_error }); return; }
      if (job.status === "done") {
        var result = job.result || {};
        if (result.ok) done(result); else failed(result.problem);
        return;
      }
      window.setTimeout(function () { poll(url); }, 400);
    });
  }

  function started(data) {
    clear("[data-template-conflicts]");
    progress(0, T.importing);
    poll(data.url);
  }

  function conflicts(upgrade) {
    var box = $("[data-template-conflicts]");
    box.textContent = "";
    box.appendChild(el("p", "alert alert--warning", T.conflicts));
    var list = el("ul", "publish-list template-conflicts");
    upgrade.conflicts.forEach(function (c) {
      var item = el("li", "template-conflict");
      item.setAttribute("data-conflict", String(c.index));
      item.appendChild(el("strong", "", c.part + " · " + c.element));
      if (c.paths.length) item.appendChild(document.createTextNode(" (" + c.paths.join(", ") + ") "));
      if (c.choice) {
        item.appendChild(el("span", "badge", c.choice === "local" ? T.decided_local : T.decided_theirs));
      }
      [["local", T.keep_local], ["theirs", T.take_theirs]].forEach(function (pair) {
        var button = el("button", "button button--small", pair[1]);
        button.type = "button";
        button.setAttribute("data-choice", pair[0]);
        button.addEventListener("click", function () { decide(upgrade.app_id, c.index, pair[0]); });
        item.appendChild(button);
      });
      list.appendChild(item);
    });
    box.appendChild(list);
    var apply = el("button", "button button--primary", T.apply);
    apply.type = "button";
    apply.setAttribute("data-template-apply", "");
    apply.disabled = upgrade.unresolved > 0;
    apply.addEventListener("click", function () {
      apply.disabled = true;
      window.tangram.api("POST", "/api/v1/templates/apps/" + upgrade.app_id + "/upgrade/apply").then(function (answer) {
        if (answer.status === 202) started(answer.data); else failed(answer.data);
      });
    });
    box.appendChild(apply);
    $("[data-template-submit]").disabled = false;
  }

  function decide(appId, index, choice) {
    var url = "/api/v1/templates/apps/" + appId + "/upgrade/conflicts/" + index;
    window.tangram.api("PUT", url, { choice: choice }).then(function (answer) {
      if (answer.ok) conflicts(answer.data); else failed(answer.data);
    });
  }

  function submit(event) {
    event.preventDefault();
    clear("[data-template-problems]");
    clear("[data-template-result]");
    clear("[data-template-conflicts]");
    var input = $("[data-template-file]");
    if (!input.files.length) { $("[data-template-problems]").appendChild(el("p", "alert alert--error", T.choose_file)); return; }
    var body = new FormData();
    body.append("file", input.files[0], input.files[0].name);
    body.append("demo", $("[data-template-demo]").checked ? "true" : "false");
    var key = $("[data-template-key]").value.trim();
    if (key) body.append("key", key);
    $("[data-template-submit]").disabled = true;
    progress(0, T.importing);
    fetch("/api/v1/templates/imports", {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRF-Token": window.tangram.csrfToken() }
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (data) {
        if (response.status === 202) { started(data); return; }
        $("[data-template-progress]").hidden = true;
        if (response.ok && data && data.upgrade) { conflicts(data.upgrade); return; }
        failed(data);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var strings = document.getElementById("template-strings");
    T = strings ? JSON.parse(strings.textContent) : {};
    var form = $("[data-template-form]");
    if (form) form.addEventListener("submit", submit);
  });
})();
