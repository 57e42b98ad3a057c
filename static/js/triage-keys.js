/* The triage queue and the request list: 「すべて選択」, the bulk form's fields for the chosen
   action, and keyboard shortcuts (j/k move, x select, r refer, e escalate, a answer, / search,
   ? help; ignored while typing in a field). No dependencies. */
(function () {
  "use strict";

  function rowsOf(table) {
    return Array.prototype.filter.call(table.querySelectorAll("tbody tr[data-request-id]"), function (row) {
      return !row.hidden;
    });
  }

  function boxesOf(table) {
    return Array.prototype.slice.call(table.querySelectorAll('input[type="checkbox"][name="ids"]'));
  }

  function showFields(form) {
    var select = form.querySelector(".bulk-action select");
    if (!select) return;
    var chosen = select.value;
    form.querySelectorAll(".bulk-fields").forEach(function (box) {
      box.hidden = box.getAttribute("data-bulk-for") !== chosen;
    });
  }

  function updateCount(table, form) {
    var boxes = boxesOf(table);
    var checked = boxes.filter(function (b) { return b.checked; }).length;
    var all = table.querySelector(".select-all");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    var count = form && form.querySelector(".bulk-count");
    if (count) count.textContent = checked ? (form.getAttribute("data-count-label") || "{n}").replace("{n}", checked) : "";
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function init() {
    var table = document.querySelector("[data-triage] table.selectable");
    if (!table) return;
    var form = document.getElementById(table.getAttribute("data-bulk-form"));
    var help = document.getElementById("shortcuts-help");
    var search = document.getElementById("triage-search") || document.querySelector('input[name="q"]');
    var current = -1;

    var all = table.querySelector(".select-all");
    if (all) {
      all.addEventListener("change", function () {
        boxesOf(table).forEach(function (box) {
          if (!box.closest("tr").hidden) box.checked = all.checked;
        });
        updateCount(table, form);
      });
    }
    table.addEventListener("change", function (event) {
      if (event.target.name === "ids") updateCount(table, form);
    });
    if (form) {
      var select = form.querySelector(".bulk-action select");
      if (select) select.addEventListener("change", function () { showFields(form); });
      showFields(form);
    }
    updateCount(table, form);

    var filter = document.getElementById("triage-search");
    if (filter) {
      filter.addEventListener("input", function () {
        var words = filter.value.trim().toLowerCase();
        table.querySelectorAll("tbody tr[data-request-id]").forEach(function (row) {
          row.hidden = words !== "" && row.textContent.toLowerCase().indexOf(words) === -1;
        });
      });
    }

    function move(step) {
      var rows = rowsOf(table);
      if (!rows.length) return;
      rows.forEach(function (row) { row.classList.remove("current"); });
      current = Math.max(0, Math.min(rows.length - 1, current + step));
      var row = rows[current];
      row.classList.add("current");
      row.setAttribute("tabindex", "-1");
      row.focus();
    }

    function currentRow() {
      var rows = rowsOf(table);
      return current >= 0 && current < rows.length ? rows[current] : null;
    }

    function act(action) {
      if (!form) return;
      var chosen = boxesOf(table).filter(function (b) { return b.checked; });
      var row = currentRow();
      if (!chosen.length && row) {
        var box = row.querySelector('input[name="ids"]');
        if (box) { box.checked = true; updateCount(table, form); }
      }
      var select = form.querySelector(".bulk-action select");
      if (!select) return;
      select.value = action;
      showFields(form);
      var first = form.querySelector('.bulk-fields[data-bulk-for="' + action + '"] input, .bulk-fields[data-bulk-for="' + action + '"] select, .bulk-fields[data-bulk-for="' + action + '"] textarea');
      (first || select).focus();
    }

    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (help && help.open) return; /* Esc closes the dialog (native) */
      var key = event.key;
      if (key === "j") move(1);
      else if (key === "k") move(-1);
      else if (key === "x") {
        var row = currentRow();
        var box = row && row.querySelector('input[name="ids"]');
        if (!box) return;
        box.checked = !box.checked;
        updateCount(table, form);
      } else if (key === "r") act("refer");
      else if (key === "e") act("escalate");
      else if (key === "a") act("answer");
      else if (key === "/") { if (!search) return; search.focus(); }
      else if (key === "?") { if (!help || !help.showModal) return; help.showModal(); }
      else return;
      event.preventDefault();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
