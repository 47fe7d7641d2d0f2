// Small behaviours every page may use, declared in the markup with data- attributes, so that no
// page needs inline script (the Content-Security-Policy allows scripts from /static only).
//   <select data-autosubmit>     sends its form when the choice changes (a <noscript> button
//                                does the same without JavaScript)
//   <button data-print>          opens the print dialogue
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { if (select.form) select.form.submit(); });
  });
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
