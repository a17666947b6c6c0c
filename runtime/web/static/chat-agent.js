/* The agents' live chat page (/apps/<app>/chat): conversations with unread counts, a
 * transcript and a reply box, over the agents' WebSocket (runtime/channels/chat/README.md). */
(function () {
  "use strict";
  var desk = document.querySelector("[data-chat-desk]");
  if (!desk) return;
  var text = function (name) { return desk.getAttribute("data-text-" + name) || ""; };
  var statusLine = desk.querySelector("[data-chat-status]");
  var list = desk.querySelector("[data-chat-list]");
  var empty = desk.querySelector("[data-chat-empty]");
  var title = desk.querySelector("[data-chat-title]");
  var log = desk.querySelector("[data-chat-log]");
  var typing = desk.querySelector("[data-chat-typing]");
  var form = desk.querySelector("[data-chat-reply]");
  var box = form.querySelector("textarea");
  var error = desk.querySelector("[data-chat-error]");
  var ticket = desk.querySelector("[data-chat-ticket]");
  var ticketLink = desk.querySelector("[data-chat-ticket-link]");
  var conversations = {};
  var current = null;
  var socket = null;
  var retry = 0;
  var typingTimer = null;

  function label(c) { return c.name || c.email || c.phone || text("visitor") + " " + c.id; }
  function send(frame) {
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function renderList() {
    var items = Object.keys(conversations).map(function (k) { return conversations[k]; });
    items.sort(function (a, b) { return a.updated_at < b.updated_at ? 1 : -1; });
    list.textContent = "";
    empty.hidden = items.length > 0;
    items.forEach(function (c) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.setAttribute("data-conversation", String(c.id));
      if (c.id === current) button.setAttribute("aria-current", "true");
      var name = document.createElement("span");
      name.textContent = label(c);
      button.appendChild(name);
      if (c.unread && c.id !== current) {
        var badge = document.createElement("span");
        badge.className = "badge badge--unread";
        badge.setAttribute("data-unread", String(c.unread));
        badge.textContent = " " + c.unread + " " + text("unread");
        button.appendChild(badge);
      }
      var preview = document.createElement("span");
      preview.className = "chat-desk__preview";
      preview.textContent = c.preview || "";
      button.appendChild(preview);
      button.addEventListener("click", function () { open(c.id); });
      li.appendChild(button);
      list.appendChild(li);
    });
  }
  function line(frame) {
    if (log.querySelector('[data-seq="' + frame.seq + '"]')) return;
    var li = document.createElement("li");
    li.setAttribute("data-seq", String(frame.seq));
    li.className = frame.author === "agent" ? "is-agent" : "is-visitor";
    var who = document.createElement("span");
    who.className = "chat-desk__who";
    var c = conversations[current] || {};
    who.textContent = frame.author === "agent" ? (frame.name || "") : label(c);
    var body = document.createElement("span");
    body.textContent = frame.body;
    li.appendChild(who);
    li.appendChild(body);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }
  function open(id) {
    current = id;
    log.textContent = "";
    error.textContent = "";
    title.textContent = label(conversations[id] || { id: id });
    form.hidden = false;
    send({ type: "open", conversation: id });
    renderList();
    box.focus();
  }
  function connect() {
    var url = location.origin.replace(/^http/, "ws") + desk.getAttribute("data-socket");
    socket = new WebSocket(url);
    socket.onopen = function () { retry = 0; statusLine.textContent = text("online"); };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "conversations") {
        conversations = {};
        frame.items.forEach(function (c) { conversations[c.id] = c; });
        renderList();
        if (current !== null) send({ type: "open", conversation: current });
      } else if (frame.type === "conversation") {
        conversations[frame.id] = frame;
        renderList();
      } else if (frame.type === "transcript" && frame.conversation === current) {
        log.textContent = "";
        frame.items.forEach(line);
        ticket.hidden = !frame.ticket_id;
        ticketLink.href = desk.getAttribute("data-ticket-url") + frame.ticket_id;
      } else if (frame.type === "message") {
        if (frame.conversation === current) {
          line(frame);
          if (frame.author === "visitor") { typing.hidden = true; send({ type: "seen", conversation: current, seq: frame.seq }); }
        }
      } else if (frame.type === "typing" && frame.conversation === current) {
        typing.textContent = text("typing");
        typing.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.hidden = true; }, 4000);
      } else if (frame.type === "error") {
        error.textContent = frame.message || frame.code;
      }
    };
    socket.onclose = function () {
      statusLine.textContent = text("lost");
      setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, retry++)));
    };
  }
  var lastTyping = 0;
  box.addEventListener("input", function () {
    var now = Date.now();
    if (current !== null && now - lastTyping > 3000) { lastTyping = now; send({ type: "typing", conversation: current }); }
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = box.value.trim();
    if (!body || current === null) return;
    error.textContent = "";
    if (send({ type: "reply", conversation: current, body: body })) box.value = "";
  });
  connect();
})();
