// Grantee pickers the designers share (grants on the roles and permissions page, a
// dashboard's "who can see"): the keys each kind of grantee offers — the draft's roles, the
// organisation's groups, departments and users (the page's "org-choices" JSON block).
(function () {
  "use strict";
  function label(labels) { return window.tangram.conditions.pickLabel(labels); }

  function keys(kind, definition, org) {
    if (kind === "role") return (definition.roles || []).map(function (r) { return { key: r.key, label: label(r.name) || r.key }; });
    if (kind === "group") return org.groups || [];
    if (kind === "department") return org.departments || [];
    if (kind === "user") return (org.users || []).map(function (u) { return { key: u.key, label: u.label + " (" + u.key + ")" }; });
    return [];
  }

  // The choices for one grantee's key: its kind's keys, with a key they do not list (a global
  // role, a user beyond the list) kept first so that it stays chosen.
  function options(kind, current, definition, org) {
    var found = keys(kind, definition, org);
    var known = found.some(function (o) { return o.key === current; });
    return !known && current ? [{ key: current, label: current }].concat(found) : found;
  }

  window.tangram = window.tangram || {};
  window.tangram.grantees = { keys: keys, options: options };
})();
