// Find a part while writing a fix: suggestions from the catalogue search, each with an "Add"
// button that appends "NUMBER x 1" to the parts list. The parts field works without this.
(function () {
  "use strict";
  var box = document.querySelector(".part-lookup");
  if (!box) return;
  var input = box.querySelector("input");
  var list = box.querySelector(".part-results");
  var parts = document.querySelector("textarea[name=parts]");
  var timer = null;
  var latest = 0;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (q.length < 2) { list.innerHTML = ""; return; }
      var ticket = ++latest;
      fetch(box.dataset.suggest + "?kind=parts&q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) {
          if (ticket !== latest) return;
          list.innerHTML = "";
          (data.suggestions || []).forEach(function (s) {
            var li = document.createElement("li");
            var add = document.createElement("button");
            add.type = "button";
            add.textContent = "Add";
            add.addEventListener("click", function () {
              parts.value = (parts.value.trim() ? parts.value.trim() + "\n" : "") + s.key + " x 1";
            });
            li.appendChild(add);
            li.appendChild(document.createTextNode(" " + s.key + " " + s.title + (s.note ? " (" + s.note + ")" : "")));
            list.appendChild(li);
          });
        });
    }, 200);
  });
})();
