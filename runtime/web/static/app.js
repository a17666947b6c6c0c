// Tangram pages: the small behaviour every page shares. No inline scripts (CSP script-src 'self').
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // htmx: send the session's CSRF token on every request; swap 422 answers (inline form errors)
  // and 409 answers (someone else changed it) into their target like successful ones.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) event.detail.headers["X-CSRF-Token"] = token;
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (status >= 400 && event.detail.xhr.getResponseHeader("HX-Retarget")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The JSON API from page scripts: same-origin fetch with the CSRF header.
  window.tangram = window.tangram || {};
  window.tangram.csrfToken = csrfToken;
  window.tangram.api = function (method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() } };
    // The API answers (problem messages, summaries) in the page's language.
    if (document.documentElement.lang) options.headers["Accept-Language"] = document.documentElement.lang;
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("content-type") || "";
      var parsed = type.indexOf("json") >= 0 ? response.json() : Promise.resolve(null);
      return parsed.then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
    });
  };

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-nav-toggle]");
    if (toggle) {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      document.body.classList.toggle("nav-open", open);
      if (open) {
        var first = document.querySelector("#sidebar a");
        if (first) first.focus();
      }
      return;
    }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var box = dismiss.closest(".alert");
      if (box) box.remove();
    }
  });
  // Menus (<details data-menu>, the account menu): Escape closes the one holding the focus and
  // puts the focus back on its summary; a click outside closes it.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;  // a combobox closed its list
    var menu = document.activeElement && document.activeElement.closest("details[data-menu][open]");
    if (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
      return;
    }
    if (document.body.classList.contains("nav-open")) {
      var toggle = document.querySelector("[data-nav-toggle]");
      document.body.classList.remove("nav-open");
      if (toggle) { toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
    }
  });
})();
