// The list page: select all rows, and show the second filter value only for "between".
(function () {
  "use strict";

  function syncSlots(root) {
    root.querySelectorAll("select[data-filter-op]").forEach(function (select) {
      var option = select.options[select.selectedIndex];
      var inputs = option ? Number(option.getAttribute("data-inputs")) : 1;
      var box = select.closest(".filter-bar__inputs") || document;
      box.querySelectorAll("[data-filter-slot]").forEach(function (slot) {
        slot.hidden = Number(slot.getAttribute("data-filter-slot")) > inputs;
      });
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-pick-all]")) {
      var form = target.closest("form");
      form.querySelectorAll('input[name="pick"]').forEach(function (box) { box.checked = target.checked; });
    } else if (target.matches("select[data-filter-op]")) {
      syncSlots(target.closest(".filter-bar__inputs"));
    }
  });
  document.addEventListener("DOMContentLoaded", function () { syncSlots(document); });
  document.addEventListener("htmx:load", function (event) { syncSlots(event.target); });
})();
