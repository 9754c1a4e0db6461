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
// (kept in the tab's sessionStorage, one per selecting form: Active users,
// and each product's Assigned users): "N selected", Clear selection, and
// the form's buttons send every selected user, not only the ticked rows on
// screen. The buttons stay off while nothing is selected.
(function () {
  "use strict";
  function form() {
    return document.getElementById("users-form") || document.querySelector("form[data-selection-key]");
  }
  function key(name) {
    return "allot.selection." + name;
  }
  function current() {
    var f = form();
    return f ? key(f.getAttribute("data-selection-key") || "user") : "";
  }
  function load() {
    try {
      var v = JSON.parse(sessionStorage.getItem(current()) || "[]");
      return Array.isArray(v) ? v : [];
    } catch (e) {
      return [];
    }
  }
  function save(ids, k) {
    try {
      sessionStorage.setItem(k || current(), JSON.stringify(ids));
    } catch (e) {}
  }
  function boxes() {
    var f = form();
    if (!f) return [];
    return Array.prototype.filter.call(f.elements, function (el) {
      return el.type === "checkbox" && el.name === "user";
    });
  }
  function render() {
    var f = form();
    var count = document.getElementById("selected-count");
    if (!f || !count) return;
    var ids = load();
    var bs = boxes();
    bs.forEach(function (cb) {
      cb.checked = ids.indexOf(cb.value) >= 0;
    });
    var all = document.getElementById("select-all");
    if (all) {
      all.checked = bs.length > 0 && bs.every(function (cb) { return cb.checked; });
    }
    var clear = document.getElementById("clear-selection");
    count.textContent = ids.length.toLocaleString("en-US") + " selected";
    count.hidden = ids.length === 0;
    clear.hidden = ids.length === 0;
    var title = ids.length === 0 ? "Select one or more users first" : "";
    document.querySelectorAll("#assign-more, [data-needs-selection]").forEach(function (b) {
      b.disabled = ids.length === 0;
      b.title = title;
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
    if (!t.form || t.form !== form() || t.type !== "checkbox") return;
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
    if (done) save([], key(done.getAttribute("data-selection-done")));
  });
  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (f !== form()) return;
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
      f.appendChild(h);
    });
  });
  window.addEventListener("pageshow", function () {
    boxes().forEach(function (cb) { cb.disabled = false; });
    render();
  });
  document.addEventListener("DOMContentLoaded", render);
  document.addEventListener("htmx:load", render);
})();
