/* KYC face review: keyboard shortcuts, decision dialogs, zoom, queue niceties, polling.
 * Plain JavaScript, no build step, nothing from the network: the pages run under a strict
 * Content-Security-Policy (script-src 'self'), so every behaviour is bound here, not inline. */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function openDialog(dialog) {
    if (!dialog || dialog.open) { return; }
    if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    var focus = $("select, textarea, input:not([type=hidden]), button[type=submit]", dialog);
    if (focus) { focus.focus(); }
  }

  function anyDialogOpen() { return $all("dialog[open]").length > 0; }

  function typing(target) {
    if (!target) { return false; }
    var tag = (target.tagName || "").toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // --- zoom --------------------------------------------------------------------------------
  var photos = $("#photos");
  function zoom(which) {
    if (!photos) { return; }
    photos.classList.add("zoomed");
    photos.setAttribute("data-only", which || "");
    document.body.classList.add("no-scroll");
  }
  function unzoom() {
    if (!photos) { return; }
    photos.classList.remove("zoomed");
    photos.removeAttribute("data-only");
    document.body.classList.remove("no-scroll");
  }
  function zoomed() { return photos && photos.classList.contains("zoomed"); }

  // --- clicks ------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target;
    var opener = target.closest("[data-open-dialog]");
    if (opener) { openDialog(document.getElementById(opener.getAttribute("data-open-dialog"))); return; }
    var decide = target.closest("[data-decide]");
    if (decide) { openDialog(document.getElementById("decide-" + decide.getAttribute("data-decide"))); return; }
    var closer = target.closest("[data-close-dialog]");
    if (closer) { var dialog = closer.closest("dialog"); if (dialog) { dialog.close(); } return; }
    if (target.closest("[data-zoom-close]")) { unzoom(); return; }
    var frame = target.closest("[data-zoom]");
    if (frame) {
      if (zoomed()) { unzoom(); } else { zoom(frame.getAttribute("data-zoom")); }
      return;
    }
    if (zoomed() && target === photos) { unzoom(); return; }
    var row = target.closest("tr[data-href]");
    if (row && !target.closest("a, button, input, select, label")) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  // A click on a modal dialog's backdrop lands on the dialog itself: close it.
  $all("dialog").forEach(function (dialog) {
    dialog.addEventListener("click", function (event) {
      if (event.target !== dialog) { return; }
      var box = dialog.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
        event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) { dialog.close(); }
    });
    if (dialog.getAttribute("data-open") === "1") { openDialog(dialog); }
  });

  // --- forms -------------------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    // One submission per form: a double click never sends a decision twice.
    if (form.getAttribute("data-submitted") === "1") { event.preventDefault(); return; }
    if ((form.method || "").toLowerCase() === "post") {
      form.setAttribute("data-submitted", "1");
      $all("button[type=submit]", form).forEach(function (b) { b.disabled = true; });
    }
  });

  // Coming back through the history (bfcache) must not leave a form disabled.
  window.addEventListener("pageshow", function () {
    $all("form[data-submitted]").forEach(function (form) {
      form.removeAttribute("data-submitted");
      $all("button[type=submit]", form).forEach(function (b) { b.disabled = false; });
    });
  });

  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (!select) { return; }
    var form = select.form;
    $all("select", form).forEach(function (s) { if (!s.value) { s.disabled = true; } });
    form.submit();
  });

  // --- queue: j / k / Enter ----------------------------------------------------------------
  var rows = $all("#queue-table tr[data-href]");
  var current = -1;
  function select(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("selected", i === current); });
    rows[current].scrollIntoView({ block: "nearest" });
  }

  // --- keyboard ----------------------------------------------------------------------------
  function press(key) {
    var button = $('[data-key="' + key + '"]');
    if (button && !button.disabled) { button.click(); return true; }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && zoomed()) { unzoom(); event.preventDefault(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target) || anyDialogOpen()) { return; }
    var key = event.key;
    if (key === "?") { openDialog(document.getElementById("shortcuts")); event.preventDefault(); return; }
    var lower = key.length === 1 ? key.toLowerCase() : key;
    if (lower === "z" && photos) { if (zoomed()) { unzoom(); } else { zoom(""); } event.preventDefault(); return; }
    if (lower === "j") { select(current + 1); event.preventDefault(); return; }
    if (lower === "k") { select(current - 1); event.preventDefault(); return; }
    if (key === "Enter" && current >= 0 && rows[current]) { window.location.href = rows[current].getAttribute("data-href"); return; }
    if (["a", "r", "n", "e", "t"].indexOf(lower) !== -1 && press(lower)) { event.preventDefault(); }
  });

  // --- second opinions: poll the panel until every vendor has answered ---------------------
  var polls = 0;
  function pollOpinions() {
    var panel = $("#opinions");
    if (!panel || panel.getAttribute("data-pending") !== "1" || polls > 90) { return; }
    polls += 1;
    window.setTimeout(function () {
      fetch(panel.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          // DOMParser: a parsed document loads nothing (no image requests, no scripts).
          var fresh = new DOMParser().parseFromString(html, "text/html");
          ["opinions", "attempts"].forEach(function (id) {
            var current = document.getElementById(id);
            var next = fresh.getElementById(id);
            if (current && next) { current.replaceWith(document.importNode(next, true)); }
          });
          pollOpinions();
        })
        .catch(function () { pollOpinions(); });
    }, 2000);
  }
  pollOpinions();
})();
