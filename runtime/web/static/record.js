// Record and task pages: @mention suggestions in comments and the user picker (transfer, add
// signer). One keyboard-operable listbox: ArrowUp/ArrowDown move, Enter or Tab choose,
// Escape closes. Suggestions come from /people/suggest as server-rendered (escaped) HTML.
(function () {
  "use strict";

  function setup(box) {
    if (box.dataset.suggestReady) return;
    box.dataset.suggestReady = "1";
    var input = box.querySelector("textarea, input");
    var popup = box.querySelector(".suggest__popup");
    var url = box.getAttribute("data-suggest-url");
    var mentions = box.hasAttribute("data-mentions");
    var active = -1;
    var timer = null;
    var asked = 0;
    if (!input || !popup) return;
    var listId = (input.id || "suggest") + "-suggestions";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    popup.id = listId;

    function options() { return popup.querySelectorAll("[role=option]"); }

    function close() {
      popup.hidden = true;
      popup.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      var all = options();
      if (!all.length) return;
      active = (index + all.length) % all.length;
      all.forEach(function (option, i) { option.setAttribute("aria-selected", String(i === active)); });
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    }

    // The word being typed: "@al" before the caret for mentions, the whole value for pickers.
    function query() {
      if (!mentions) return { text: input.value.trim(), start: 0 };
      var before = input.value.slice(0, input.selectionStart);
      var match = /(^|[^\w@])@([\w.\-]{0,64})$/.exec(before);
      if (!match) return null;
      return { text: match[2], start: before.length - match[2].length - 1 };
    }

    function choose(option) {
      var username = option.getAttribute("data-username");
      if (mentions) {
        var found = query();
        if (!found) return close();
        var caret = input.selectionStart;
        var text = "@" + username + " ";
        input.value = input.value.slice(0, found.start) + text + input.value.slice(caret);
        var at = found.start + text.length;
        input.setSelectionRange(at, at);
      } else {
        input.value = username;
      }
      close();
      input.focus();
    }

    function lookup() {
      var found = query();
      if (!found || (!found.text && !mentions)) return close();
      if (!found.text) return close();
      var ticket = ++asked;
      fetch(url + "?field=" + encodeURIComponent(input.id) + "&q=" + encodeURIComponent(found.text), {
        credentials: "same-origin", headers: { "HX-Request": "true" }
      }).then(function (response) { return response.ok ? response.text() : ""; }).then(function (html) {
        if (ticket !== asked) return;  // an answer to an older keystroke
        popup.innerHTML = html;
        popup.hidden = !html;
        input.setAttribute("aria-expanded", String(options().length > 0));
        active = -1;
        if (options().length) highlight(0);
      });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (popup.hidden || !options().length) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        event.preventDefault();
        choose(options()[active]);
      } else if (event.key === "Escape") { event.preventDefault(); close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    popup.addEventListener("mousedown", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) { event.preventDefault(); choose(option); }
    });
  }

  function onReady(root) {
    root.querySelectorAll("[data-mentions], [data-user-picker]").forEach(setup);
  }
  document.addEventListener("DOMContentLoaded", function () { onReady(document); });
  document.addEventListener("htmx:load", function (event) { onReady(event.target); });
})();

// A record's overview: after "load more" (htmx), the focus moves to the first new entry, so
// keyboard and screen-reader users continue where the list grew.
document.addEventListener("htmx:load", function () {
  var first = document.querySelector("[data-overview-first]");
  if (!first) return;
  first.removeAttribute("data-overview-first");
  first.focus();
});
