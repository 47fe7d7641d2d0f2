// Reading a rating plate's barcode with the phone's camera, where the browser can (the
// BarcodeDetector API with getUserMedia: Chrome on Android, for one). Where it cannot, nothing
// is added and the fields are typed as always.
//
//   <input data-scan="model">    a "Scan" button beside it; the decoded model number fills it
//   <input data-scan="serial">   the same for the serial number
//   <input data-scan="number">   any number (the search box): the model if the code names one
//   data-scan-submit             sends the field's form once it is filled
//
// What a code may hold (decode() below):
//   1. just the number: it fills the field whose button was pressed;
//   2. labelled values, as plates print them in a QR or Data Matrix code:
//      "MODEL: KDL-55W800C SN: 4012345", "Model No.=KDL-55W800C;S/N=4012345" (labels model,
//      model no, model number, mdl, m/n, type; serial, serial no, serial number, s/n, sn, ser;
//      then ":" "=" or "#"; pairs apart by spaces, new lines, ";" "," "|" "&" or a GS character);
//   3. a web address with them as query parameters: https://example.com/p?model=KDL-55W800C&sn=4012345;
//   4. GS1 element strings: AI 240 (the maker's product id) is the model, AI 21 the serial, in
//      the printed form "(01)04012345678901(240)KDL-55W800C(21)4012345" or as scanned, with GS
//      separators and an optional "]d2"/"]Q3"/"]C1" prefix; AIs 01, 10, 11, 17 are skipped.
//   A code with a model and a serial fills both fields of the form (model and serial), whichever
//   button was pressed.
// The camera is switched off as soon as a code is read, the dialogue is closed or it fails.
(function () {
  "use strict";

  var MODEL_KEYS = ["model number", "model no.", "model no", "model", "mdl", "m/n", "type"];
  var SERIAL_KEYS = ["serial number", "serial no.", "serial no", "serial", "ser.", "ser", "s/n", "sn"];

  function clean(value) {
    // Control characters (GS and the like) never belong in a number a person would type.
    return value.replace(/[\u0000-\u001f\u007f]+/g, " ").replace(/\s+/g, " ").trim();
  }

  function escape(text) { return text.replace(/[.*+?^${}()|[\]\\\/]/g, "\\$&"); }

  function labelled(raw) {
    var keys = MODEL_KEYS.concat(SERIAL_KEYS).map(escape).join("|");
    var pattern = new RegExp("(^|[^a-z0-9])(" + keys + ")\\s*[:=#]", "gi");
    var marks = [];
    var match;
    while ((match = pattern.exec(raw)) !== null) {
      marks.push({ key: match[2].toLowerCase(), from: match.index + match[1].length, to: pattern.lastIndex });
    }
    var found = {};
    marks.forEach(function (mark, i) {
      var end = i + 1 < marks.length ? marks[i + 1].from : raw.length;
      var value = clean(raw.slice(mark.to, end).replace(/[\s;,|&\u001d]+$/, ""));
      var kind = MODEL_KEYS.indexOf(mark.key) >= 0 ? "model" : "serial";
      if (value && !found[kind]) found[kind] = value;
    });
    return found;
  }

  function fromAddress(raw) {
    if (!/^https?:\/\//i.test(raw)) return {};
    var found = {};
    try {
      new URL(raw).searchParams.forEach(function (value, key) {
        key = key.toLowerCase().replace(/_/g, " ");
        var kind = MODEL_KEYS.indexOf(key) >= 0 ? "model" : SERIAL_KEYS.indexOf(key) >= 0 ? "serial" : null;
        if (kind && clean(value) && !found[kind]) found[kind] = clean(value);
      });
    } catch (e) { return {}; }
    return found;
  }

  var GS1_FIXED = { "01": 14, "11": 6, "17": 6 };
  var GS1_NAMES = { "240": "model", "21": "serial" };

  function gs1(raw) {
    var found = {};
    var printed = /^\(\d{2,4}\)/.test(raw);
    if (printed) {
      var pattern = /\((\d{2,4})\)([^(]*)/g;
      var match;
      while ((match = pattern.exec(raw)) !== null) {
        if (GS1_NAMES[match[1]] && clean(match[2])) found[GS1_NAMES[match[1]]] = clean(match[2]);
      }
      return found;
    }
    var body = raw.replace(/^\][dQC][0-9]/, "");
    if (body === raw && !(raw.indexOf("\u001d") >= 0 && /^01\d{14}/.test(raw))) return {};
    var at = 0;
    while (at < body.length) {
      if (body[at] === "\u001d") { at += 1; continue; }
      var ai = body.substr(at, 3) === "240" ? "240" : body.substr(at, 2);
      if (GS1_FIXED[ai]) { at += ai.length + GS1_FIXED[ai]; continue; }
      if (!GS1_NAMES[ai] && ai !== "10") break;
      var end = body.indexOf("\u001d", at);
      if (end < 0) end = body.length;
      var value = clean(body.slice(at + ai.length, end));
      if (GS1_NAMES[ai] && value) found[GS1_NAMES[ai]] = value;
      at = end;
    }
    return found;
  }

  /** The model and serial a code holds ({model, serial}, either may be missing), or {plain}. */
  function decode(raw) {
    var attempts = [gs1(raw), fromAddress(raw), labelled(raw)];
    for (var i = 0; i < attempts.length; i++) {
      if (attempts[i].model || attempts[i].serial) return attempts[i];
    }
    return { plain: clean(raw) };
  }

  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var inputs = document.querySelectorAll("input[data-scan]");
  if (!inputs.length) return;

  var NAMES = { model: "Scan the model number", serial: "Scan the serial number", number: "Scan a number to look up" };
  var dialog = null;
  var video = null;
  var status = null;
  var stream = null;
  var timer = null;
  var target = null;

  function stop() {
    clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    if (video) video.srcObject = null;
  }

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "scan-dialog";
    dialog.setAttribute("aria-labelledby", "scan-title");
    var title = document.createElement("h2");
    title.id = "scan-title";
    video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    video.setAttribute("aria-hidden", "true");
    status = document.createElement("p");
    status.setAttribute("role", "status");
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Type it instead";
    // The camera goes off at once: the dialogue's close event comes a moment later.
    cancel.addEventListener("click", function () { stop(); dialog.close(); });
    dialog.append(title, video, status, cancel);
    dialog.addEventListener("close", function () {
      stop();
      if (target) target.input.focus();
    });
    document.body.appendChild(dialog);
  }

  function fill(input, value) {
    var max = input.maxLength > 0 ? input.maxLength : value.length;
    input.value = value.slice(0, max);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function partner(input, kind) {
    var scope = input.form || document;
    return kind === input.dataset.scan ? input : scope.querySelector('input[data-scan="' + kind + '"]');
  }

  function read(raw) {
    var code = decode(raw);
    var input = target.input;
    var kind = input.dataset.scan;
    var said = [];
    if (code.plain !== undefined) {
      fill(input, code.plain);
      said.push(code.plain);
    } else if (kind === "number") {
      // The search box: a model finds the unit's parts; a serial alone is still a number.
      fill(input, code.model || code.serial);
      said.push(code.model || code.serial);
    } else {
      ["model", "serial"].forEach(function (part) {
        var field = partner(input, part);
        if (field && code[part]) {
          fill(field, code[part]);
          said.push(part + " " + code[part]);
        }
      });
    }
    target.note.textContent = "Read from the barcode: " + said.join(", ") + ".";
    var submit = input.hasAttribute("data-scan-submit") && input.form;
    stop();
    dialog.close();
    if (submit) input.form.requestSubmit();
  }

  function look(detector) {
    if (!stream) return;
    if (video.readyState < 2) { timer = setTimeout(function () { look(detector); }, 150); return; }
    detector.detect(video).then(function (codes) {
      if (!stream) return;
      var code = codes.filter(function (c) { return c.rawValue && c.rawValue.trim(); })[0];
      if (code) read(code.rawValue);
      else timer = setTimeout(function () { look(detector); }, 150);
    }, function () {
      if (stream) timer = setTimeout(function () { look(detector); }, 300);
    });
  }

  function open(button, input, note) {
    if (!dialog) build();
    target = { input: input, note: note };
    dialog.querySelector("h2").textContent = NAMES[input.dataset.scan] || "Scan a barcode";
    status.textContent = "Opening the camera…";
    dialog.showModal();
    var detector;
    try { detector = new window.BarcodeDetector(); } catch (e) {
      status.textContent = "This browser cannot read barcodes: type the number.";
      return;
    }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (media) {
        if (!dialog.open) { media.getTracks().forEach(function (track) { track.stop(); }); return; }
        stream = media;
        video.srcObject = media;
        status.textContent = "Hold the barcode on the rating plate in front of the camera.";
        return video.play().then(function () { look(detector); });
      })
      .catch(function (error) {
        stop();
        status.textContent = (error && error.name === "NotAllowedError")
          ? "The camera is not allowed for this site: type the number, or allow the camera in the browser's settings."
          : "The camera could not be opened: type the number.";
      });
  }

  window.BarcodeDetector.getSupportedFormats().then(function (formats) {
    if (!formats || !formats.length) return;
    inputs.forEach(function (input) {
      var row = document.createElement("span");
      row.className = "scan-row";
      input.parentNode.insertBefore(row, input);
      row.appendChild(input);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "scan-button";
      button.textContent = "Scan";
      button.setAttribute("aria-label", NAMES[input.dataset.scan] || "Scan a barcode");
      row.appendChild(button);
      var note = document.createElement("span");
      note.className = "scan-note";
      note.setAttribute("role", "status");
      row.parentNode.insertBefore(note, row.nextSibling);
      button.addEventListener("click", function () { open(button, input, note); });
    });
  }, function () { /* no formats known: the fields stay as they are */ });
})();
