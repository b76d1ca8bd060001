/* KYC face review: keyboard shortcuts, decision dialogs, zoom, queue niceties, polling.
 * Plain JavaScript, no build step, nothing from the network: the pages run under a strict
 * Content-Security-Policy (script-src 'self'), so every behaviour is bound here, not inline. */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  // A decision dialog docks at the bottom without a backdrop (show, not showModal): the faces
  // stay in view while the reviewer decides. Other dialogs (help) are modal.
  function openDialog(dialog) {
    if (!dialog || dialog.open) { return; }
    var docked = dialog.classList.contains("decide-dialog");
    if (docked && typeof dialog.show === "function") { dialog.show(); }
    else if (typeof dialog.showModal === "function") { dialog.showModal(); }
    else { dialog.setAttribute("open", ""); }
    if (docked) { document.body.classList.add("deciding"); }
    focusFirst(dialog);
  }

  // Approve comes with its usual reason chosen, so its submit button takes the focus (A, Enter);
  // a decision that still needs a reason focuses the reasons (R, 1, Enter).
  function focusFirst(dialog) {
    var radios = $all("input[type=radio]", dialog);
    var chosen = radios.filter(function (r) { return r.checked; })[0];
    var invalid = $("[aria-invalid=true], .field-error", dialog);
    var focus;
    if (radios.length && (!chosen || invalid)) { focus = chosen || radios[0]; }
    else if (!radios.length) { focus = $("textarea, select, input:not([type=hidden])", dialog); }
    focus = focus || $("[data-submit]", dialog) || $("button[type=submit]", dialog);
    if (focus) { focus.focus(); }
  }

  function closeDialog(dialog) {
    dialog.close();
    if (!$("dialog.decide-dialog[open]")) { document.body.classList.remove("deciding"); }
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

  // --- an earlier pair's photos beside this pair's ------------------------------------------
  // The images load only when asked for: each one is a viewing, recorded by the audited view.
  var compare = $("#compare");
  function showCompare(button) {
    if (!compare) { return; }
    ["selfie", "reference"].forEach(function (which) {
      $('[data-compare-img="' + which + '"]', compare).src = button.getAttribute("data-compare-" + which);
    });
    $("[data-compare-label]", compare).textContent =
      button.getAttribute("data-compare-status") + ", " + button.getAttribute("data-compare-when");
    compare.hidden = false;
    if (window.kycShowFullPhotos) { window.kycShowFullPhotos(true); }  // this pair's, to compare
    compare.scrollIntoView({ block: "nearest" });
    $("[data-compare-close]", compare).focus();
  }
  function hideCompare() {
    if (!compare) { return; }
    compare.hidden = true;
    $all("[data-compare-img]", compare).forEach(function (img) { img.removeAttribute("src"); });
  }

  // --- readiness: the bench and the tests wait for this, never for a fixed time --------------
  // `data-faces-ready` on the case root says the faces are on screen: the aligned crops of the
  // faces panel, or the full photos while face work has not drawn the panel yet.
  var caseRoot = $("#case-root");
  function markReadyWhenLoaded() {
    if (!caseRoot) { return; }
    var images = $all(".face-view img");  // the aligned faces when the panel shows them
    if (!images.length) { images = $all(".photo-frame img"); }
    var waiting = images.filter(function (img) { return !(img.complete && img.naturalWidth > 0); });
    if (!waiting.length) {
      if (!caseRoot.hasAttribute("data-faces-ready")) {
        caseRoot.setAttribute("data-faces-ready-at", String(Date.now()));  // read by the bench
        caseRoot.setAttribute("data-faces-ready", "1");
      }
      prepareNext();
      return;
    }
    waiting.forEach(function (img) {
      img.addEventListener("load", markReadyWhenLoaded, { once: true });
      img.addEventListener("error", markReadyWhenLoaded, { once: true });
    });
  }
  // Once this case's faces are on screen, ask the server to make the next case's aligned faces
  // (kept encrypted there; nothing is claimed and nothing comes back but 204), so that after the
  // decision they are served at once. Nothing biometric reaches this browser before the next
  // case is shown, through the audited image view, as always.
  var prepared = false;
  function prepareNext() {
    var url = caseRoot.getAttribute("data-prepare-next");
    var token = $("input[name=csrfmiddlewaretoken]");
    if (prepared || !url || !token || !window.fetch) { return; }
    prepared = true;
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": token.value, "Accept": "text/plain" }
    }).catch(function () { /* only a head start: the next case is made when shown */ });
  }

  markReadyWhenLoaded();
  window.kycMarkFacesReady = markReadyWhenLoaded;  // faces.js, when a polled panel arrives

  // --- clicks ------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target;
    var opener = target.closest("[data-open-dialog]");
    if (opener) { openDialog(document.getElementById(opener.getAttribute("data-open-dialog"))); return; }
    var decide = target.closest("[data-decide]");
    if (decide) { openDialog(document.getElementById("decide-" + decide.getAttribute("data-decide"))); return; }
    var closer = target.closest("[data-close-dialog]");
    if (closer) { var dialog = closer.closest("dialog"); if (dialog) { closeDialog(dialog); } return; }
    var compareButton = target.closest("[data-compare]");
    if (compareButton) { showCompare(compareButton); return; }
    if (target.closest("[data-compare-close]")) { hideCompare(); return; }
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
      if (!inside) { closeDialog(dialog); }
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

  // Inside a decision or skip dialog: a number picks that reason and moves to the submit
  // button (so Enter records it); Ctrl+Enter submits from anywhere, the note included; Esc closes.
  document.addEventListener("keydown", function (event) {
    var dialog = event.target.closest && event.target.closest("dialog.decide-dialog[open]");
    if (!dialog) { dialog = $("dialog.decide-dialog[open]"); if (!dialog) { return; } }
    if (event.key === "Escape") { closeDialog(dialog); event.preventDefault(); return; }
    var form = $("form", dialog);
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      return;
    }
    if (/^[0-9]$/.test(event.key) && event.target.tagName !== "TEXTAREA") {
      var radio = $('input[data-reason-key="' + event.key + '"]', dialog);
      if (radio) {
        radio.checked = true;
        event.preventDefault();
        $("[data-submit]", dialog).focus();
      }
    }
  }, true);

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && zoomed()) { unzoom(); event.preventDefault(); return; }
    if (event.key === "Escape" && compare && !compare.hidden) { hideCompare(); event.preventDefault(); return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target) || anyDialogOpen()) { return; }
    var key = event.key;
    if (key === "?") { openDialog(document.getElementById("shortcuts")); event.preventDefault(); return; }
    var lower = key.length === 1 ? key.toLowerCase() : key;
    if (lower === "z" && photos) { if (zoomed()) { unzoom(); } else { zoom(""); } event.preventDefault(); return; }
    if (lower === "j") { select(current + 1); event.preventDefault(); return; }
    if (lower === "k") { select(current - 1); event.preventDefault(); return; }
    if (key === "Enter" && current >= 0 && rows[current]) { window.location.href = rows[current].getAttribute("data-href"); return; }
    // Any other letter presses the button that shows it as its key (case: A R N E T S; QA: S D C).
    if (/^[a-z]$/.test(lower) && press(lower)) { event.preventDefault(); }
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
