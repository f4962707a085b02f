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

  // Follow-up questions on the same page: the server says which questions the answers so far open
  // (and sends their markup); nothing is saved until Continue. Without JavaScript the page comes back.
  var form = document.querySelector("form[data-preview]");
  if (form && window.fetch && window.FormData) {
    var shownInput = form.querySelector('input[name="shown"]');
    var status = form.querySelector("[data-preview-status]");
    var pending = 0;
    form.addEventListener("change", function () {
      var ticket = ++pending;
      fetch(form.dataset.preview, { method: "POST", body: new FormData(form), credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (found) {
          if (!found || ticket !== pending) { return; }
          var previous = null, added = false;
          found.shown.forEach(function (id) {
            var group = document.getElementById("q-" + id);
            if (!group) {
              var holder = document.createElement("div");
              holder.innerHTML = found.html[id];
              group = holder.firstElementChild;
              if (previous) { previous.after(group); } else { status.after(group); }
              added = true;
            }
            previous = group;
          });
          form.querySelectorAll(".form-group[id^='q-']").forEach(function (group) {
            if (found.shown.indexOf(group.id.slice(2)) < 0) { group.remove(); }
          });
          shownInput.value = found.shown.join(" ");
          if (added) { status.textContent = found.notice; }
        })
        .catch(function () { /* the page still works: Continue asks the server */ });
    });
  }

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
