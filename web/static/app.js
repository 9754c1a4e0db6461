// allot admin center: small enhancements on top of htmx. Every page works
// with plain forms and links too.
(function () {
  "use strict";

  // "Select all users on this page".
  document.addEventListener("change", function (e) {
    var all = e.target.closest && e.target.closest("[data-select-all]");
    if (!all) return;
    var name = all.getAttribute("data-select-all");
    var form = all.form || document;
    form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (cb) {
      cb.checked = all.checked;
    });
  });

  // Close the user panel.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-close]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-close"));
    if (!el) return;
    if (document.querySelector(".split")) {
      var empty = document.createElement("div");
      empty.id = el.id;
      el.replaceWith(empty);
    } else {
      window.location.href = "/users";
    }
  });

  // After htmx puts a panel in place, move keyboard focus to its heading.
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail && e.detail.target;
    if (!target || target.id !== "panel") return;
    var panel = document.getElementById("panel");
    var h = panel && panel.querySelector("[data-autofocus]");
    if (h && !panel.contains(document.activeElement)) h.focus();
  });
})();
