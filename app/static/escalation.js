// Keep what is typed in the escalation form: in the browser's storage at every keystroke, and on
// the server every few seconds and when the page is left (the browser's storage alone does not
// survive a crash reliably). One draft per diagnostic walk. What was typed wins over a walk's
// prefill; of the browser's copy and the server's, the newer wins. Cleared once sent.
(function () {
  "use strict";
  var form = document.getElementById("escalation-form");
  if (!form) return;
  var fields = ["subject", "category", "model_number", "serial", "priority", "description", "diagnostic_session"];
  var walk = form.elements.diagnostic_session.value || "";
  var key = "benchside-escalation-draft-" + form.dataset.user + "-" + walk;
  // prefill (the walk's), draft (the server's), posted (what was just sent), empty
  var source = form.dataset.source;
  var serverSavedAt = Number(form.dataset.savedAt || 0);
  var state = document.getElementById("draft-state");
  var dirty = false;
  var submitting = false;
  var token = form.querySelector("input[name=csrf_token]").value;

  function collect() {
    var data = {};
    fields.forEach(function (name) { var el = form.elements[name]; if (el) data[name] = el.value; });
    return data;
  }
  function keepLocally() {
    var data = collect();
    data.savedAt = Date.now();
    try { localStorage.setItem(key, JSON.stringify(data)); } catch (e) {}
  }
  function save(keepalive) {
    if (!dirty || submitting) return;
    dirty = false;
    fetch(form.dataset.draft, {
      method: "POST", credentials: "same-origin", keepalive: keepalive,
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
  }
  try {
    var saved = JSON.parse(localStorage.getItem(key) || "null");
    var wins = saved && (saved.diagnostic_session || "") === walk && (
      source === "prefill" || source === "empty" ||
      (source === "draft" && (saved.savedAt || 0) > serverSavedAt));
    if (wins) {
      fields.forEach(function (name) {
        if (name in saved && form.elements[name]) form.elements[name].value = saved[name];
      });
      state.textContent = "Your unsent draft is back.";
      dirty = true;
      save(false);  // the server's copy catches up at once
    } else if (source === "draft" || source === "posted") {
      keepLocally();
    }
  } catch (e) {}
  form.addEventListener("input", function () {
    dirty = true;
    keepLocally();
  });
  setInterval(function () { save(false); }, 3000);
  // Leaving the page (the walk's link, another tab, closing it) sends what the interval has not.
  window.addEventListener("pagehide", function () { save(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") save(true);
  });
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
    // The submission carries the text (kept as the draft if refused); a draft saved after it
    // could land after the ticket is open and bring the sent text back.
    submitting = true;
    var button = form.querySelector("button[type=submit]");
    setTimeout(function () { button.disabled = true; }, 0);  // one click, one ticket
  });
})();
