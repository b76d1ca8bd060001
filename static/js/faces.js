/* The faces panel (templates/reviews/_faces.html): two aligned face crops with one shared view.
 * Zoom, pan, rotation, brightness and contrast apply to both faces at once, so the same feature
 * stays under the same spot in each; side by side, swipe or flicker. Plain JavaScript under the
 * page's Content-Security-Policy (script-src 'self'; styles set through the CSSOM only).
 * Keys: + / − zoom, arrows pan, [ ] rotate, 0 reset, O compare mode, F full photos. */
(function () {
  "use strict";

  var MIN_SCALE = 1, MAX_SCALE = 8, ZOOM_STEP = 1.25, PAN_STEP = 40, ROTATE_STEP = 5;
  var MODES = ["side", "swipe", "flicker"];
  var FLICKER_MS = 600, POLL_MS = 1500, POLL_LIMIT = 80;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function clamp(value, low, high) { return Math.min(high, Math.max(low, value)); }

  var panel = null, stage = null, views = [], images = [], flicker = null, polls = 0;
  var view = fresh();

  function fresh() { return { scale: 1, x: 0, y: 0, rotate: 0, brightness: 100, contrast: 100 }; }

  function apply() {
    var transform = "translate(" + view.x + "px, " + view.y + "px) scale(" + view.scale + ") rotate(" + view.rotate + "deg)";
    var filter = "brightness(" + view.brightness + "%) contrast(" + view.contrast + "%)";
    images.forEach(function (img) { img.style.transform = transform; img.style.filter = filter; });
    var level = $("#faces-level");
    if (level) { level.textContent = Math.round(view.scale * 100) + "%"; }
  }

  /* Zoom by `factor` keeping the point (px from the view's centre) where it is on screen. */
  function zoomAt(factor, px, py) {
    var next = clamp(view.scale * factor, MIN_SCALE, MAX_SCALE);
    var ratio = next / view.scale;
    view.x = px - ratio * (px - view.x);
    view.y = py - ratio * (py - view.y);
    view.scale = next;
    if (next === MIN_SCALE) { view.x = 0; view.y = 0; }
    apply();
  }

  function rotateBy(degrees) { view.rotate = (view.rotate + degrees) % 360; apply(); }

  function reset() {
    view = fresh();
    $all("[data-faces-filter]", panel).forEach(function (input) { input.value = 100; });
    apply();
  }

  function setMode(mode) {
    if (!stage) { return; }
    stage.setAttribute("data-mode", mode);
    $all("[data-faces-mode]", panel).forEach(function (button) {
      button.setAttribute("aria-pressed", button.getAttribute("data-faces-mode") === mode ? "true" : "false");
    });
    if (flicker) { window.clearInterval(flicker); flicker = null; stage.classList.remove("flick"); }
    if (mode === "flicker") {
      flicker = window.setInterval(function () { stage.classList.toggle("flick"); }, FLICKER_MS);
    }
  }

  function nextMode() {
    var current = stage ? stage.getAttribute("data-mode") : "side";
    setMode(MODES[(MODES.indexOf(current) + 1) % MODES.length]);
  }

  // --- the full photos, one key away -------------------------------------------------------
  function showFullPhotos(show) {
    var photos = $("#photos");
    var button = $("[data-faces-full]");
    if (!photos) { return; }
    photos.classList.toggle("photos-collapsed", !show);
    if (button) { button.setAttribute("aria-expanded", show ? "true" : "false"); }
    if (show) { photos.scrollIntoView({ block: "nearest" }); }
  }
  window.kycShowFullPhotos = showFullPhotos;  // app.js: an earlier pair opens beside them
  function toggleFullPhotos() {
    var photos = $("#photos");
    if (photos) { showFullPhotos(photos.classList.contains("photos-collapsed")); }
  }

  // --- pointer: wheel zoom and drag pan on either face -------------------------------------
  function centreOffset(element, event) {
    var box = element.getBoundingClientRect();
    return [event.clientX - box.left - box.width / 2, event.clientY - box.top - box.height / 2];
  }

  function bindView(element) {
    element.addEventListener("wheel", function (event) {
      event.preventDefault();
      var at = centreOffset(element, event);
      zoomAt(event.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, at[0], at[1]);
    }, { passive: false });
    var drag = null;
    element.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) { return; }
      drag = { x: event.clientX, y: event.clientY, startX: view.x, startY: view.y };
      element.setPointerCapture(event.pointerId);
      element.classList.add("dragging");
    });
    element.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      view.x = drag.startX + event.clientX - drag.x;
      view.y = drag.startY + event.clientY - drag.y;
      apply();
    });
    function end() { drag = null; element.classList.remove("dragging"); }
    element.addEventListener("pointerup", end);
    element.addEventListener("pointercancel", end);
    element.addEventListener("dblclick", function (event) {
      var at = centreOffset(element, event);
      zoomAt(view.scale >= MAX_SCALE ? MIN_SCALE / view.scale : 2, at[0], at[1]);
    });
  }

  // --- controls ----------------------------------------------------------------------------
  function onClick(event) {
    var target = event.target.closest("button");
    if (!target || !panel || !panel.contains(target)) { return; }
    if (target.hasAttribute("data-faces-mode")) { setMode(target.getAttribute("data-faces-mode")); }
    else if (target.hasAttribute("data-faces-zoom")) { zoomAt(target.getAttribute("data-faces-zoom") === "1" ? ZOOM_STEP : 1 / ZOOM_STEP, 0, 0); }
    else if (target.hasAttribute("data-faces-rotate")) { rotateBy(Number(target.getAttribute("data-faces-rotate")) * ROTATE_STEP); }
    else if (target.hasAttribute("data-faces-reset")) { reset(); }
    else if (target.hasAttribute("data-faces-full")) { toggleFullPhotos(); }
  }

  function onInput(event) {
    var input = event.target;
    if (!panel || !panel.contains(input)) { return; }
    var filter = input.getAttribute("data-faces-filter");
    if (filter) { view[filter] = Number(input.value); apply(); }
    if (input.hasAttribute("data-faces-swipe")) { stage.style.setProperty("--swipe", input.value + "%"); }
  }

  /* Text goes to text fields; a slider keeps its arrow keys, but letters still reach the panel
   * (a reviewer who just set the contrast can press O or F straight away). */
  function keptByField(target, key) {
    var tag = (target && target.tagName || "").toLowerCase();
    if (tag === "input" && target.type === "range") { return key.indexOf("Arrow") === 0; }
    return tag === "input" || tag === "textarea" || tag === "select" || Boolean(target && target.isContentEditable);
  }

  function onKey(event) {
    if (!panel || !stage || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (keptByField(event.target, event.key) || $("dialog[open]")) { return; }
    var photos = $("#photos");
    if (photos && photos.classList.contains("zoomed")) { return; }  // app.js owns the keys there
    var key = event.key, handled = true;
    if (key === "+" || key === "=") { zoomAt(ZOOM_STEP, 0, 0); }
    else if (key === "-" || key === "_") { zoomAt(1 / ZOOM_STEP, 0, 0); }
    else if (key === "0") { reset(); }
    else if (key === "ArrowLeft") { view.x += PAN_STEP; apply(); }
    else if (key === "ArrowRight") { view.x -= PAN_STEP; apply(); }
    else if (key === "ArrowUp") { view.y += PAN_STEP; apply(); }
    else if (key === "ArrowDown") { view.y -= PAN_STEP; apply(); }
    else if (key === "[") { rotateBy(-ROTATE_STEP); }
    else if (key === "]") { rotateBy(ROTATE_STEP); }
    else if (key === "f" || key === "F") { toggleFullPhotos(); }
    else if (key === "o" || key === "O") { nextMode(); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  }

  // --- start, or wait for the face work ----------------------------------------------------
  function start() {
    panel = $("#faces");
    if (!panel) { return; }
    if (panel.getAttribute("data-state") === "pending") { poll(); return; }
    stage = $("#faces-stage", panel);
    views = $all(".face-view", panel);
    images = $all(".face-view img", panel);
    views.forEach(bindView);
    showFullPhotos(false);
    if (window.kycMarkFacesReady) { window.kycMarkFacesReady(); }
    apply();
  }

  function poll() {
    if (polls >= POLL_LIMIT) { return; }
    polls += 1;
    window.setTimeout(function () {
      fetch(panel.getAttribute("data-url"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          // DOMParser: a parsed document loads nothing; the crops load once the panel is placed.
          var next = new DOMParser().parseFromString(html, "text/html").getElementById("faces");
          if (next && next.getAttribute("data-state") !== "pending") {
            panel.replaceWith(document.importNode(next, true));
            start();
          } else { poll(); }
        })
        .catch(function () { poll(); });
    }, POLL_MS);
  }

  document.addEventListener("click", onClick);
  document.addEventListener("input", onInput);
  document.addEventListener("keydown", onKey);
  start();
})();
