// On the acknowledgement of a sent escalation: the draft kept in this browser is done with.
// The page names the storage key: <div data-clear-draft="benchside-escalation-draft-7" hidden>
(function () {
  "use strict";
  document.querySelectorAll("[data-clear-draft]").forEach(function (element) {
    try { localStorage.removeItem(element.dataset.clearDraft); } catch (e) {}
  });
})();
