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

  // Close the user panel (its × button, or Escape) and give keyboard focus
  // back to the user's name in the list, which opened it.
  function closePanel(el) {
    if (document.querySelector(".split")) {
      var opener = document.querySelector('[data-opens-panel="' + el.getAttribute("data-user") + '"]');
      var empty = document.createElement("div");
      empty.id = el.id;
      el.replaceWith(empty);
      if (opener) opener.focus();
    } else {
      window.location.href = "/users";
    }
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-close]");
    if (!btn) return;
    var el = document.getElementById(btn.getAttribute("data-close"));
    if (el) closePanel(el);
  });
  // Escape folds the open disclosure (details) that has focus back to its
  // summary; otherwise it closes the user panel (but in a search box it
  // only clears the search, as browsers do).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    var a = document.activeElement;
    if (a && a.matches && a.matches("input[type=search]")) return;
    var open = a && a.closest && a.closest("details[open]");
    if (open) {
      e.preventDefault();
      open.open = false;
      open.querySelector("summary").focus();
      return;
    }
    var el = document.querySelector("#panel.panel");
    if (el && document.querySelector(".split")) {
      e.preventDefault();
      closePanel(el);
    }
  });

  // Enter on a check box ticks or clears it, as Space does, and never
  // submits its form (the browser submits on the key press that follows
  // the key down, unless that is suppressed: stop both).
  function enterOnBox(e) {
    var t = e.target;
    return e.key === "Enter" && t.type === "checkbox" && !(e.altKey || e.ctrlKey || e.metaKey || e.shiftKey);
  }
  document.addEventListener("keydown", function (e) {
    if (!enterOnBox(e)) return;
    e.preventDefault();
    if (!e.target.disabled) e.target.click();
  });
  document.addEventListener("keypress", function (e) {
    if (enterOnBox(e)) e.preventDefault();
  });

  // The assign picker re-renders when a box is ticked, which moves the item
  // from the search results (add-…) to the selection (pick-…) or back: keep
  // keyboard focus on the item.
  var pickFocus = "";
  document.addEventListener("htmx:beforeRequest", function (e) {
    var a = document.activeElement;
    var picker = document.getElementById("picker");
    pickFocus = picker && a && a.id && picker.contains(a) ? a.id : "";
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!pickFocus) return;
    var id = pickFocus.replace(/^(add|pick)-/, "");
    pickFocus = "";
    var el = document.getElementById("pick-" + id) || document.getElementById("add-" + id) || document.getElementById("pick-q");
    if (el && document.activeElement !== el) el.focus();
    var legend = document.querySelector("#picker legend");
    if (legend) announce(legend.textContent);
  });

  // What a partial update says ([data-announce] in the new content) is
  // read out through the page's live region, which stays in place.
  function announce(text) {
    var live = document.getElementById("announce");
    if (!live) return;
    text = text.replace(/\s+/g, " ").trim();
    live.textContent = "";
    setTimeout(function () { live.textContent = text; }, 50);
  }
  document.addEventListener("htmx:load", function (e) {
    var el = e.target;
    if (el === document.body) return;
    var say = el.matches("[data-announce]") ? el : el.querySelector("[data-announce]");
    if (say) announce(say.textContent);
  });
  // A page that opens with a message (the result of a form it was sent,
  // or why it was refused) reads it out too.
  document.addEventListener("DOMContentLoaded", function () {
    var say = document.querySelector("main .msg");
    if (say) setTimeout(function () { announce(say.textContent); }, 300);
  });

  // A table wider than its box scrolls: make the box a named tab stop so
  // that keyboard users can scroll it too (only while it overflows).
  function scrollables() {
    document.querySelectorAll(".scroll").forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1) {
        if (el.getAttribute("tabindex") !== "0") {
          var t = el.querySelector("table[aria-label]");
          el.setAttribute("tabindex", "0");
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", (t ? t.getAttribute("aria-label") : "Table") + " (scrolls sideways)");
        }
      } else if (el.getAttribute("tabindex") === "0") {
        el.removeAttribute("tabindex");
        el.removeAttribute("role");
        el.removeAttribute("aria-label");
      }
    });
  }
  document.addEventListener("DOMContentLoaded", scrollables);
  document.addEventListener("htmx:load", scrollables);
  window.addEventListener("resize", scrollables);

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
      // The button hides: keep keyboard focus in the toolbar's table.
      var all = document.getElementById("select-all");
      if (all) all.focus();
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
