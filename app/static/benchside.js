// Small behaviours every page may use, declared in the markup with data- attributes, so that no
// page needs inline script (the Content-Security-Policy allows scripts from /static only).
//   <select data-autosubmit>     sends its form when the choice changes (a <noscript> button
//                                does the same without JavaScript)
//   <button data-print>          opens the print dialogue
//   <button class="menu-toggle"> folds the main menu on narrow screens (without this script the
//                                button stays hidden and the menu open)
//   <table class="table">        each cell gets its column's heading as data-label, which the
//                                stylesheet shows when a phone stacks the table's rows
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { if (select.form) select.form.submit(); });
  });
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  var toggle = document.querySelector("button.menu-toggle[aria-controls]");
  if (toggle) {
    var setOpen = function (open) { toggle.setAttribute("aria-expanded", open ? "true" : "false"); };
    setOpen(false);
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true"
          && toggle.offsetParent !== null) {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  function text(cell) { return cell.textContent.replace(/\s+/g, " ").trim(); }

  // Stacked, a table is no longer laid out as one, and some browsers (Safari) then stop telling
  // screen readers it is a table: the roles are stated, as the markup already implies them.
  var ROLES = { TABLE: "table", THEAD: "rowgroup", TBODY: "rowgroup", TFOOT: "rowgroup", TR: "row", TD: "cell" };
  document.querySelectorAll("table.table").forEach(function (table) {
    var headings = [];
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (head) {
      Array.prototype.forEach.call(head.cells, function (th) {
        for (var i = 0; i < th.colSpan; i++) headings.push(i === 0 ? text(th) : "");
      });
    }
    table.querySelectorAll("thead, tbody, tfoot, tr, td, th").forEach(function (element) {
      if (element.closest("table") !== table || element.hasAttribute("role")) return;
      if (element.tagName === "TH") {
        element.setAttribute("role", element.parentElement.parentElement.tagName === "THEAD"
          || element.scope === "col" ? "columnheader" : "rowheader");
      } else {
        element.setAttribute("role", ROLES[element.tagName]);
      }
    });
    if (!table.hasAttribute("role")) table.setAttribute("role", "table");
    if (!headings.length) return;
    Array.prototype.forEach.call(table.tBodies, function (body) { label(body.rows); });
    if (table.tFoot) label(table.tFoot.rows);
    function label(rows) {
      Array.prototype.forEach.call(rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          // A cell across several columns (a total, "nothing yet") speaks for itself.
          if (cell.colSpan === 1 && !cell.hasAttribute("data-label") && headings[column]
              && !(cell.tagName === "TH" && cell.scope === "row")) {
            cell.setAttribute("data-label", headings[column]);
          }
          column += cell.colSpan;
        });
      });
    }
  });
})();
