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

// A selection of users that stays while the person searches and pages
// (kept in the tab's sessionStorage): "N selected", Clear selection, and
// Assign more sends every selected user, not only the ticked rows on
// screen. Assign more stays off while nothing is selected.
(function () {
  "use strict";
  var KEY = "allot.selection.user";

  function load() {
    try {
      var v = JSON.parse(sessionStorage.getItem(KEY) || "[]");
      return Array.isArray(v) ? v : [];
    } catch (e) {
      return [];
    }
  }
  function save(ids) {
    try {
      sessionStorage.setItem(KEY, JSON.stringify(ids));
    } catch (e) {}
  }
  function boxes() {
    var form = document.getElementById("users-form");
    return form ? form.querySelectorAll('input[type=checkbox][name="user"]') : [];
  }
  function render() {
    var bar = document.querySelector('[data-selection="user"]');
    if (!bar) return;
    var ids = load();
    boxes().forEach(function (cb) {
      cb.checked = ids.indexOf(cb.value) >= 0;
    });
    var all = document.getElementById("select-all");
    if (all) {
      var bs = boxes();
      all.checked = bs.length > 0 && Array.prototype.every.call(bs, function (cb) { return cb.checked; });
    }
    var count = document.getElementById("selected-count");
    var clear = document.getElementById("clear-selection");
    var more = document.getElementById("assign-more");
    count.textContent = ids.length.toLocaleString("en-US") + " selected";
    count.hidden = ids.length === 0;
    clear.hidden = ids.length === 0;
    more.disabled = ids.length === 0;
    more.title = ids.length === 0 ? "Select one or more users first" : "";
    document.querySelectorAll("[data-needs-selection]").forEach(function (b) {
      b.disabled = ids.length === 0;
      b.title = more.title;
    });
  }
  function toggle(id, on) {
    var ids = load();
    var i = ids.indexOf(id);
    if (on && i < 0) ids.push(id);
    if (!on && i >= 0) ids.splice(i, 1);
    save(ids);
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (!t.form || t.form.id !== "users-form" || t.type !== "checkbox") return;
    if (t.name === "user") toggle(t.value, t.checked);
    if (t.id === "select-all") {
      boxes().forEach(function (cb) { toggle(cb.value, t.checked); });
    }
    render();
  });
  document.addEventListener("click", function (e) {
    if (e.target.id === "clear-selection") {
      save([]);
      render();
      return;
    }
    var done = e.target.closest && e.target.closest("[data-selection-done]");
    if (done) save([]);
  });
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id !== "users-form") return;
    var ids = load();
    if (ids.length === 0) {
      e.preventDefault();
      return;
    }
    boxes().forEach(function (cb) { cb.disabled = true; });
    ids.forEach(function (id) {
      var h = document.createElement("input");
      h.type = "hidden";
      h.name = "user";
      h.value = id;
      form.appendChild(h);
    });
  });
  window.addEventListener("pageshow", function () {
    boxes().forEach(function (cb) { cb.disabled = false; });
    render();
  });
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:load", render);
})();
