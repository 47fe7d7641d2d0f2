// A field that becomes mandatory for one choice of a select, declared in the markup:
//   <select data-requires="model-7" data-requires-when="catalogue_error">
// The field with that id gets `required` while that value is chosen. The server checks anyway.
(function () {
  "use strict";
  document.querySelectorAll("select[data-requires]").forEach(function (select) {
    var target = document.getElementById(select.dataset.requires);
    if (!target) return;
    var update = function () {
      target.required = select.value === select.dataset.requiresWhen;
    };
    select.addEventListener("change", update);
    update();
  });
})();
