// Telephony screen pops and click-to-call (runtime/channels/cti). Subscribes to the signed-in
// user's live events (GET /api/v1/me/events); on an incoming call ("call" event) shows a toast
// with the caller and a link to their 360° page, and goes there at once when the user ticked
// "Open automatically" (kept in this browser). On a record page, adds a call button beside
// each phone field when the user has an extension on one of the app's telephony channels.
(function () {
  "use strict";

  var AUTO_KEY = "tangram.screenPop.auto";
  var script = document.currentScript;

  function label(name) {
    return script ? script.getAttribute("data-label-" + name) || name : name;
  }

  function autoOpen() {
    try { return window.localStorage.getItem(AUTO_KEY) === "1"; } catch (e) { return false; }
  }

  function setAutoOpen(on) {
    try { window.localStorage.setItem(AUTO_KEY, on ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  function container() {
    var box = document.querySelector("[data-screen-pops]");
    if (!box) {
      box = document.createElement("div");
      box.className = "toasts screen-pops";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "assertive");
      box.setAttribute("data-screen-pops", "");
      document.body.appendChild(box);
    }
    return box;
  }

  function pop(call) {
    if (call.url && autoOpen()) {
      window.location.assign(call.url);
      return;
    }
    var box = document.createElement("div");
    box.className = "toast screen-pop";
    box.setAttribute("data-screen-pop", call.call_id || "");
    var heading = document.createElement("strong");
    heading.textContent = label("incoming") + ": ";
    box.appendChild(heading);
    var who = document.createElement("span");
    who.textContent = (call.customer_name && call.customer_name !== call.from)
      ? call.customer_name + " (" + call.from + ")"
      : call.from;
    box.appendChild(who);
    if (call.url) {
      var link = document.createElement("a");
      link.href = call.url;
      link.textContent = label("open");
      link.setAttribute("data-screen-pop-link", "");
      box.appendChild(document.createTextNode(" "));
      box.appendChild(link);
    }
    var auto = document.createElement("label");
    auto.className = "screen-pop__auto";
    var tick = document.createElement("input");
    tick.type = "checkbox";
    tick.checked = autoOpen();
    tick.setAttribute("data-screen-pop-auto", "");
    tick.addEventListener("change", function () { setAutoOpen(tick.checked); });
    auto.appendChild(tick);
    auto.appendChild(document.createTextNode(" " + label("auto")));
    box.appendChild(auto);
    var close = document.createElement("button");
    close.type = "button";
    close.className = "link-button toast__close";
    close.textContent = label("dismiss");
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(close);
    var toasts = container();
    toasts.appendChild(box);
    while (toasts.children.length > 3) toasts.removeChild(toasts.firstChild);
    window.setTimeout(function () { box.remove(); }, 60000);
  }

  function subscribe() {
    if (!window.EventSource) return;
    var source = new EventSource("/api/v1/me/events");
    source.addEventListener("call", function (event) {
      try { pop(JSON.parse(event.data)); } catch (e) { /* a malformed event: ignore it */ }
    });
    source.addEventListener("end", function () { source.close(); });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  // --- click-to-call ----------------------------------------------------------------------
  var RECORD_PAGE = /^\/apps\/([a-z][a-z0-9_]*)\/forms\/([a-z][a-z0-9_]*)\/records\/\d+\/?$/;

  function callButtons() {
    var match = RECORD_PAGE.exec(window.location.pathname);
    if (!match || !window.fetch) return;
    var query = "?app=" + encodeURIComponent(match[1]) + "&form=" + encodeURIComponent(match[2]);
    fetch("/api/v1/me/phones" + query, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (phones) {
        if (!phones || !phones.channels.length) return;
        var channel = phones.channels[0];
        phones.phone_fields.forEach(function (key) {
          var field = document.querySelector('[data-field="' + key + '"] dd');
          if (!field) return;
          var number = field.textContent.trim();
          if (!/\d{3}/.test(number)) return;
          addButton(field, channel, number);
        });
      })
      .catch(function () { /* no buttons */ });
  }

  function addButton(field, channel, number) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button--small click-to-call";
    button.textContent = label("call");
    button.setAttribute("data-click-to-call", "");
    var result = document.createElement("span");
    result.className = "click-to-call__result";
    result.setAttribute("role", "status");
    result.setAttribute("data-click-to-call-result", "");
    button.addEventListener("click", function () {
      button.disabled = true;
      result.textContent = label("calling");
      var token = document.querySelector('meta[name="csrf-token"]');
      fetch("/api/v1/apps/" + channel.app_id + "/channels/" + channel.key + "/calls", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRF-Token": token ? token.getAttribute("content") : ""
        },
        body: JSON.stringify({ to: number, record: false })
      }).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (answer) {
        result.textContent = answer.ok
          ? label("placed").replace("{extension}", answer.body.extension)
          : label("failed") + " " + (answer.body.title || "");
      }).catch(function () {
        result.textContent = label("failed");
      }).then(function () { button.disabled = false; });
    });
    field.appendChild(document.createTextNode(" "));
    field.appendChild(button);
    field.appendChild(document.createTextNode(" "));
    field.appendChild(result);
  }

  function start() {
    subscribe();
    callButtons();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
