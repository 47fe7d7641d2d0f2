// Keep what is typed in the escalation form: in the browser's storage at every keystroke, and on
// the server every few seconds (the browser's storage alone does not survive a crash reliably).
// Restored after a reload if the page came back empty; cleared once the escalation is sent.
(function () {
  "use strict";
  var form = document.getElementById("escalation-form");
  if (!form) return;
  var key = "benchside-escalation-draft-" + form.dataset.user;
  var fields = ["subject", "category", "model_number", "serial", "priority", "description", "diagnostic_session"];
  var state = document.getElementById("draft-state");
  var dirty = false;
  var token = form.querySelector("input[name=csrf_token]").value;

  function collect() {
    var data = {};
    fields.forEach(function (name) { var el = form.elements[name]; if (el) data[name] = el.value; });
    return data;
  }
  try {
    var saved = JSON.parse(localStorage.getItem(key) || "null");
    var sameWalk = saved && (saved.diagnostic_session || "") === (form.elements.diagnostic_session.value || "");
    if (sameWalk && !(form.elements.subject.value || form.elements.description.value)) {
      fields.forEach(function (name) { if (saved[name] && form.elements[name]) form.elements[name].value = saved[name]; });
      state.textContent = "Your unsent draft is back.";
    }
  } catch (e) {}
  form.addEventListener("input", function () {
    dirty = true;
    try { localStorage.setItem(key, JSON.stringify(collect())); } catch (e) {}
  });
  setInterval(function () {
    if (!dirty) return;
    dirty = false;
    fetch(form.dataset.draft, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(collect())
    }).then(function (r) {
      // An expired sign-in answers with the sign-in page: not saved, though it looks fine.
      if (r.ok && !r.redirected) {
        state.textContent = "Draft saved " + new Date().toLocaleTimeString() + ".";
      } else {
        dirty = true;
        state.textContent = r.redirected
          ? "Your sign-in has expired: the draft is kept in this browser, and sending the form keeps it through signing in again."
          : "The draft could not be saved on the server; it is kept in this browser.";
      }
    }).catch(function () { dirty = true; });
  }, 3000);
  // Files upload on their own as soon as they are chosen: one refused (too large, wrong type)
  // is named, and neither the text nor the other files are touched.
  var filesField = document.getElementById("files-field");
  if (filesField) {
    var input = filesField.querySelector("input[type=file]");
    var listed = filesField.querySelector(".attached");
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file) {
        var item = document.createElement("li");
        item.textContent = file.name + " · uploading…";
        listed.appendChild(item);
        var body = new FormData();
        body.append("file", file);
        fetch(filesField.dataset.upload, {
          method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token }, body: body
        }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
          .then(function (result) {
            item.textContent = result.ok ? file.name + " · attached" : result.data.error;
            if (!result.ok) item.className = "error";
          }).catch(function () { item.textContent = file.name + " · could not be sent; try again"; });
      });
      input.value = "";
    });
  }

  // Guided fixes that match the subject, beside the form: only what the search finds relevant
  // (it answers nothing rather than noise), never a step to pass.
  var aside = document.getElementById("may-help");
  var timer = null;
  form.elements.subject.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = form.elements.subject.value.trim();
      if (q.length < 4 || !aside) return;
      fetch(aside.dataset.suggest + "?kind=trees&q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (data) {
          var list = aside.querySelector("ul");
          list.innerHTML = "";
          (data.suggestions || []).slice(0, 3).forEach(function (s) {
            var li = document.createElement("li");
            var a = document.createElement("a");
            a.href = s.url; a.target = "_blank"; a.rel = "noopener"; a.textContent = s.title;
            li.appendChild(a);
            list.appendChild(li);
          });
          aside.hidden = list.children.length === 0;
        }).catch(function () {});
    }, 400);
  });
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    setTimeout(function () { button.disabled = true; }, 0);  // one click, one ticket
  });
})();
