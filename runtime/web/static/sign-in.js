// The sign-in page's demo accounts (shown while demo data is installed): each row's button
// fills the form with that account, then moves the focus to "Sign in" (Enter signs in).
(function () {
  "use strict";
  function fill(button) {
    var form = document.querySelector("form[action='/sign-in']");
    if (!form) return;
    form.elements.username.value = button.getAttribute("data-demo-username") || "";
    form.elements.password.value = button.getAttribute("data-demo-password") || "";
    var submit = form.querySelector("button[type=submit]");
    if (submit) submit.focus();
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-demo-username]");
    if (button) fill(button);
  });
})();
