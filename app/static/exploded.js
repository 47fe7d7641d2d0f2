// Exploded views on the model page: tap or click a reference number (on the drawing or in the
// parts list) to see its answer in place; the drawing and the list light up the same reference
// both ways; the drawing pans and zooms by touch (one finger drags, two pinch), mouse wheel and
// the + / − buttons, by changing the SVG's viewBox, so hotspots stay on their parts.
// Without this script every hotspot is still a link to its answer (shown by :target).
(function () {
  "use strict";

  function parseBox(text) {
    var v = text.split(/[\s,]+/).map(Number);
    return { x: v[0], y: v[1], w: v[2], h: v[3] };
  }

  function setUp(section) {
    var svg = section.querySelector(".drawing-svg");
    var viewport = section.querySelector("[data-viewport]");
    if (!svg || !viewport) return;
    var full = parseBox(svg.getAttribute("data-box"));
    var box = { x: full.x, y: full.y, w: full.w, h: full.h };
    section.classList.add("has-script");
    var tools = section.querySelector("[data-tools]");
    if (tools) tools.hidden = false;
    var hint = section.querySelector("[data-hint]");

    function byRef(ref) {
      return section.querySelectorAll('[data-ref="' + CSS.escape(ref) + '"]');
    }

    function light(ref, on) {
      byRef(ref).forEach(function (el) {
        if (el.classList.contains("hotspot-answer")) return;
        el.classList.toggle("is-lit", on);
      });
    }

    function choose(ref, focus) {
      var answer = section.querySelector('.hotspot-answer[data-ref="' + CSS.escape(ref) + '"]');
      if (!answer) return false;
      section.querySelectorAll(".hotspot-answer.shown").forEach(function (el) {
        el.classList.remove("shown");
      });
      section.querySelectorAll(".is-chosen").forEach(function (el) {
        el.classList.remove("is-chosen");
      });
      answer.classList.add("shown");
      byRef(ref).forEach(function (el) {
        if (!el.classList.contains("hotspot-answer")) el.classList.add("is-chosen");
      });
      if (hint) hint.hidden = true;
      if (history.replaceState) history.replaceState(null, "", "#" + answer.id);
      if (focus) {
        answer.focus({ preventScroll: true });
        answer.scrollIntoView({ block: "nearest" });
      }
      return true;
    }

    section.querySelectorAll(".hotspot, .ref-link, tr[data-ref]").forEach(function (el) {
      var ref = el.getAttribute("data-ref");
      if (!ref) return;
      el.addEventListener("mouseenter", function () { light(ref, true); });
      el.addEventListener("mouseleave", function () { light(ref, false); });
      el.addEventListener("focusin", function () { light(ref, true); });
      el.addEventListener("focusout", function () { light(ref, false); });
    });

    var moved = false;
    section.addEventListener("click", function (event) {
      var link = event.target.closest(".hotspot, .ref-link");
      if (!link || !section.contains(link)) return;
      event.preventDefault();
      if (moved) return; // the end of a drag is not a tap
      choose(link.getAttribute("data-ref"), true);
    });

    // Pan and zoom: the viewBox is the camera.
    function apply() {
      svg.setAttribute("viewBox", [box.x, box.y, box.w, box.h].join(" "));
      section.classList.toggle("is-zoomed", box.w < full.w - 1e-9);
    }

    function clamp() {
      box.w = Math.min(Math.max(box.w, full.w / 12), full.w);
      box.h = box.w * full.h / full.w;
      box.x = Math.min(Math.max(box.x, full.x), full.x + full.w - box.w);
      box.y = Math.min(Math.max(box.y, full.y), full.y + full.h - box.h);
    }

    function zoomAt(factor, cx, cy) {
      // (cx, cy): the point in drawing units that stays where it is.
      var w = box.w / factor;
      box.x = cx - (cx - box.x) * (w / box.w);
      box.y = cy - (cy - box.y) * (w / box.w);
      box.w = w;
      clamp();
      apply();
    }

    function toDrawing(clientX, clientY) {
      var rect = svg.getBoundingClientRect();
      return {
        x: box.x + (clientX - rect.left) / rect.width * box.w,
        y: box.y + (clientY - rect.top) / rect.height * box.h,
      };
    }

    if (tools) {
      tools.addEventListener("click", function (event) {
        var button = event.target.closest("button");
        if (!button) return;
        var zoom = button.getAttribute("data-zoom");
        if (zoom === "in") zoomAt(1.5, box.x + box.w / 2, box.y + box.h / 2);
        else if (zoom === "out") zoomAt(1 / 1.5, box.x + box.w / 2, box.y + box.h / 2);
        else if (zoom === "reset") { box = { x: full.x, y: full.y, w: full.w, h: full.h }; apply(); }
        else if (button.hasAttribute("data-print")) window.print();
      });
    }

    viewport.addEventListener("wheel", function (event) {
      if (!event.ctrlKey && !section.classList.contains("is-zoomed") && event.deltaY > 0) return;
      event.preventDefault();
      var p = toDrawing(event.clientX, event.clientY);
      zoomAt(event.deltaY < 0 ? 1.2 : 1 / 1.2, p.x, p.y);
    }, { passive: false });

    var pointers = new Map();
    var start = null;
    viewport.addEventListener("pointerdown", function (event) {
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      moved = false;
      start = snapshot();
    });
    function snapshot() {
      var points = Array.from(pointers.values());
      var s = { box: { x: box.x, y: box.y, w: box.w, h: box.h }, points: points };
      if (points.length === 2) {
        s.distance = Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y);
        s.centre = { x: (points[0].x + points[1].x) / 2, y: (points[0].y + points[1].y) / 2 };
      }
      return s;
    }
    viewport.addEventListener("pointermove", function (event) {
      if (!pointers.has(event.pointerId) || !start) return;
      pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      var rect = svg.getBoundingClientRect();
      var points = Array.from(pointers.values());
      if (points.length === 1 && start.points.length === 1) {
        var dx = points[0].x - start.points[0].x;
        var dy = points[0].y - start.points[0].y;
        if (!moved && Math.hypot(dx, dy) < 8) return; // a tap, not a drag
        if (!moved) viewport.setPointerCapture(event.pointerId);
        moved = true;
        box.x = start.box.x - dx / rect.width * start.box.w;
        box.y = start.box.y - dy / rect.height * start.box.h;
        clamp();
        apply();
      } else if (points.length === 2 && start.distance) {
        moved = true;
        var distance = Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y);
        var factor = distance / start.distance;
        var c = start.centre;
        var cx = start.box.x + (c.x - rect.left) / rect.width * start.box.w;
        var cy = start.box.y + (c.y - rect.top) / rect.height * start.box.h;
        box.w = start.box.w / factor;
        box.x = cx - (cx - start.box.x) / factor;
        box.y = cy - (cy - start.box.y) / factor;
        clamp();
        apply();
      }
    });
    function release(event) {
      pointers.delete(event.pointerId);
      start = pointers.size ? snapshot() : null;
    }
    viewport.addEventListener("pointerup", release);
    viewport.addEventListener("pointercancel", release);

    // Opened at an answer (from the part page's thumbnail, or after adding to the cart).
    var hash = decodeURIComponent(location.hash.slice(1));
    var target = hash && document.getElementById(hash);
    if (target && section.contains(target) && target.classList.contains("hotspot-answer")) {
      choose(target.getAttribute("data-ref"), false);
    }
  }

  document.querySelectorAll("[data-exploded]").forEach(setUp);
})();
