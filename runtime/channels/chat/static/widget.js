/* Tangram web chat widget: one script tag, no framework.
 *   <script src="https://host/chat/widget.js" data-channel="<app_key>/<channel_key>" async></script>
 * Optional: data-lang="zh-CN|en", data-name, data-email and data-signature (a signed-in
 * visitor, HMAC-SHA256 of the e-mail with the channel's secret).
 * Protocol: runtime/channels/chat/README.md. */
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector('script[data-channel][src*="/chat/widget.js"]');
  if (!script || window.__tangramChat) return;
  window.__tangramChat = true;
  var channel = script.getAttribute("data-channel") || "";
  if (!/^[a-z][a-z0-9_]*\/[a-z0-9_-]+$/i.test(channel)) return;
  var base = new URL(script.src, location.href);
  var socketUrl = base.origin.replace(/^http/, "ws") + "/chat/ws/" + channel;
  var pageLang = script.getAttribute("data-lang") || document.documentElement.lang ||
    navigator.language || "en";
  var zh = /^zh/i.test(pageLang);
  var T = zh ? {
    open: "在线客服", title: "在线客服", close: "关闭", send: "发送", name: "称呼",
    email: "邮箱", phone: "电话", placeholder: "请输入消息…", online: "客服在线",
    offline: "客服不在线", typing: "客服正在输入…", you: "我", agent: "客服",
    leave: "留言", left: "已收到您的留言，我们会尽快通过邮件回复您。",
    reconnecting: "连接中断，正在重新连接…", optional: "（选填）", required: "（必填）"
  } : {
    open: "Chat with us", title: "Chat", close: "Close", send: "Send", name: "Name",
    email: "E-mail", phone: "Phone", placeholder: "Type a message…", online: "We are online",
    offline: "We are offline", typing: "An agent is typing…", you: "You", agent: "Agent",
    leave: "Leave a message", left: "Thanks, we got your message and will answer by e-mail.",
    reconnecting: "Connection lost, reconnecting…", optional: " (optional)", required: " (required)"
  };
  var storeKey = "tangram-chat:" + channel;
  var saved = {};
  try { saved = JSON.parse(localStorage.getItem(storeKey) || "{}") || {}; } catch (e) { saved = {}; }
  var state = { token: saved.token || null, seq: 0, online: false, ask: {}, profile: {},
                socket: null, retry: 0, typingAt: 0, welcomed: false, shown: {} };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }
  function save() {
    try { localStorage.setItem(storeKey, JSON.stringify({ token: state.token })); } catch (e) { /* private mode */ }
  }

  // --- the widget ---------------------------------------------------------------------------
  var host = el("div", { "data-tangram-chat": channel });
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(el("link", { rel: "stylesheet", href: base.origin + "/chat/widget.css" }));
  var launcher = el("button", { type: "button", class: "tc-launcher", "aria-expanded": "false",
                                "aria-controls": "tc-panel" }, T.open);
  var panel = el("section", { id: "tc-panel", class: "tc-panel", role: "dialog",
                              "aria-label": T.title, hidden: "" });
  var head = el("header", { class: "tc-head" });
  head.appendChild(el("h2", { class: "tc-title" }, T.title));
  var closer = el("button", { type: "button", class: "tc-close", "aria-label": T.close }, "×");
  head.appendChild(closer);
  var status = el("p", { class: "tc-status", role: "status" });
  var notice = el("p", { class: "tc-notice" });
  var log = el("ol", { class: "tc-log", role: "log", "aria-live": "polite" });
  var typing = el("p", { class: "tc-typing", hidden: "" }, T.typing);
  var form = el("form", { class: "tc-form", novalidate: "" });
  var fields = el("div", { class: "tc-fields" });
  function field(name, type, label) {
    var wrap = el("label", { class: "tc-field", "data-field": name });
    var caption = el("span", {}, label);
    var input = el("input", { name: name, type: type, autocomplete: name === "name" ? "name" : name === "email" ? "email" : "tel" });
    wrap.appendChild(caption); wrap.appendChild(input);
    fields.appendChild(wrap);
    return { wrap: wrap, caption: caption, input: input, label: label };
  }
  var nameField = field("name", "text", T.name);
  var emailField = field("email", "email", T.email);
  var phoneField = field("phone", "tel", T.phone);
  var error = el("p", { class: "tc-error", role: "alert" });
  var box = el("textarea", { name: "body", rows: "2", maxlength: "4000", placeholder: T.placeholder,
                             "aria-label": T.placeholder });
  var sendButton = el("button", { type: "submit", class: "tc-send" }, T.send);
  form.appendChild(fields); form.appendChild(error); form.appendChild(box); form.appendChild(sendButton);
  [head, status, notice, log, typing, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(launcher); root.appendChild(panel);
  (document.body || document.documentElement).appendChild(host);

  function toggle(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { box.focus(); connect(); }
  }
  launcher.addEventListener("click", function () { toggle(panel.hidden); });
  closer.addEventListener("click", function () { toggle(false); launcher.focus(); });

  function offlineMode() { return state.welcomed && !state.online; }
  function render() {
    status.textContent = state.welcomed ? (state.online ? T.online : T.offline) : "";
    status.className = "tc-status " + (state.online ? "is-online" : "is-offline");
    notice.textContent = offlineMode() ? state.offlineText : (state.seq ? "" : state.greeting || "");
    var p = state.profile || {};
    nameField.wrap.hidden = !!p.name;
    emailField.wrap.hidden = !!p.email || !(state.ask.email || offlineMode());
    phoneField.wrap.hidden = !!p.phone || !state.ask.phone;
    emailField.caption.textContent = T.email + (offlineMode() ? T.required : T.optional);
    nameField.caption.textContent = T.name + T.optional;
    phoneField.caption.textContent = T.phone + T.optional;
    emailField.input.required = offlineMode();
    sendButton.textContent = offlineMode() ? T.leave : T.send;
  }

  function show(frame) {
    if (state.shown[frame.seq]) return;
    state.shown[frame.seq] = true;
    state.seq = Math.max(state.seq, frame.seq);
    var item = el("li", { class: "tc-msg tc-msg--" + frame.author, "data-seq": String(frame.seq) });
    var who = frame.author === "visitor" ? T.you : (frame.name || T.agent);
    item.appendChild(el("span", { class: "tc-who" }, who));
    item.appendChild(el("span", { class: "tc-body" }, frame.body));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    if (frame.author === "agent") typing.hidden = true;
    render();
  }

  // --- the socket ---------------------------------------------------------------------------
  function send(frame) {
    if (state.socket && state.socket.readyState === 1) { state.socket.send(JSON.stringify(frame)); return true; }
    return false;
  }
  function connect() {
    if (state.socket) return;
    var socket = new WebSocket(socketUrl);
    state.socket = socket;
    socket.onopen = function () {
      var hello = { type: "hello", lang: zh ? "zh-CN" : "en", token: state.token, since: state.seq };
      var signed = script.getAttribute("data-signature");
      if (signed) {
        hello.email = script.getAttribute("data-email");
        hello.name = script.getAttribute("data-name");
        hello.signature = signed;
      }
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "welcome") {
        state.retry = 0; state.welcomed = true;
        state.token = frame.token; save();
        state.online = !!frame.online; state.ask = frame.ask || {};
        state.profile = frame.profile || {};
        state.greeting = frame.greeting; state.offlineText = frame.offline;
        error.textContent = "";
        render();
      } else if (frame.type === "message") {
        show(frame);
      } else if (frame.type === "presence") {
        state.online = !!frame.online; render();
      } else if (frame.type === "typing") {
        typing.hidden = false;
        clearTimeout(state.typingTimer);
        state.typingTimer = setTimeout(function () { typing.hidden = true; }, 4000);
      } else if (frame.type === "profile") {
        state.profile = frame; render();
      } else if (frame.type === "offline_ok") {
        notice.textContent = T.left;
      } else if (frame.type === "error") {
        error.textContent = frame.message || frame.code;
      }
    };
    socket.onclose = function () {
      state.socket = null;
      if (!state.welcomed && state.retry > 5) return;
      status.textContent = T.reconnecting;
      var wait = Math.min(30000, 1000 * Math.pow(2, state.retry++));
      setTimeout(connect, wait);
    };
  }

  box.addEventListener("input", function () {
    var now = Date.now();
    if (!offlineMode() && now - state.typingAt > 3000) { state.typingAt = now; send({ type: "typing" }); }
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = box.value.trim();
    if (!body) return;
    var frame = { type: offlineMode() ? "offline" : "message", body: body };
    [nameField, emailField, phoneField].forEach(function (f) {
      if (!f.wrap.hidden && f.input.value.trim()) frame[f.input.name] = f.input.value.trim();
    });
    if (offlineMode() && !frame.email) { error.textContent = T.email + T.required; emailField.input.focus(); return; }
    error.textContent = "";
    if (send(frame)) box.value = "";
  });
  if (state.token) connect();  // a returning visitor: pick up replies that came meanwhile
})();
