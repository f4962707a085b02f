// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Move focus to an error summary, crisis panel or notice, so screen readers announce it first.
  var first = document.querySelector("[data-autofocus]");
  if (first) { first.focus(); }

  // Print button: hidden until JavaScript can drive it.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // One submission per click: a second click while the first is sent does nothing.
  document.querySelectorAll("[data-prevent-double-click]").forEach(function (button) {
    button.form.addEventListener("submit", function (event) {
      if (button.dataset.sent) { event.preventDefault(); }
      button.dataset.sent = "1";
    });
  });

  // Idle timeout on shared devices: warn first, then clear the answers from this device.
  var body = document.body;
  var idleSeconds = parseInt(body.dataset.idleSeconds || "0", 10);
  var warnSeconds = parseInt(body.dataset.idleWarningSeconds || "0", 10);
  var dialog = document.getElementById("idle-dialog");
  if (!idleSeconds || !dialog || typeof dialog.showModal !== "function") { return; }
  var warnTimer, endTimer, lastFocus;
  var endForm = dialog.querySelector("[data-idle-end]");
  var token = document.querySelector('meta[name="csrf-token"]').content;

  function schedule() {
    clearTimeout(warnTimer);
    clearTimeout(endTimer);
    warnTimer = setTimeout(warn, Math.max(idleSeconds - warnSeconds, 1) * 1000);
    endTimer = setTimeout(function () { endForm.submit(); }, idleSeconds * 1000);
  }
  function warn() {
    lastFocus = document.activeElement;
    dialog.showModal();
    dialog.querySelector("h2").focus();
  }
  function keepAlive() {
    fetch("/keep-alive", { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin" })
      .then(function (response) { if (response.ok) { schedule(); } });
  }
  dialog.querySelector("[data-idle-continue]").addEventListener("click", function () {
    keepAlive();
    dialog.close();
  });
  dialog.addEventListener("close", function () { if (lastFocus) { lastFocus.focus(); } });
  dialog.addEventListener("cancel", keepAlive);  // Escape also means "I am still here"
  schedule();
})();
