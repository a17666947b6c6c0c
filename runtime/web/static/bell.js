// The top bar's bell: the unread count and a toast for each new notification, live from the
// server-sent events of /events (the server ends the stream when the session ends).
(function () {
  "use strict";

  function start() {
    var bell = document.querySelector("[data-bell]");
    if (!bell || !window.EventSource) return;
    var count = bell.querySelector("[data-bell-count]");
    var label = bell.querySelector("[data-bell-label]");
    var toasts = document.querySelector("[data-toasts]");

    function setCount(n) {
      count.textContent = n > 99 ? "99+" : String(n);
      count.hidden = n === 0;
      label.textContent = n === 0
        ? bell.getAttribute("data-label")
        : bell.getAttribute("data-label-unread").replace("{n}", String(n));
    }

    function toast(item) {
      if (!toasts) return;
      var box = document.createElement("div");
      box.className = "toast";
      var heading = document.createElement("strong");
      heading.textContent = bell.getAttribute("data-new-label") + ": ";
      box.appendChild(heading);
      var title = document.createElement("span");
      title.textContent = item.title;
      box.appendChild(title);
      if (item.url) {
        var link = document.createElement("a");
        link.href = item.url;
        link.textContent = bell.getAttribute("data-open-label");
        box.appendChild(document.createTextNode(" "));
        box.appendChild(link);
      }
      var close = document.createElement("button");
      close.type = "button";
      close.className = "link-button toast__close";
      close.textContent = bell.getAttribute("data-dismiss-label");
      close.addEventListener("click", function () { box.remove(); });
      box.appendChild(close);
      toasts.appendChild(box);
      while (toasts.children.length > 3) toasts.removeChild(toasts.firstChild);
      window.setTimeout(function () { box.remove(); }, 15000);
    }

    var source = new EventSource(bell.getAttribute("data-events"));
    source.addEventListener("unread", function (event) { setCount(JSON.parse(event.data).unread); });
    source.addEventListener("notification", function (event) { toast(JSON.parse(event.data)); });
    source.addEventListener("end", function () { source.close(); });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
